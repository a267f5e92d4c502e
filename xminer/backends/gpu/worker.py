"""The worker thread of a GPU backend (OpenCL, CUDA) and the size of its launches."""

from __future__ import annotations

import abc
import logging
import time
from dataclasses import dataclass
from typing import Any

from xminer.backends.base import Backend, Worker
from xminer.job import Job
from xminer.randomx.binding import Dataset
from xminer.randomx.context import RandomXContext
from xminer.randomx.scan import Interrupt, ScanResult
from xminer.state import ThreadInfo

log = logging.getLogger("xminer.backends")

#: GpuRandomX.dataset_origin in the log
DATASET_ORIGINS = {
    "device": "built on the device",
    "copy": "host's copied",
    "mapped": "host's mapped",
}


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
    a :class:`~xminer.backends.gpu.host.GpuRandomX`), hashes ``config.intensity`` nonces a
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
        """The host's dataset set_key gets with the context's cache (None: the cache alone;
        a thread that reads the host's builds its own then, see ``needs_host_dataset``)."""
        return rx.dataset if rx.vm_fast else None

    def _follow_key(self) -> bool:
        """The GPU on the context's key and mode; False when a stop or a key change (a seed
        switch waiting for the read lock this runs under) cut its dataset build short."""
        rx = self.backend.ctx.rx
        mode = "fast" if rx.hashing_fast else "light"
        if self.gpu.mode != mode:  # a light-mode bridge at a seed switch began or ended
            self.gpu.close()
            self.gpu = None
            self.gpu = self.make_gpu(mode)
        if rx.seed is None or self.gpu.key == rx.seed:
            return True
        stopping = self.backend.stopping

        def stop() -> bool:  # a stop, or a key change waiting for this build of the old key
            return stopping.is_set() or rx.lock.writer_waiting

        if not self.gpu.set_key(rx.seed, rx.cache, self.key_dataset(rx), stop):
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
