"""The common interface of every compute backend and the worker loop they share.

A backend owns worker threads.  Each worker takes nonce batches of the current job from the
shared ``JobSlot`` (so nonces never overlap across threads or backends), hashes them under the
RandomX context's read lock, counts every hash as it is made and reports batches (and each
share the moment it is found) to the ``ResultSink`` (the miner), which sums benchmarks and
checks shares on the CPU.  A thread that fails is started again.
"""

from __future__ import annotations

import abc
import ctypes
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from xminer.config.model import Config
from xminer.job import Job, JobSlot
from xminer.randomx.binding import Dataset
from xminer.randomx.context import RandomXContext
from xminer.randomx.scan import Interrupt, ScanResult
from xminer.state import BackendStats, HashCounter, SharedState, ThreadInfo

log = logging.getLogger("xminer.backends")

RESTART_DELAY_S = 1.0  # a failed worker thread starts again after this, doubling ...
RESTART_MAX_S = 30.0  # ... with every failure in a row, up to this


#: GpuRandomX.dataset_origin in the log
DATASET_ORIGINS = {
    "device": "built on the device",
    "copy": "host's copied",
    "mapped": "host's mapped",
}

Piece = Callable[[int, int, Interrupt], ScanResult]
"""Hashes part of a batch: (first nonce, nonces left, interrupt) -> what it hashed."""


class ResultSink(Protocol):
    def batch_done(self, backend: str, job: Job, result: ScanResult) -> None: ...


@dataclass
class BackendContext:
    """What the miner hands to every backend; each reads its own section of ``config``
    (the running configuration) when it is built."""

    state: SharedState
    rx: RandomXContext
    slot: JobSlot
    sink: ResultSink
    config: Config = field(default_factory=Config)


class Worker(abc.ABC):
    """One hashing thread: the per-backend part is ``setup``, ``hash`` and ``teardown``."""

    batch_size = 64

    def __init__(self, backend: Backend, info: ThreadInfo) -> None:
        self.backend = backend
        self.info = info
        self.thread = threading.Thread(
            target=self._run, name=f"{backend.name}-{info.index}", daemon=True
        )
        self.job_sequence = 0  # JobSlot.epoch of the job being hashed
        self.ran_a_batch = False  # since the thread (re)started: a failure then backs off less

    @property
    def counter(self) -> HashCounter:
        return self.info.counter

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Runs in the worker thread before the first batch."""

    def teardown(self) -> None:  # noqa: B027 - optional hook
        """Runs in the worker thread when it ends."""

    @abc.abstractmethod
    def hash(self, job: Job, start: int, count: int, fresh_job: bool) -> ScanResult:
        """Hash nonces [start, start+count) of ``job``; called under the RandomX read lock.

        Every hash is counted in ``self.counter`` as it is made (not at the end of the batch),
        and a share is handed over at once with :meth:`publish`; the result returned holds
        what was not published.  A batch may end early on :meth:`interrupt`.
        """

    def _pin(self) -> None:
        """Pin this thread to its logical CPU (``info.affinity``; -1: not pinned)."""
        if self.info.affinity < 0:
            return
        try:
            os.sched_setaffinity(self.thread.native_id or 0, {self.info.affinity})
        except (OSError, ValueError) as exc:
            logging.getLogger(f"xminer.{self.backend.name}").warning(
                "thread #%d: cannot set affinity: %s", self.info.index, exc
            )

    def _run(self) -> None:
        """Hash until the backend stops; a failure (an exception in setup or hash) is logged,
        the thread's resources are released and, after a pause that doubles with every
        failure in a row, the thread starts again."""
        backend = self.backend
        self._pin()
        failures = 0
        while not backend.stopping.is_set():
            self.ran_a_batch = False
            try:
                self.setup()
                self._loop()
            except Exception as exc:
                failures = 1 if self.ran_a_batch else failures + 1
                delay = min(RESTART_MAX_S, RESTART_DELAY_S * 2 ** (failures - 1))
                log.error(
                    "%s thread #%d failed (%s: %s), restarting in %.0f s",
                    backend.name, self.info.index, type(exc).__name__, exc, delay,
                )  # fmt: skip
                log.debug("%s thread #%d failure", backend.name, self.info.index, exc_info=True)
                self._teardown()
                backend.stopping.wait(delay)
            else:
                break
        self._teardown()

    def _teardown(self) -> None:
        try:
            self.teardown()
        except Exception as exc:
            name, index = self.backend.name, self.info.index
            log.warning("%s thread #%d: cleanup failed: %s", name, index, exc)

    def _loop(self) -> None:
        backend = self.backend
        seen = -1
        while not backend.stopping.is_set():
            if not backend.active.wait(0.2):
                self.counter.idle()
                continue
            seq, job, alloc = backend.ctx.slot.get()
            if job is None or alloc is None:
                backend.stopping.wait(0.05)
                continue
            self.job_sequence = seq
            if not self._batch(job, alloc, seq != seen):
                backend.stopping.wait(0.05)
            seen = seq

    def _batch(self, job: Job, alloc: object, fresh: bool) -> bool:
        rx = self.backend.ctx.rx
        rx.lock.acquire_read()
        try:
            if rx.seed != job.seed_hash:
                return False  # the miner is rebuilding the dataset for this job
            start, count = alloc.next_batch(self.batch_size)  # type: ignore[attr-defined]
            if not count:
                return False
            result = self.hash(job, start, count, fresh)
        finally:
            rx.lock.release_read()
        self.publish(job, result)
        self.ran_a_batch = True
        return True

    def publish(self, job: Job, result: ScanResult) -> None:
        """Hand (part of) a batch to the sink: ``hash`` calls it for a share at once."""
        self.counter.sample()
        self.backend.ctx.sink.batch_done(self.backend.name, job, result)

    def hash_pieces(self, job: Job, start: int, count: int, piece: Piece) -> ScanResult:
        """Hash a batch as pieces (each one ends early on a share or an interrupt): shares are
        published as they come, the rest of the batch is returned."""
        interrupt = self.interrupt()
        rest = ScanResult()
        done = 0
        while done < count:
            part = piece(start + done, count - done, interrupt)
            done += part.hashes
            if part.shares:
                self.publish(job, part)
            else:
                rest.hashes += part.hashes
                rest.tail_xor ^= part.tail_xor
            if done < count and interrupt.hit() and not self.carry_on(job, interrupt):
                break
        return rest

    def interrupt(self) -> Interrupt:
        """What ends a running batch: a new job in the slot, a pause or a stop."""
        return Interrupt(self.backend.ctx.slot.epoch, self.job_sequence, self.backend.halt)

    def carry_on(self, job: Job, interrupt: Interrupt) -> bool:
        """After a batch was cut short: go on with the rest of its nonces?  Not after a new
        job or a stop; after a pause only for a benchmark (whose sum needs every nonce), once
        mining resumes."""
        backend = self.backend
        if interrupt.epoch.value != interrupt.seen or backend.stopping.is_set():
            return False
        if not interrupt.halt.value:
            return True
        if not job.is_benchmark:
            return False
        while not backend.active.wait(0.2):
            if interrupt.epoch.value != interrupt.seen or backend.stopping.is_set():
                return False
        return interrupt.epoch.value == interrupt.seen and not backend.stopping.is_set()


@dataclass
class LaunchSizer:
    """How many nonces one GPU launch takes, at most ``limit`` (the intensity).

    A launch's hashes all end together, so a slow device (PoCL, light mode) hashing a whole
    intensity per launch would leave its hash counter, its shares and a stop waiting for
    many seconds.  Launches start at one nonce and double while they take under ``fast_s``,
    or while doubling still raised the rate (a GPU not yet full: a larger launch costs little
    more time, and cutting it short would leave compute units idle); a launch over
    ``slow_s`` halves the size.
    """

    limit: int
    size: int = 1
    fast_s: float = 1.0
    slow_s: float = 4.0
    gain: float = 1.2  # a doubling that raised the rate by this much was worth it
    _rate: float = 0.0  # hashes a second of the last full-size launch

    def size_for(self, left: int) -> int:
        return max(1, min(self.size, self.limit, left))

    def took(self, count: int, seconds: float) -> None:
        if count < self.size:
            if seconds > self.slow_s:
                self.size = max(1, count // 2)
            return  # a batch's short tail says nothing about a full launch
        rate = count / max(seconds, 1e-9)
        if seconds > self.slow_s:
            self.size = max(1, count // 2)
        elif seconds < self.fast_s or rate > self._rate * self.gain:
            self.size = min(self.limit, self.size * 2)
        self._rate = rate


class GpuWorker(Worker):
    """A GPU thread (OpenCL, CUDA): owns the host object ``make_gpu`` returns (device buffers,
    a :class:`~xminer.backends.gpu_common.GpuRandomX`), hashes ``config.intensity`` nonces a
    batch and follows the miner's RandomX context: light mode uploads the context's cache,
    fast mode builds the dataset on the device from that cache (a card that reads the host's
    dataset, dataset_host, maps the context's)."""

    def __init__(self, backend: Backend, info: ThreadInfo, config: Any) -> None:
        super().__init__(backend, info)
        self.config = config
        self.batch_size = config.intensity
        self.sizer = LaunchSizer(config.intensity)
        self.gpu: Any = None

    @abc.abstractmethod
    def make_gpu(self, mode: str) -> Any:
        """The host object for this thread's config in mode "light" or "fast"."""

    def setup(self) -> None:
        self.gpu = self.make_gpu("fast" if self.backend.ctx.rx.hashing_fast else "light")

    def key_dataset(self, rx: RandomXContext) -> Dataset | None:
        """The dataset set_key gets with the context's cache (None: the cache alone)."""
        return rx.dataset if rx.hashing_fast else None

    def _follow_key(self) -> bool:
        """The GPU on the context's key and mode; False when a stop cut its dataset build short."""
        rx = self.backend.ctx.rx
        mode = "fast" if rx.hashing_fast else "light"
        if self.gpu.mode != mode:  # a light-mode bridge at a seed switch began or ended
            self.gpu.close()
            self.gpu = None
            self.gpu = self.make_gpu(mode)
        if rx.seed is None or self.gpu.key == rx.seed:
            return True
        stopping = self.backend.stopping
        if not self.gpu.set_key(rx.seed, rx.cache, self.key_dataset(rx), stopping.is_set):
            return False
        if mode == "fast":
            log.info(
                "%s thread #%d: dataset ready (%s) in %.1f s",
                self.backend.name, self.info.index,
                DATASET_ORIGINS.get(self.gpu.dataset_origin, "?"), self.gpu.dataset_seconds,
            )  # fmt: skip
        return True

    def hash(self, job: Job, start: int, count: int, fresh_job: bool) -> ScanResult:
        if not self._follow_key():
            return ScanResult()

        def piece(at: int, left: int, interrupt: Interrupt) -> ScanResult:
            size = self.sizer.size_for(left)
            began = time.monotonic()
            result = self.gpu.scan(job.blob, at, size, job.target)
            self.sizer.took(size, time.monotonic() - began)
            self.counter.add(result.hashes)
            return ScanResult(hashes=result.hashes, tail_xor=result.tail_xor, shares=result.shares)

        return self.hash_pieces(job, start, count, piece)

    def teardown(self) -> None:
        if self.gpu is not None:
            self.gpu.close()
            self.gpu = None


class Backend(abc.ABC):
    """A compute backend (cpu, opencl, cuda) behind one interface."""

    name = "backend"

    def __init__(self, ctx: BackendContext) -> None:
        self.ctx = ctx
        self.stats: BackendStats = ctx.state.backend(self.name)
        self.stopping = threading.Event()
        self.active = threading.Event()  # cleared while paused
        self.halt = ctypes.c_uint32(0)  # non-zero: a running C batch ends now (pause, stop)
        self.workers: list[Worker] = []

    @abc.abstractmethod
    def availability(self) -> str | None:
        """None when the backend can run here, else the reason it cannot."""

    @abc.abstractmethod
    def make_workers(self) -> list[Worker]:
        """Create (not start) the worker threads this backend will run."""

    def describe(self) -> list[str]:
        """Lines for the start-up banner."""
        return []

    def api_fields(self) -> dict[str, object]:
        """Backend-specific keys of its /2/backends entry."""
        return {}

    def absent_fields(self) -> dict[str, object]:
        """Keys of its /2/backends entry while it cannot run here, over the API's defaults
        (XMRig shows the OpenCL platform it found even when no device on it is used)."""
        return {}

    def publish(self) -> None:
        """Put the api_fields into the shared state, where the API reads them."""
        self.stats.details = dict(self.api_fields())

    @property
    def threads(self) -> int:
        return len(self.workers)

    def hashrate(self) -> list[float | None]:
        return self.stats.hashrate()

    def start(self) -> None:
        self.stopping.clear()
        self.halt.value = 0
        self.workers = self.make_workers()
        self.stats.threads = [w.info for w in self.workers]
        self.stats.enabled = True
        self.stats.running = True
        self.active.set()
        for w in self.workers:
            w.thread.start()

    def pause(self) -> None:
        self.active.clear()
        self.halt.value = 1

    def resume(self) -> None:
        self.halt.value = 0
        self.active.set()

    def stop(self, timeout: float = 10.0) -> bool:
        """End the threads (a batch ends after the hash or launch in flight); False when one
        still runs after ``timeout`` seconds (for all of them together)."""
        self.stopping.set()
        self.halt.value = 1
        self.active.set()
        deadline = time.monotonic() + timeout
        for w in self.workers:
            w.thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [w.thread.name for w in self.workers if w.thread.is_alive()]
        if stuck:
            log.warning("%s: %s still running %.0f s after stop", self.name, stuck, timeout)
        self.workers = []
        self.stats.running = False
        self.stats.threads = []
        return not stuck


BackendFactory = Callable[[BackendContext], Backend]
