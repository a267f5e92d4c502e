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
from typing import Protocol

from xminer.config.model import Config
from xminer.job import Job, JobSlot
from xminer.randomx.context import RandomXContext
from xminer.randomx.scan import Interrupt, ScanResult
from xminer.state import BackendStats, HashCounter, SharedState, ThreadInfo

log = logging.getLogger("xminer.backends")

RESTART_DELAY_S = 1.0  # a failed worker thread starts again after this, doubling ...
RESTART_MAX_S = 30.0  # ... with every failure in a row, up to this


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

    def needs_host_dataset(self) -> bool:
        """Whether its threads read the host's fast-mode dataset (the miner has it built only
        when a backend says so); asked once it can run (``availability``)."""
        return False

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
    def thread_count(self) -> int:
        """How many worker threads run (``stats.threads`` lists them)."""
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
