"""The RandomX key material of the current seed: cache and dataset, shared by all backends.

Backends hash under the context's read lock; a seed change takes the write lock, so a rebuild
waits for the batches in flight and no worker ever hashes against a half-built dataset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psutil

from xminer.randomx import datasetinit
from xminer.randomx.binding import VM, Cache, Dataset, Flags, dataset_item_count, recommended_flags
from xminer.randomx.cachemem import cache_memory_address

DATASET_BYTES = 2181038080
CHUNKS_PER_THREAD = 64

Progress = Callable[[float], None]


class Cancelled(Exception):
    """Dataset initialisation was interrupted (Ctrl-C, stop)."""


class RWLock:
    """Many readers (hashing batches) or one writer (a rebuild); writers go first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    def acquire_read(self) -> None:
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1

    def release_read(self) -> None:
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    def acquire_write(self) -> None:
        with self._cond:
            self._waiting_writers += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writer = True

    def release_write(self) -> None:
        with self._cond:
            self._writer = False
            self._cond.notify_all()


@dataclass
class ContextInfo:
    mode: str
    flags: Flags
    cache_huge_pages: bool
    dataset_huge_pages: bool
    init_ms: int


def choose_mode(mode: str) -> str:
    """auto = fast when the 2080 MiB dataset fits in available memory with room to spare."""
    if mode != "auto":
        return mode
    available = psutil.virtual_memory().available
    return "fast" if available > DATASET_BYTES + 512 * 1024 * 1024 else "light"


def build_dataset(
    dataset: Dataset,
    cache: Cache,
    threads: int,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Fill the whole dataset from an initialised cache on ``threads`` threads (the GIL is
    released in every native call); Cancelled when ``cancel`` was set meanwhile.  Items come
    from the seed's generated C (datasetinit) where it runs here, else from the library."""
    total = dataset_item_count()
    fill = datasetinit.items_function(cache.key, cancel) if cache.key is not None else None
    cache_address = cache_memory_address(cache) if fill else 0
    dataset_address = dataset.memory() if fill else 0
    step = -(-total // (max(1, threads) * CHUNKS_PER_THREAD))
    done = 0
    done_lock = threading.Lock()

    def work(start: int) -> None:
        nonlocal done
        if cancel is not None and cancel.is_set():
            return
        count = min(step, total - start)
        if fill:
            fill(cache_address, dataset_address + start * 64, start, count)
        else:
            dataset.init_items(cache, start, count)
        with done_lock:
            done += count
            if progress:
                progress(done / total)

    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="rx-init") as pool:
        list(pool.map(work, range(0, total, step)))
    if cancel is not None and cancel.is_set():
        raise Cancelled()


class RandomXContext:
    """Cache and dataset for one seed at a time; VMs for workers and for checking results."""

    def __init__(self, mode: str = "auto", init_threads: int = 0, huge_pages: bool = True) -> None:
        self.mode = choose_mode(mode)
        self.flags = recommended_flags() | (Flags.LARGE_PAGES if huge_pages else Flags.DEFAULT)
        self.init_threads = init_threads if init_threads > 0 else (psutil.cpu_count() or 1)
        self.lock = RWLock()
        self.seed: bytes | None = None
        self.generation = 0  # bumps on every rebuild: VMs refresh their cache pointer
        self.cache: Cache | None = None
        self.dataset: Dataset | None = None
        self.init_ms = 0
        self._verifier: VM | None = None
        self._verifier_gen = -1
        self._verifier_lock = threading.Lock()

    @property
    def fast(self) -> bool:
        return self.mode == "fast"

    def prepare(
        self,
        seed: bytes,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> bool:
        """Build cache (and dataset in fast mode) for ``seed``; False when nothing changed."""
        if seed == self.seed:
            return False
        self.lock.acquire_write()
        try:
            started = time.monotonic()
            self.seed = None
            if self.cache is None:
                self.cache = Cache(self.flags)
            self.cache.init(seed)
            if self.fast:
                if self.dataset is None:
                    self.dataset = Dataset(self.flags)
                self._build_dataset(progress, cancel)
            self.seed = bytes(seed)
            self.generation += 1
            self.init_ms = int((time.monotonic() - started) * 1000)
            return True
        finally:
            self.lock.release_write()

    def _build_dataset(self, progress: Progress | None, cancel: threading.Event | None) -> None:
        assert self.dataset is not None and self.cache is not None
        build_dataset(self.dataset, self.cache, self.init_threads, progress, cancel)

    def info(self) -> ContextInfo:
        return ContextInfo(
            self.mode,
            self.flags,
            bool(self.cache and self.cache.large_pages),
            bool(self.dataset and self.dataset.large_pages),
            self.init_ms,
        )

    def create_vm(self) -> VM:
        """A VM for one worker thread (call under the read lock, after prepare)."""
        return VM(self.flags, self.cache, self.dataset if self.fast else None)

    def refresh_vm(self, vm: VM, generation: int) -> int:
        """Point a VM at the rebuilt cache after a seed change; returns the current generation."""
        if generation != self.generation and not vm.full_mem and self.cache is not None:
            vm.set_cache(self.cache)
        return self.generation

    def verify_hash(self, blob: bytes) -> bytes:
        """Hash one input on the CPU with the current seed (checks results from any backend)."""
        self.lock.acquire_read()
        try:
            with self._verifier_lock:
                if self._verifier is None:
                    self._verifier = self.create_vm()
                    self._verifier_gen = self.generation
                self._verifier_gen = self.refresh_vm(self._verifier, self._verifier_gen)
                return self._verifier.hash(blob)
        finally:
            self.lock.release_read()

    def release(self) -> None:
        self.lock.acquire_write()
        try:
            if self._verifier is not None:
                self._verifier.destroy()
                self._verifier = None
            if self.dataset is not None:
                self.dataset.release()
                self.dataset = None
            if self.cache is not None:
                self.cache.release()
                self.cache = None
            self.seed = None
        finally:
            self.lock.release_write()
