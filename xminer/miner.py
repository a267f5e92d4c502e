"""The miner: wires work sources, the RandomX context, backends, shared state and the API.

It runs on one asyncio (Tornado) loop in the main thread.  Backends hash on their own threads
and report batches through ``batch_done``; everything that touches the network or the console
is marshalled back onto the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from xminer import bench
from xminer.backends import Backend, BackendContext, BackendUnavailable, create_backend
from xminer.backends.cpu.threads import config_algo, cpu_runs
from xminer.config.model import Config
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
        self._bench_lock = threading.Lock()
        self._bench_xor = 0
        self._bench_done = 0
        self._bench_started = 0.0
        self.hooks_on_stop: list[Callable[[], Awaitable[None]]] = []
        self.config_manager: Any = None  # the ConfigManager when started from the CLI
        self.api: Any = None  # the ApiServer while the HTTP API runs
        self.banner_extra: list[tuple[str, str]] = []  # e.g. ("POOL #1", ...), ("HTTP API", ...)
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
        return sum(b.threads for b in self.backends.values())

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
        self._reset_benchmark()
        if source is not None:
            await source.start(self)

    async def restart_benchmark(self) -> None:
        """The threads changed under a benchmark: its sum starts again from nonce 0."""
        bench_log.info("threads changed: the benchmark starts again")
        self.clear_job()
        self._reset_benchmark()
        if self.source is not None:
            await self.source.start(self)

    def _reset_benchmark(self) -> None:
        with self._bench_lock:
            self._bench_xor, self._bench_done, self._bench_started = 0, 0, 0.0

    # ---- control (console keys, JSON-RPC) ----------------------------------------------
    def pause(self) -> None:
        for backend in self.backends.values():
            backend.pause()
        self.state.paused = True
        log.info("paused, press 'r' to resume")

    def resume(self) -> None:
        if self.stopped:
            self.start()
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

    def start(self) -> None:
        if self.stopped:
            self.stopped = False
            self.start_backends()
            self.state.paused = False
            log.info("started")
        else:
            self.resume()

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
            self.job = job
            self.state.job_id, self.state.algo = job.job_id, job.algo
            self.state.height, self.state.difficulty = job.height, job.difficulty
            if job.is_benchmark and not self._bench_started:
                self._bench_started = time.monotonic()
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
        what = "cache and dataset" if self.rx.fast else "cache"
        rx_log.info(
            "next seed %s... announced: building its %s ahead while mining goes on",
            build.seed.hex()[:16],
            what,
        )
        progress = ProgressPrinter(rx_log, "dataset ahead")
        progress.tty = False  # a line per 25 %: no bar between the mining lines
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
        if not self.rx.fast and ahead_task is not None:
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
        if not self.seed_ahead or not self.rx.fast:
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
        self, switch: SeedSwitch, seed: bytes, ahead_task: asyncio.Future[None] | None
    ) -> None:
        """Build the bridged seed's dataset (or wait for the one built ahead), then fast mode."""
        started = time.monotonic()
        ds = self.state.dataset
        build = DatasetBuild(seed)
        self._build = build
        loop = asyncio.get_running_loop()
        progress = ProgressPrinter(rx_log, "dataset")
        progress.tty = False

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
        switch.light_s, switch.done = time.monotonic() - started, True
        self._dataset_ready(seed)
        rx_log.info(
            "dataset ready (%d ms): fast mode again after %.1f s in light mode",
            self.rx.init_ms,
            switch.light_s,
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
        info = self.rx.info()
        ds.seed_hash, ds.ready, ds.progress, ds.init_ms = seed, True, 1.0, info.init_ms
        what = "dataset" if self.rx.fast else "cache (light mode)"
        rx_log.info("%s ready (%d ms)", what, info.init_ms)
        return True

    # ---- results (called from worker threads) --------------------------------------------
    def batch_done(self, backend: str, job: Job, result: ScanResult) -> None:
        if job.is_benchmark:
            self._bench_batch(job, result)
            return
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

    def _bench_batch(self, job: Job, result: ScanResult) -> None:
        if job is not self.job:
            return  # a batch of a benchmark run that was restarted (threads changed)
        with self._bench_lock:
            self._bench_xor ^= result.tail_xor
            self._bench_done += result.hashes
            done = self._bench_done >= job.bench_size
        if done and self.loop is not None:
            self.loop.call_soon_threadsafe(self._bench_finished, job)

    def _bench_finished(self, job: Job) -> None:
        if self.finished.is_set():
            return
        seconds = time.monotonic() - self._bench_started
        rate = job.bench_size / seconds if seconds > 0 else 0.0
        value = self._bench_xor
        v = bench.verdict(job.bench_size, job.bench_chain, job.bench_mixed)
        bench_log.info(
            "benchmark finished in %.3f seconds (%.1f h/s) hash sum = %016X",
            seconds,
            rate,
            value,
        )
        match = v.matches(value)
        if match is None:
            name = bench.size_name(job.bench_size)
            bench_log.info("no reference sum for %s (%s rule)", name, v.rule)
        elif match:
            bench_log.info("hash sum matches the reference %016X (%s rule)", v.reference, v.rule)
        else:
            bench_log.error("hash sum MISMATCH: expected %016X (%s rule)", v.reference or 0, v.rule)
            self.exit_code = 1
        self.shutdown()

    # ---- life cycle ----------------------------------------------------------------------
    def shutdown(self) -> None:
        self.cancel.set()
        for build in (self._build, self._ahead_build):
            if build is not None:
                build.cancel.set()
        self.finished.set()

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        def on_signal(signame: str) -> None:
            signal_log = logging.getLogger("xminer.signal")
            if self.finished.is_set():  # a second Ctrl-C / SIGTERM: do not wait any more
                signal_log.warning("%s received again, exiting now", signame)
                force_exit(0)
            signal_log.info("%s received, exiting", signame)
            self.shutdown()
            # every stop step is bounded; should one still hang, the process ends anyway
            watchdog = threading.Timer(STOP_LIMIT, stop_overdue)
            watchdog.daemon = True
            watchdog.start()

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: as XMRig, a clean stop
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, on_signal, sig.name)

    def reserve_huge_pages(self) -> str:
        """Reserve what the dataset, cache and scratchpads need; the banner's HUGE PAGES text."""
        if not self.config.cpu.huge_pages:
            return "disabled (--no-huge-pages)"
        needed = hugepages.pages_needed(self.rx.fast, max(1, self.total_threads))
        report = hugepages.ensure(needed)
        self.state.dataset.huge_pages = (min(report.free_after, needed), needed)
        return f"{report.message} ({needed} needed)"

    def print_banner(self, huge_pages: str) -> None:
        import sys

        from xminer.console.banner import banner_rows, print_banner
        from xminer.randomx.binding import library_path

        extra = list(self.banner_extra)
        extra.append(("COMMANDS", "hashrate, pause, resume, results, connection"))
        color = self.config.colors and sys.stdout.isatty()
        print_banner(banner_rows(library_path(), huge_pages, extra), color)

    async def _every(self, period: Callable[[], int], report: Callable[[], None]) -> None:
        """report() every period() seconds, 0: never; the period is read again each round,
        as a config reload (watch, PUT) may change it."""
        while not self.finished.is_set():
            interval = period()
            try:
                await asyncio.wait_for(self.finished.wait(), interval if interval > 0 else 1.0)
            except TimeoutError:
                if period() > 0:
                    report()

    async def _sample_counters(self) -> None:
        """Every thread's live hash count into its hashrate windows, twice a second."""
        while not self.finished.is_set():
            self.state.sample()
            await asyncio.sleep(SAMPLE_PERIOD_S)

    def _print_health(self) -> None:
        """The GPU devices' sensor readings (NVML), when any GPU backend has them."""
        from xminer.console.keys import health_lines

        if not self.stopped:
            for line in health_lines(self.state, sensed=True):
                log.info("%s", line)

    async def run(self) -> int:
        self.loop = asyncio.get_running_loop()
        self._install_signals(self.loop)
        self.build_backends()
        if not self.backends:
            log.error("no backend can run: enable one with --cpu, --opencl or --cuda")
            return 1
        self.print_banner(self.reserve_huge_pages())
        for backend in self.backends.values():
            for line in backend.describe():
                logging.getLogger(f"xminer.{backend.name}").info("%s", line)
        self.start_backends()
        speed = asyncio.ensure_future(
            self._every(lambda: self.config.print_time, lambda: print_speed(self.state))
        )
        health = asyncio.ensure_future(
            self._every(lambda: self.config.health_print_time, self._print_health)
        )
        sampler = asyncio.ensure_future(self._sample_counters())
        try:
            if self.source is not None:
                await self.source.start(self)
            await self.finished.wait()
        finally:
            speed.cancel()
            health.cancel()
            sampler.cancel()
            if self.source is not None:
                await self.source.stop()
            for hook in self.hooks_on_stop:
                await hook()
            if self.stop_backends():
                await asyncio.get_running_loop().run_in_executor(None, self.rx.release)
            # else a thread still hashes under the context's read lock: the process exit frees
            # the memory instead of a release that would wait for that thread
        return self.exit_code


STOP_LIMIT = 10.0  # seconds from a signal to the end of the process, whatever hangs


def stop_overdue() -> None:
    logging.getLogger("xminer.signal").error("not stopped within %g s, exiting now", STOP_LIMIT)
    force_exit(1)


def force_exit(code: int) -> None:
    """End the process now (threads, executor jobs and sockets left to the kernel)."""
    logging.shutdown()
    os._exit(code)


def print_speed(state: SharedState) -> None:
    from xminer.console.log import fmt_rate

    rates = state.total_hashrate()
    log.info(
        "speed 10s/60s/15m %s %s %s H/s max %s H/s",
        *(fmt_rate(r) for r in rates),
        fmt_rate(state.highest_total or None),
    )


class ProgressPrinter:
    """Progress of long work: an in-place bar on a terminal, a line per 25 % otherwise."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        import sys

        self.logger = logger
        self.what = what
        self.tty = sys.stdout.isatty()
        self.last = -1
        self._lock = threading.Lock()

    def update(self, fraction: float) -> None:
        import sys

        with self._lock:
            step = int(fraction * (100 if self.tty else 4))
            if step == self.last:
                return
            self.last = step
            if self.tty:
                bar = "#" * (step // 5)
                sys.stdout.write(f"\r  {self.what} {bar:<20} {step:3d}%")
                sys.stdout.flush()
            elif step > 0:
                self.logger.info("%s %d%%", self.what, step * 25)

    def finish(self) -> None:
        import sys

        if self.tty and self.last >= 0:
            sys.stdout.write("\r" + " " * 40 + "\r")
            sys.stdout.flush()
