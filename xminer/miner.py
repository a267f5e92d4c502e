"""The miner: backends, jobs and shares, and the dataset/seed switches jobs ask for.

It runs on one asyncio (Tornado) loop in the main thread.  Backends hash on their own threads
and report batches through ``batch_done``; everything that touches the network is marshalled
back onto the loop.  The program around it (config, API, console, signals) is ``xminer.app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from xminer.backends import Backend, BackendContext, BackendUnavailable, create_backend
from xminer.backends.cpu.threads import config_algo, cpu_runs
from xminer.bench import BenchmarkTally
from xminer.config.model import Config
from xminer.console.progress import ProgressPrinter
from xminer.job import Job, JobSlot, Result
from xminer.randomx import RandomXError, hugepages
from xminer.randomx.context import Cancelled, RandomXContext
from xminer.randomx.scan import ScanResult
from xminer.state import SeedSwitch, SharedState

log = logging.getLogger("xminer.miner")
rx_log = logging.getLogger("xminer.rx")
bench_log = logging.getLogger("xminer.bench")


def backend_key(config: Config) -> tuple[object, ...]:
    """What the running backends were built from: their typed sections (the CPU's command-line
    override included) and the algorithm the CPU threads are planned for.  A change means
    building them again."""
    cpu = dataclasses.replace(config.cpu, huge_pages=True)  # read by the RandomX context only
    return (cpu, cpu.override, config.opencl, config.cuda, config_algo(config))


def rx_key(config: Config) -> tuple[object, ...]:
    """What the RandomX context was made with: a change takes effect after a restart."""
    return (config.randomx.mode, config.randomx.init, bool(config.cpu.huge_pages))


class WorkSource(Protocol):
    """Where jobs come from and shares go: a pool, a daemon, or the benchmark."""

    async def start(self, miner: Miner) -> None: ...
    async def submit(self, result: Result) -> None: ...
    async def stop(self) -> None: ...


SAMPLE_PERIOD_S = 0.5  # XMRig samples every thread's hash count twice a second


@dataclass
class DatasetBuild:
    """The dataset (or light cache) being built: its seed, and the event that cancels it
    (shutdown, or a newer seed)."""

    seed: bytes
    cancel: threading.Event = field(default_factory=threading.Event)


class Miner:
    def __init__(
        self,
        config: Config,
        source: WorkSource | None = None,
        state: SharedState | None = None,
    ) -> None:
        self.config = config  # the running typed configuration
        self.state = state or SharedState()
        self.source = source
        self.slot = JobSlot()
        self._rx_key = rx_key(config)
        rx = config.randomx
        self.rx = RandomXContext(rx.mode, rx.init, bool(config.cpu.huge_pages))
        self.ctx = BackendContext(self.state, self.rx, self.slot, self, config)
        self.backends: dict[str, Backend] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.cancel = threading.Event()
        self.finished = asyncio.Event()
        self.exit_code = 0
        self.job: Job | None = None
        self._job_lock = asyncio.Lock()
        self._newest_job: Job | None = None  # the last job set_job was given
        self._build: DatasetBuild | None = None  # the dataset being built, if any
        self._ahead_build: DatasetBuild | None = None  # the announced next seed's, if any
        self._ahead_task: asyncio.Future[None] | None = None
        self._bridge_task: asyncio.Future[None] | None = None  # light mode until the dataset
        self._ahead_refused = b""  # the announced seed whose no-memory warning was logged
        self.bench = BenchmarkTally()
        self._tasks: set[asyncio.Future[None]] = set()
        self.stopped = False  # json_rpc "stop": backends down until "start"

    # ---- backends ---------------------------------------------------------------------
    def build_backends(self) -> None:
        config = self.config
        wanted = {
            "cpu": cpu_runs(config),
            "opencl": config.opencl.enabled,
            "cuda": config.cuda.enabled,
        }
        for name, enabled in wanted.items():
            stats = self.state.backend(name)
            stats.details = {}
            if not enabled:
                continue
            backend = self._make_backend(name)
            if backend is None:
                continue
            reason = backend.availability()
            if reason:
                stats.unavailable_reason = reason
                stats.details = dict(backend.absent_fields())
                logging.getLogger(f"xminer.{name}").warning("disabled: %s", reason)
                continue
            backend.publish()
            self.backends[name] = backend

    def _make_backend(self, name: str) -> Backend | None:
        try:
            return create_backend(name, self.ctx)
        except BackendUnavailable as exc:
            self.state.backend(name).unavailable_reason = str(exc)
            logging.getLogger(f"xminer.{name}").warning("%s", exc)
            return None

    @property
    def seed_ahead(self) -> bool:
        """randomx.seed-ahead (unset: on): build an announced next seed while mining."""
        return self.config.randomx.seed_ahead is not False

    @property
    def total_threads(self) -> int:
        return sum(b.thread_count for b in self.backends.values())

    def start_backends(self) -> None:
        for backend in self.backends.values():
            backend.start()

    def stop_backends(self) -> bool:
        """False when a thread did not end in time (it may still hold the RandomX context)."""
        ended = [backend.stop() for backend in self.backends.values()]
        return all(ended)

    # ---- live changes (config watch, PUT /2/config) --------------------------------------
    async def apply_config(self, new: Config) -> list[str]:
        """Take a changed configuration while running; returns what still needs a restart.

        print-time applies at once; the backends are stopped and built again when which of them
        run, their threads or their options changed.  The RandomX mode and huge pages need a
        restart (the dataset is not rebuilt under running work).
        """
        old, self.config = self.config, new
        self.ctx.config = new
        pending = ["randomx"] if rx_key(new) != self._rx_key else []
        if backend_key(old) != backend_key(new):
            await self.restart_backends()
        return pending

    async def restart_backends(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.stop_backends)
        self.backends = {}
        for stats in list(self.state.backends.values()):
            stats.enabled, stats.unavailable_reason = False, ""
        self.build_backends()
        if self._set_dataset_need():
            self.reserve_huge_pages()
            if self._job_lock.locked():  # a seed switch runs: after it
                task = asyncio.ensure_future(self._apply_dataset_need())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:  # before the threads start, so they find the bridge on
                await self._apply_dataset_need()
        for backend in self.backends.values():
            for line in backend.describe():
                logging.getLogger(f"xminer.{backend.name}").info("%s", line)
        if self.stopped:
            return
        self.start_backends()
        if self.state.paused:
            for backend in self.backends.values():
                backend.pause()
        if self.job is not None and self.job.is_benchmark:
            await self.restart_benchmark()

    async def replace_source(self, source: WorkSource | None) -> None:
        """Other pools (or another benchmark): the old source stops, the new one starts."""
        old, self.source = self.source, source
        self.clear_job()
        if old is not None:
            await old.stop()
        self.bench.reset()
        if source is not None:
            await source.start(self)

    async def restart_benchmark(self) -> None:
        """The threads changed under a benchmark: its sum starts again from nonce 0."""
        bench_log.info("threads changed: the benchmark starts again")
        self.clear_job()
        self.bench.reset()
        if self.source is not None:
            await self.source.start(self)

    # ---- control (console keys, JSON-RPC) ----------------------------------------------
    def pause(self) -> None:
        for backend in self.backends.values():
            backend.pause()
        self.state.paused = True
        log.info("paused, press 'r' to resume")

    def resume(self) -> None:
        """Hash again: after a pause, or after a stop (its threads start again)."""
        if self.stopped:
            self.stopped = False
            self.start_backends()
            self.state.paused = False
            log.info("started")
            return
        for backend in self.backends.values():
            backend.resume()
        self.state.paused = False
        log.info("resumed")

    def stop_mining(self) -> None:
        """Stop the backends (threads ended) but keep the miner and the API running."""
        if not self.stopped:
            self.stop_backends()
            self.stopped = True
            self.state.paused = True
            log.info("stopped")

    # ---- the host's dataset: built only for backends that read it ------------------------
    def _set_dataset_need(self) -> bool:
        """Tell the RandomX context whether a running backend reads the host's fast-mode
        dataset (CPU VMs; GPU threads that copy or map it); True when that changed.  An
        announced next seed built ahead for the old need is dropped (it is built again)."""
        readers = [name for name, b in self.backends.items() if b.needs_host_dataset()]
        needed = bool(readers)
        if needed == self.rx.dataset_needed:
            return False
        self.rx.dataset_needed = needed
        if self.rx.fast:
            if needed:
                rx_log.info("dataset: built on the host (read by %s)", ", ".join(readers))
            else:
                rx_log.info("dataset: not built on the host (no backend reads it)")
        if self._ahead_build is not None:
            self._ahead_build.cancel.set()
        self.rx.drop_ahead()
        return True

    async def _apply_dataset_need(self) -> None:
        """Build the current seed's host dataset now that a backend reads it (every backend
        hashes in light mode meanwhile, as in a seed switch's bridge), or free it when none
        does.  Under the job lock: never in the middle of a seed switch."""
        async with self._job_lock:
            rx = self.rx
            task = self._bridge_task
            if not rx.fast or rx.seed is None:
                return
            if task is not None and not task.done():
                if rx.dataset_needed:
                    return  # the bridge's build goes on
                if self._build is not None:
                    self._build.cancel.set()
                with contextlib.suppress(Exception):
                    await task
            if rx.dataset_needed:
                await self._fill_if_missing()
            elif rx.dataset is not None or rx.bridging:
                await asyncio.get_running_loop().run_in_executor(None, rx.drop_dataset)
                self._dataset_ready(rx.seed)

    def _dataset_missing(self) -> bool:
        """A backend reads the host's dataset but the current seed's is not built (nor being
        built): it started in the cache-only state, or a bridge's build was dropped."""
        rx = self.rx
        if not rx.builds_dataset or rx.seed is None:
            return False
        if self._bridge_task is not None and not self._bridge_task.done():
            return False
        return rx.dataset is None or rx.bridging

    async def _fill_if_missing(self) -> None:
        """(Under the job lock.)  Build the missing host dataset behind the light-mode bridge."""
        if not self._dataset_missing():
            return
        seed = self.rx.seed
        assert seed is not None
        rx_log.info(
            "dataset for seed %s... built on the host now: light mode until it is ready",
            seed.hex()[:16],
        )
        if not self.rx.bridging:
            await asyncio.get_running_loop().run_in_executor(None, self.rx.bridge_current)
        ds = self.state.dataset
        ds.seed_hash, ds.ready, ds.progress = seed, False, 0.0
        self._bridge_task = asyncio.ensure_future(self._finish_bridge(None, seed, None))

    # ---- jobs ----------------------------------------------------------------------------
    async def set_job(self, job: Job) -> None:
        """A new job: switch the seed if it changed, then hand it to the workers.

        Only the newest job counts: one that a newer job replaced while it waited for (or
        built) its dataset is dropped, and a build for a seed that is no longer wanted is
        cancelled, so a burst of seed changes builds the last seed only.  A next seed the job
        announces is built ahead meanwhile (``randomx.seed-ahead``)."""
        self._newest_job = job
        if self._build is not None and self._build.seed != job.seed_hash:
            self._build.cancel.set()
        self._plan_ahead(job)
        async with self._job_lock:
            if job is not self._newest_job:
                return
            if job.seed_hash != self.rx.seed:
                self.slot.set(None)
                ok = await self._switch_seed(job)
                if not ok or job is not self._newest_job:
                    return
            await self._fill_if_missing()
            self.job = job
            self.state.job_id, self.state.algo = job.job_id, job.algo
            self.state.height, self.state.difficulty = job.height, job.difficulty
            if job.is_benchmark:
                self.bench.begin()
            self.slot.set(job)

    def clear_job(self) -> None:
        """No work (the pool connection is gone): workers idle until the next ``set_job``."""
        if self.job is not None and not self.job.is_benchmark:
            log.info("no active pools, stop mining")
        self.job = None
        self._newest_job = None
        self.slot.set(None)

    # ---- seed switches ------------------------------------------------------------------
    def _plan_ahead(self, job: Job) -> None:
        """Start building the seed a job announces as the next one, unless built or building."""
        seed = job.next_seed_hash
        if not self.seed_ahead or not seed or seed in (job.seed_hash, self.rx.seed):
            return
        if self.rx.seed is None or self.cancel.is_set():
            return  # the first dataset is still being built: it goes first
        if self._ahead_build is not None and self._ahead_build.seed == seed:
            return
        if self.rx.ahead_seed == seed:
            return
        problem = self.rx.ahead_memory_problem()
        if problem:
            if seed != self._ahead_refused:
                self._ahead_refused = seed
                rx_log.warning(
                    "next seed %s... announced, not built ahead: %s (the switch will hash in "
                    "light mode until its dataset is built)",
                    seed.hex()[:16],
                    problem,
                )
            return
        if self._ahead_build is not None:
            self._ahead_build.cancel.set()  # another next seed: the newest announcement counts
        self._ahead_build = build = DatasetBuild(seed)
        self._ahead_task = asyncio.ensure_future(self._build_ahead(build))

    async def _build_ahead(self, build: DatasetBuild) -> None:
        what = "cache and dataset" if self.rx.builds_dataset else "cache"
        rx_log.info(
            "next seed %s... announced: building its %s ahead while mining goes on",
            build.seed.hex()[:16],
            what,
        )
        progress = ProgressPrinter(rx_log, "dataset ahead", tty=False)  # no bar between lines
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                None, self.rx.build_ahead, build.seed, progress.update, build.cancel
            )
        except Cancelled:
            rx_log.info("%s ahead for seed %s... dropped", what, build.seed.hex()[:16])
            return
        except (RandomXError, MemoryError) as exc:
            rx_log.warning("%s ahead for seed %s... failed: %s", what, build.seed.hex()[:16], exc)
            return
        finally:
            if self._ahead_build is build:
                self._ahead_build = None
        ms = int((time.monotonic() - started) * 1000)
        rx_log.info("%s for seed %s... built ahead (%d ms)", what, build.seed.hex()[:16], ms)

    async def _switch_seed(self, job: Job) -> bool:
        """Make the job's seed current by the quickest path; False when it was dropped."""
        seed = job.seed_hash
        await self._end_bridge()
        if self.rx.cache is None:
            return await self._prepare_dataset(seed)  # the first seed: nothing to mine meanwhile
        started = time.monotonic()
        building = self._ahead_build is not None and self._ahead_build.seed == seed
        ahead_task = self._ahead_task if building else None
        if not self.rx.builds_dataset and ahead_task is not None:
            await ahead_task  # a second cache alone: about a second
        if self.rx.ahead_seed == seed:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.rx.prepare, seed)
            self._switched(
                SeedSwitch("ahead", "the next seed was announced", job.height, done=True), started
            )
            self._dataset_ready(seed)
            return True
        if self.rx.ahead_seed is not None:
            self.rx.drop_ahead()  # built for a seed that did not come
        reason = self._no_ahead_reason(seed, building)
        if not self.seed_ahead or not self.rx.builds_dataset:
            ok = await self._prepare_dataset(seed)
            if ok:
                self._switched(SeedSwitch("rebuild", reason, job.height, done=True), started)
            return ok
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.rx.bridge, seed)
        switch = SeedSwitch("light", reason, job.height)
        self._switched(switch, started)
        ds = self.state.dataset
        ds.seed_hash, ds.ready, ds.progress = seed, False, 0.0
        self._bridge_task = asyncio.ensure_future(self._finish_bridge(switch, seed, ahead_task))
        return True

    def _no_ahead_reason(self, seed: bytes, building: bool) -> str:
        if not self.seed_ahead:
            return "randomx.seed-ahead is off"
        if not self.rx.fast:
            return "light mode: the new cache is built at the switch"
        if not self.rx.builds_dataset:
            return "no backend reads the host's dataset: the new cache is built at the switch"
        if building:
            return "the dataset built ahead was not ready yet"
        if self._ahead_refused == seed:
            return "not enough memory for a second dataset"
        return "the next seed was not announced"

    def _switched(self, switch: SeedSwitch, started: float) -> None:
        switch.idle_s = time.monotonic() - started
        self.state.dataset.last_switch = switch
        then = {
            "ahead": "built ahead, switched at once",
            "light": "hashing in light mode until its dataset is built",
            "rebuild": "stopped for the rebuild",
        }[switch.path]
        rx_log.info(
            "seed switch at height %d: %s (%s); %.2f s idle",
            switch.height,
            then,
            switch.reason,
            switch.idle_s,
        )

    async def _finish_bridge(
        self, switch: SeedSwitch | None, seed: bytes, ahead_task: asyncio.Future[None] | None
    ) -> None:
        """Build the bridged seed's dataset (or wait for the one built ahead), then fast mode;
        ``switch``: the seed switch it bridges (None: the dataset of the current seed)."""
        started = time.monotonic()
        ds = self.state.dataset
        build = DatasetBuild(seed)
        self._build = build
        loop = asyncio.get_running_loop()
        progress = ProgressPrinter(rx_log, "dataset", tty=False)

        def on_progress(fraction: float) -> None:
            ds.progress = fraction
            progress.update(fraction)

        if self.cancel.is_set() or self._newest_job is None or self._newest_job.seed_hash != seed:
            build.cancel.set()
        try:
            if ahead_task is not None:
                await ahead_task
            if self.rx.ahead_seed == seed and not build.cancel.is_set():
                await loop.run_in_executor(None, self.rx.take_ahead, seed)
            else:
                await loop.run_in_executor(None, self.rx.finish_bridge, on_progress, build.cancel)
        except Cancelled:
            rx_log.info("light mode: dataset for seed %s... dropped", seed.hex()[:16])
            return
        finally:
            if self._build is build:
                self._build = None
        light_s = time.monotonic() - started
        if switch is not None:
            switch.light_s, switch.done = light_s, True
        self._dataset_ready(seed)
        rx_log.info(
            "dataset ready (%d ms): fast mode again after %.1f s in light mode",
            self.rx.init_ms,
            light_s,
        )

    async def _end_bridge(self) -> None:
        """Wait for a bridge's dataset build to end (set_job cancelled it: another seed)."""
        task = self._bridge_task
        if task is not None and not task.done():
            if self._build is not None:
                self._build.cancel.set()
            with contextlib.suppress(Exception):
                await task
        self._bridge_task = None

    def _dataset_ready(self, seed: bytes) -> None:
        ds = self.state.dataset
        ds.seed_hash, ds.ready, ds.progress, ds.init_ms = seed, True, 1.0, self.rx.init_ms

    async def _prepare_dataset(self, seed: bytes) -> bool:
        ds = self.state.dataset
        ds.ready, ds.progress, ds.mode = False, 0.0, self.rx.mode
        rx_log.info(
            "init dataset algo rx/0 (%d threads) seed %s...", self.rx.init_threads, seed.hex()[:16]
        )
        progress = ProgressPrinter(rx_log, "dataset")
        loop = asyncio.get_running_loop()

        def on_progress(fraction: float) -> None:
            ds.progress = fraction
            progress.update(fraction)

        self._build = build = DatasetBuild(seed)
        if self.cancel.is_set():
            build.cancel.set()
        try:
            await loop.run_in_executor(None, self.rx.prepare, seed, on_progress, build.cancel)
        except Cancelled:
            progress.finish()
            if self.cancel.is_set():
                rx_log.info("dataset initialisation interrupted")
            else:
                rx_log.info("seed changed again: dataset for seed %s... dropped", seed.hex()[:16])
            return False
        finally:
            self._build = None
        progress.finish()
        ds.seed_hash, ds.ready, ds.progress, ds.init_ms = seed, True, 1.0, self.rx.init_ms
        what = (
            "dataset" if self.rx.builds_dataset
            else "cache (no host dataset: the GPUs build theirs)" if self.rx.fast
            else "cache (light mode)"
        )  # fmt: skip
        rx_log.info("%s ready (%d ms)", what, self.rx.init_ms)
        return True

    # ---- results (called from worker threads) --------------------------------------------
    def batch_done(self, backend: str, job: Job, result: ScanResult) -> None:
        if job.is_benchmark:
            if job is self.job and self.bench.add(job, result) and self.loop is not None:
                self.loop.call_soon_threadsafe(self._bench_finished)
            return  # else a batch of a benchmark run that was restarted (threads changed)
        if result.shares and self.loop is not None:
            for nonce, digest in result.shares:
                share = Result(job, nonce, digest, backend)
                self.loop.call_soon_threadsafe(self._on_share, share)

    def _on_share(self, share: Result) -> None:
        """Every share is checked before it leaves: stale ones dropped, others re-hashed."""
        results = self.state.results
        if self.job is None or share.job.job_id != self.job.job_id:
            results.stale += 1
            log.info("dropped a share of replaced job %s", share.job.job_id)
            return
        if share.backend != "cpu" and not self.verify_share(share):
            return
        if self.source is not None:
            task = asyncio.ensure_future(self.source.submit(share))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def verify_share(self, share: Result) -> bool:
        """Hash a GPU result again with the CPU library; a mismatch is a hardware error."""
        if share.job.seed_hash != self.rx.seed:
            self.state.results.stale += 1
            return False
        digest = self.rx.verify_hash(share.job.blob_with_nonce(share.nonce))
        tail = int.from_bytes(digest[24:32], "little")
        if digest != share.hash or tail >= share.job.target:
            self.state.backend(share.backend).hw_errors += 1
            self.state.results.invalid += 1
            logging.getLogger(f"xminer.{share.backend}").error(
                "hardware error: nonce %08x of job %s does not verify on the CPU",
                share.nonce,
                share.job.job_id,
            )
            return False
        return True

    def _bench_finished(self) -> None:
        if self.finished.is_set() or self.job is None:
            return
        if not self.bench.report(self.job):
            self.exit_code = 1
        self.shutdown()

    # ---- life cycle ----------------------------------------------------------------------
    def shutdown(self) -> None:
        self.cancel.set()
        for build in (self._build, self._ahead_build):
            if build is not None:
                build.cancel.set()
        self.finished.set()

    def huge_pages_needed(self) -> int:
        """The cache, the dataset when the host builds it, and a scratchpad a thread."""
        return hugepages.pages_needed(self.rx.builds_dataset, max(1, self.total_threads))

    def reserve_huge_pages(self) -> str:
        """Reserve what the dataset, cache and scratchpads need; the banner's HUGE PAGES text."""
        if not self.config.cpu.huge_pages:
            return "disabled (--no-huge-pages)"
        needed = self.huge_pages_needed()
        report = hugepages.ensure(needed)
        self.state.dataset.huge_pages = (min(report.free_after, needed), needed)
        return f"{report.message} ({needed} needed)"

    async def _sample_counters(self) -> None:
        """Every thread's live hash count into its hashrate windows, twice a second."""
        while not self.finished.is_set():
            self.state.sample()
            await asyncio.sleep(SAMPLE_PERIOD_S)

    async def run(self, on_started: Callable[[str], None] | None = None) -> int:
        """Build and start the backends, mine until ``shutdown``; the exit code.

        ``on_started`` gets the huge pages report once the backends are built (the banner)."""
        self.loop = asyncio.get_running_loop()
        self.build_backends()
        if not self.backends:
            log.error("no backend can run: enable one with --cpu, --opencl or --cuda")
            return 1
        self._set_dataset_need()
        huge_pages = self.reserve_huge_pages()
        if on_started is not None:
            on_started(huge_pages)
        for backend in self.backends.values():
            for line in backend.describe():
                logging.getLogger(f"xminer.{backend.name}").info("%s", line)
        self.start_backends()
        sampler = asyncio.ensure_future(self._sample_counters())
        try:
            if self.source is not None:
                await self.source.start(self)
            await self.finished.wait()
        finally:
            sampler.cancel()
            if self.source is not None:
                await self.source.stop()
            if self.stop_backends():
                await asyncio.get_running_loop().run_in_executor(None, self.rx.release)
            # else a thread still hashes under the context's read lock: the process exit frees
            # the memory instead of a release that would wait for that thread
        return self.exit_code
