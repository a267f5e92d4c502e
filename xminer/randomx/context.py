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
from xminer.randomx.constants import CACHE_SIZE, DATASET_BYTES

SPARE_BYTES = 512 * 1024 * 1024  # left to the rest of the machine by a dataset or a second buffer
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

    @property
    def writer_waiting(self) -> bool:
        """A key or mode change waits for the readers (read unlocked: a hint, polled)."""
        return self._waiting_writers > 0

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
class SeedKey:
    """A seed's cache and (fast mode) dataset, built ahead of the switch to that seed."""

    seed: bytes
    cache: Cache
    dataset: Dataset | None

    def release(self) -> None:
        if self.dataset is not None:
            self.dataset.release()
        self.cache.release()


def choose_mode(mode: str) -> str:
    """auto = fast when the 2080 MiB dataset fits in available memory with room to spare."""
    if mode != "auto":
        return mode
    available = psutil.virtual_memory().available
    return "fast" if available > DATASET_BYTES + SPARE_BYTES else "light"


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
    """Cache and dataset of the current seed; VMs for workers and for checking results.

    A seed switch takes one of three paths: the next seed's cache and dataset were built ahead
    into second buffers (``build_ahead``, then ``prepare`` swaps them in); or, in fast mode,
    the new cache is built and every backend hashes in light mode (``bridging``) while
    ``finish_bridge`` fills the dataset; or the old way, everything rebuilt under the lock.

    Fast mode builds the host's 2080 MiB dataset only while ``dataset_needed`` (the miner sets
    it from its backends: CPU VMs read it, and GPUs that copy or map it); without it the
    context holds the cache alone ("cache-only fast": GPUs build their datasets on the device,
    and VMs, the share checker's included, hash in light mode).
    """

    def __init__(self, mode: str = "auto", init_threads: int = 0, huge_pages: bool = True) -> None:
        self.mode = choose_mode(mode)
        self.flags = recommended_flags() | (Flags.LARGE_PAGES if huge_pages else Flags.DEFAULT)
        self.init_threads = init_threads if init_threads > 0 else (psutil.cpu_count() or 1)
        self.lock = RWLock()
        self.seed: bytes | None = None
        self.generation = 0  # bumps on every key change: VMs refresh their cache/dataset pointer
        self.cache: Cache | None = None
        self.dataset: Dataset | None = None
        self.bridging = False  # fast mode hashing the cache alone until the dataset is built
        self.dataset_needed = True  # a running backend reads the host's dataset (fast mode)
        self.init_ms = 0
        self._ahead: SeedKey | None = None  # the next seed, built while the current one mines
        self._ahead_lock = threading.Lock()
        self._filling = threading.Lock()  # held while finish_bridge writes the dataset
        self._verifier: VM | None = None
        self._verifier_gen = -1
        self._verifier_lock = threading.Lock()

    @property
    def fast(self) -> bool:
        return self.mode == "fast"

    @property
    def hashing_fast(self) -> bool:
        """Whether backends hash in fast mode now (not in light mode, nor bridging): GPUs with
        their own or the host's dataset."""
        return self.fast and not self.bridging

    @property
    def builds_dataset(self) -> bool:
        """Whether a key's host dataset is built (fast mode, and a backend reads it)."""
        return self.fast and self.dataset_needed

    @property
    def vm_fast(self) -> bool:
        """Whether VMs hash with the host's dataset now: fast mode with the dataset built for
        the current seed (else light VMs over the cache)."""
        return self.hashing_fast and self.dataset is not None

    @property
    def ahead_seed(self) -> bytes | None:
        with self._ahead_lock:
            return self._ahead.seed if self._ahead is not None else None

    def prepare(
        self,
        seed: bytes,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> bool:
        """Make ``seed`` current: the buffers built ahead for it when there are, else build the
        cache (and dataset in fast mode) under the lock; False when nothing changed."""
        if seed == self.seed:
            return False
        if self.take_ahead(seed):
            return True
        self.lock.acquire_write()
        try:
            started = time.monotonic()
            self._init_cache(seed)
            if self.builds_dataset:
                if self.dataset is None:
                    self.dataset = Dataset(self.flags)
                self._build_dataset(progress, cancel)
            else:
                self._release_dataset()
            self.bridging = False
            self.seed = bytes(seed)
            self.generation += 1
            self.init_ms = int((time.monotonic() - started) * 1000)
            return True
        finally:
            self.lock.release_write()

    def _init_cache(self, seed: bytes) -> None:
        """Under the write lock: the cache (made on first use) keyed to ``seed``; no seed is
        current until the caller says so."""
        self.seed = None
        if self.cache is None:
            self.cache = Cache(self.flags)
        self.cache.init(seed)

    def take_ahead(self, seed: bytes) -> bool:
        """Swap in the buffers built ahead for ``seed`` (the old ones are freed: the slot no
        longer holds a job of the old seed and the lock waited for the batches in flight)."""
        with self._ahead_lock:
            ahead = self._ahead
            if ahead is None or ahead.seed != seed:
                return False
            self._ahead = None
        self.lock.acquire_write()
        try:
            old = SeedKey(b"", self.cache, self.dataset) if self.cache is not None else None
            if ahead.dataset is not None and not self.builds_dataset:
                ahead.dataset.release()  # no backend reads it any more
                ahead.dataset = None
            self.cache, self.dataset = ahead.cache, ahead.dataset
            self.seed, self.bridging, self.init_ms = bytes(seed), False, 0
            self.generation += 1
            self._drop_verifier()
        finally:
            self.lock.release_write()
        if old is not None:
            old.release()
        return True

    def bridge(self, seed: bytes) -> None:
        """Fast mode, seed switch without a dataset built ahead: the new cache now (about a
        second), every backend in light mode until ``finish_bridge``."""
        self.lock.acquire_write()
        try:
            started = time.monotonic()
            self._init_cache(seed)
            self.seed, self.bridging = bytes(seed), True
            self.generation += 1
            self.init_ms = int((time.monotonic() - started) * 1000)
        finally:
            self.lock.release_write()

    def bridge_current(self) -> None:
        """Fast mode, the current seed's host dataset missing (a backend that reads it started
        while the context held the cache alone): every backend in light mode until
        ``finish_bridge`` has built it."""
        self.lock.acquire_write()
        try:
            assert self.seed is not None and self.cache is not None
            self.bridging = True
            self.generation += 1
        finally:
            self.lock.release_write()

    def finish_bridge(
        self, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> None:
        """Fill the dataset from the bridged cache while light-mode VMs hash (no fast VM uses
        the dataset meanwhile), then back to fast mode; Cancelled leaves the bridge on.  When
        no backend reads the host's dataset (any more) it is not built, and any old one freed."""
        with self._filling:
            assert self.bridging and self.cache is not None
            if self.dataset_needed:
                if self.dataset is None:
                    self.dataset = Dataset(self.flags)
                self._build_dataset(progress, cancel)
        self._leave_bridge(keep_dataset=self.dataset_needed)

    def drop_dataset(self) -> None:
        """No backend reads the host's dataset any more: free it (an unfinished bridge ends:
        the backends hash fast, GPUs with their own datasets)."""
        with self._filling:  # a bridge's fill was cancelled and has ended
            pass
        self._leave_bridge(keep_dataset=False)

    def _leave_bridge(self, keep_dataset: bool) -> None:
        """Fast mode again (a bridge, if on, ends: VMs are made anew), the host's dataset kept
        or freed; the share checker's VM follows."""
        self.lock.acquire_write()
        try:
            if not keep_dataset:
                self._release_dataset()
            if self.bridging:
                self.bridging = False
                self.generation += 1
            self._drop_verifier()
        finally:
            self.lock.release_write()

    def _release_dataset(self) -> None:
        """(Under the write lock.)  Free the host's dataset; VMs hash in light mode after."""
        if self.dataset is not None:
            self.dataset.release()
            self.dataset = None

    def ahead_memory_problem(self) -> str:
        """Why a second cache (and dataset) cannot be built now; "" when it can."""
        needed = CACHE_SIZE + (DATASET_BYTES if self.builds_dataset else 0) + SPARE_BYTES
        available = psutil.virtual_memory().available
        if available < needed:
            mib = 1024 * 1024
            return f"{available // mib} MiB available, {needed // mib} MiB needed"
        return ""

    def build_ahead(
        self, seed: bytes, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> None:
        """Build ``seed``'s cache and dataset (when ``builds_dataset``) into new buffers while
        mining goes on (no lock: nothing hashes with them yet); ``prepare`` swaps them in.
        Cancelled frees them."""
        cache = Cache(self.flags)
        key = SeedKey(bytes(seed), cache, None)
        try:
            cache.init(seed)
            if self.builds_dataset:
                key.dataset = Dataset(self.flags)
                build_dataset(key.dataset, cache, self.init_threads, progress, cancel)
            if cancel is not None and cancel.is_set():
                raise Cancelled()
        except BaseException:
            key.release()
            raise
        with self._ahead_lock:
            old, self._ahead = self._ahead, key
        if old is not None:
            old.release()

    def drop_ahead(self) -> None:
        """Free buffers built ahead for a seed no job needs."""
        with self._ahead_lock:
            old, self._ahead = self._ahead, None
        if old is not None:
            old.release()

    def _build_dataset(self, progress: Progress | None, cancel: threading.Event | None) -> None:
        assert self.dataset is not None and self.cache is not None
        build_dataset(self.dataset, self.cache, self.init_threads, progress, cancel)

    def create_vm(self) -> VM:
        """A VM for one worker thread (call under the read lock, after prepare)."""
        return VM(self.flags, self.cache, self.dataset if self.vm_fast else None)

    def vm_fits(self, vm: VM) -> bool:
        """Whether a VM hashes the way the context does now (a bridge starts or ended, the
        host's dataset was built or freed)."""
        return vm.full_mem == self.vm_fast

    def refresh_vm(self, vm: VM, generation: int) -> int:
        """Point a VM at the current cache or dataset after a key change; returns the current
        generation.  A VM that does not fit (``vm_fits``) must be made again instead."""
        if generation != self.generation:
            if vm.full_mem and self.dataset is not None:
                vm.set_dataset(self.dataset)
            elif not vm.full_mem and self.cache is not None:
                vm.set_cache(self.cache)
        return self.generation

    def verify_hash(self, blob: bytes) -> bytes:
        """Hash one input on the CPU with the current seed (checks results from any backend)."""
        self.lock.acquire_read()
        try:
            with self._verifier_lock:
                if self._verifier is not None and not self.vm_fits(self._verifier):
                    self._verifier.destroy()
                    self._verifier = None
                if self._verifier is None:
                    self._verifier = self.create_vm()
                    self._verifier_gen = self.generation
                self._verifier_gen = self.refresh_vm(self._verifier, self._verifier_gen)
                return self._verifier.hash(blob)
        finally:
            self.lock.release_read()

    def _drop_verifier(self) -> None:
        """(Under the write lock.)  The checking VM is made again for the new key's mode."""
        with self._verifier_lock:
            if self._verifier is not None:
                self._verifier.destroy()
                self._verifier = None

    def release(self) -> None:
        self.drop_ahead()
        self._filling.acquire()  # a cancelled bridge build stops within a chunk
        self._filling.release()
        self.lock.acquire_write()
        try:
            self._drop_verifier()
            self._release_dataset()
            if self.cache is not None:
                self.cache.release()
                self.cache = None
            self.seed = None
            self.bridging = False
        finally:
            self.lock.release_write()
