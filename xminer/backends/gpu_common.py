"""What the OpenCL and CUDA hosts share: the kernels' buffer layout, the batch result, a CPU
reference to check them against, and the host algorithm over a runtime's primitives
(:class:`GpuRandomX`).

No GPU runtime is imported here, and numpy only when a GpuRandomX method needs it.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from xminer.randomx import superscalar
from xminer.randomx.binding import (
    CACHE_SIZE,
    DATASET_ITEM_SIZE,
    Cache,
    Dataset,
    Flags,
    dataset_item_count,
    recommended_flags,
)
from xminer.randomx.cachemem import cache_memory_address
from xminer.randomx.context import RandomXContext, build_dataset
from xminer.randomx.scan import Scanner, ScanResult, hash_tail

# Layout of the per-hash buffers of kernels/randomx.cl (words of 8 bytes unless said).
PROGRAM_COUNT = 8
PROGRAM_ITERATIONS = 2048
STATE_WORDS = 48  # 0-7 seed, 8 fprc, 9 ma | mx << 32, 16-47 register file
PROGRAM_WORDS = 16 + 256
CODE_WORDS = 2 * 256  # a program's micro-ops (kernels/uops.cl)
MAX_LANES = 64  # hashes a work-group at most (the 4-lane kernels: 256 work-items)
SCRATCHPAD_BYTES = 2 * 1024 * 1024
SCRATCHPAD_STRIDE = SCRATCHPAD_BYTES + 64  # bytes from one hash's scratchpad to the next
#: kernels run by several work-items a hash (one AES column each); the others by one
LANES_PER_HASH = {"rx_fill_scratchpad": 4, "rx_finish": 4}
#: kernels whose work-group memory is sized at launch: the VM registers, REGISTER_SLOTS words a
#: hash (RF_SLOTS in kernels/uops.cl); OpenCL passes it as their first argument
REGISTER_SLOTS = 41
LOCAL_REGISTERS = ("rx_run_program", "rx_run_program_piece")
HASH_BYTES = 32
NONCE_OFFSET = 39
MAX_DATASET_CHUNKS = 4  # rx_run_program takes ds0..ds3
#: rx_compile_program's program source: the seed (1st program), the register file's hash
#: (the others), or the programs buffer as it is (tests)
FROM_SEED, FROM_REGISTERS, FROM_PROGRAM = 0, 1, 2
#: XMRig's bfactor: each program's iterations in 2**bfactor launches (11: one iteration a
#: launch; XMRig's configs accept up to 12, clamped here)
MAX_BFACTOR = 11


#: rx_init_dataset launches (items): the first size, then doubled or halved to take about
#: DATASET_LAUNCH_S each, so that a stop between launches waits for one short launch only
DATASET_FIRST_LAUNCH = 4096
DATASET_LAUNCH_S = (0.1, 0.5)
DATASET_LANES = MAX_LANES  # its work-group size (the kernel holds MAX_LANES items' registers)


def per_hash_bytes() -> int:
    """Device memory for one hash in flight (scratchpad, state, program, micro-ops, hash)."""
    words = STATE_WORDS + PROGRAM_WORDS
    return SCRATCHPAD_STRIDE + words * 8 + CODE_WORDS * 8 + HASH_BYTES


@dataclass
class BatchResult:
    """hashes computed, XOR of all hash tails (bytes 24..31 LE), shares (nonce, hash)."""

    hashes: int
    tail_xor: int
    shares: list[tuple[int, bytes]]


def scan_digests(digests: list[bytes], start_nonce: int, target64: int) -> BatchResult:
    """The batch result of the hashes of nonces start_nonce.. (tail < target64 is a share)."""
    xor = 0
    shares: list[tuple[int, bytes]] = []
    for i, digest in enumerate(digests):
        tail = hash_tail(digest)
        xor ^= tail
        if tail < target64:
            shares.append(((start_nonce + i) & 0xFFFFFFFF, digest))
    return BatchResult(len(digests), xor, shares)


def pack_inputs(inputs: list[bytes]) -> tuple[bytes, list[int]]:
    """rx_init's inputs and meta (offset, length per input; meta_stride 1)."""
    meta, offset = [], 0
    for item in inputs:
        meta += [offset, len(item)]
        offset += len(item)
    return b"".join(inputs) or b"\0", meta


class LibraryReference(RandomXContext):
    """The CPU library for one key, to check a GPU's hashes against: light mode (cache only)
    or fast (a dataset built on all CPUs); no large pages."""

    def __init__(self, key: bytes, fast: bool = False) -> None:
        super().__init__("fast" if fast else "light", huge_pages=False)
        self.prepare(key)

    def hash(self, data: bytes) -> bytes:
        return self.verify_hash(data)

    def scan(self, blob: bytes, start_nonce: int, count: int, target64: int) -> ScanResult:
        """Nonces start_nonce.. of blob as xminer's Scanner hashes them on the CPU."""
        vm = self.create_vm()
        try:
            scanner = Scanner(vm)
            scanner.set_blob(blob)
            return scanner.scan(start_nonce, count, target64)
        finally:
            vm.destroy()

    def close(self) -> None:
        self.release()


class GpuRandomX(abc.ABC):
    """RandomX on one GPU, whatever the runtime: key setup (light or fast) and batches.

    The algorithm is here: the cache (light) or dataset (fast) upload, then per batch
    ``rx_init``, ``rx_fill_scratchpad``, 8 programs of ``rx_compile_program`` and
    ``rx_run_program`` (in work-groups of at most MAX_LANES) and ``rx_finish``, each with
    the count appended as its last argument.  XMRig's
    ``bfactor`` (0..MAX_BFACTOR) splits each program's 2048 iterations over 2**bfactor
    launches of ``rx_run_program_piece`` (``first_iteration``, ``iterations``), so that a GPU
    driving a display stays responsive; :meth:`_between_launches` runs after each launch.
    A runtime (OpenCL, CUDA) gives the primitives: device copies of host memory, freeing,
    launching a kernel by name, staging a batch's inputs, reading the hashes back, and the
    sections (locks, context) that key setup and hashing run in.  Its ``__init__`` allocates
    ``_state``, ``_scratchpads``, ``_programs``, ``_code``, ``_hashes`` and ``_dummy``
    for ``intensity`` hashes after calling this one.
    """

    #: fast mode: the device reads the host's dataset where it lies (mapped, _map_host) instead
    #: of a copy; a dataset set_key builds itself is then kept until the key changes
    dataset_host = False
    #: fast mode on the device: rx_init_dataset builds the dataset from the cache there (the
    #: host's dataset is not needed); False uploads the library's; None: the runtime decides
    #: (_device_builds_faster)
    build_on_device: bool | None = None

    _state: Any
    _scratchpads: Any
    _programs: Any
    _code: Any
    _hashes: Any
    _dummy: Any

    def __init__(self, mode: str, intensity: int, bfactor: int = 0) -> None:
        if mode not in ("light", "fast"):
            raise ValueError(f"mode must be 'light' or 'fast', not {mode!r}")
        self.mode = mode
        self.intensity = max(1, int(intensity))
        self.bfactor = min(max(0, int(bfactor)), MAX_BFACTOR)
        self.key: bytes | None = None
        self._chunks: list[Any] = []
        self._chunk_items = 1
        self._ss_programs: Any = None  # the light mode's superscalar programs (else _dummy)
        self._own_dataset: Dataset | None = None  # built by set_key, kept while mapped
        #: the last fast-mode key's dataset: "device" (built there), "copy" or "mapped" (the
        #: host's), and the seconds it took
        self.dataset_origin = ""
        self.dataset_seconds = 0.0

    # -- runtime primitives --------------------------------------------------------------
    @abc.abstractmethod
    def _to_device(self, host: Any) -> Any:
        """A device copy of a numpy array (complete when this returns)."""

    @abc.abstractmethod
    def _free(self, buf: Any) -> None:
        """Free a buffer of _to_device."""

    @abc.abstractmethod
    def _launch(self, name: str, count: int, *args: Any) -> None:
        """Queue kernel name over count work-items with args and np.uint32(count)."""

    @abc.abstractmethod
    def _stage_inputs(self, data: bytes, meta: list[int]) -> tuple[Any, Any]:
        """rx_init's inputs and meta (u32) on the device: (inputs buffer, meta buffer)."""

    @abc.abstractmethod
    def _read_hashes(self, count: int) -> bytes:
        """The first count hashes of _hashes once the queued launches are done."""

    @abc.abstractmethod
    def _hashing(self) -> AbstractContextManager[Any]:
        """The section batches of launches run in."""

    def _keying(self) -> AbstractContextManager[Any]:
        """The section the key's uploads run in."""
        return contextlib.nullcontext()

    def _finish_upload(self) -> None:  # noqa: B027 - optional hook
        """Wait for the key's uploads where _to_device may leave them queued."""

    def _between_launches(self) -> None:  # noqa: B027 - optional hook
        """After each launch of a program or piece (2**bfactor a program); the launch may still
        be queued.  CUDA will sleep bsleep microseconds here (after waiting for it)."""

    def _dataset_chunk_items(self, items: int) -> int:
        """Dataset items a fast-mode chunk holds (all of them: one allocation)."""
        return items

    def _device_builds_faster(self) -> bool:
        """Whether the device builds the dataset faster than the host's library (a GPU)."""
        return True

    def builds_on_device(self) -> bool:
        """Fast mode's dataset: built on the device (else the host's copied or mapped)."""
        if self.dataset_host:
            return False
        if self.build_on_device is None:
            return self._device_builds_faster()
        return self.build_on_device

    def _map_host(self, address: int, size: int) -> Any:
        """Host memory mapped for the device (dataset_host), freed by _free."""
        raise NotImplementedError(f"{type(self).__name__} keeps the dataset on the device")

    @abc.abstractmethod
    def _device_buffer(self, size: int) -> Any:
        """An uninitialised device buffer of size bytes the kernels write (freed by _free)."""

    @abc.abstractmethod
    def _launch_dataset(self, count: int, *args: Any) -> None:
        """Queue rx_init_dataset over count items in groups of DATASET_LANES, args + count."""

    @abc.abstractmethod
    def _wait(self) -> None:
        """Wait until the queued launches are done."""

    @abc.abstractmethod
    def _read(self, buf: Any, offset: int, size: int) -> bytes:
        """size bytes at offset of a device buffer, once the queued launches are done."""

    def dataset_items(self, first: int, count: int) -> bytes:
        """Items first.. of the fast mode's dataset on the device (checks, benches)."""
        if self.mode != "fast" or not self._chunks:
            raise RuntimeError("no dataset on the device (fast mode, set_key first)")
        out = bytearray()
        item, end = first, first + count
        with self._hashing():
            while item < end:
                chunk, at = divmod(item, self._chunk_items)
                n = min(end - item, self._chunk_items - at)
                out += self._read(
                    self._chunks[chunk], at * DATASET_ITEM_SIZE, n * DATASET_ITEM_SIZE
                )
                item += n
        return bytes(out)

    # -- key -----------------------------------------------------------------------------
    def set_key(
        self,
        key: bytes,
        cache: Cache | None = None,
        dataset: Dataset | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> bool:
        """Prepare the cache (light) or dataset (fast) of a key; no-op when unchanged.  True
        when ready; False when ``stop()`` said so between two launches of the device's build
        (the key is then unset).

        An initialised library ``cache`` for the same key is uploaded as it is instead of
        being rebuilt here.  Fast mode builds the dataset on the device from the cache
        (build_on_device) unless the device reads the host's (dataset_host); ``dataset``, a
        library dataset built from that cache, is then the one copied or mapped.
        """
        key = bytes(key)
        if key == self.key:
            return True
        if cache is not None and cache.key != key:
            raise ValueError("cache was initialised for another key")
        self.key = None
        flags = recommended_flags() & ~Flags.LARGE_PAGES
        own_cache = cache is None
        if cache is None:
            cache = Cache(flags)
            cache.init(key)
        began = time.monotonic()
        try:
            with self._keying():
                if self.mode == "light":
                    self._upload_light(cache, key)
                elif self.builds_on_device():
                    if not self._build_on_device(cache, key, stop or (lambda: False)):
                        return False
                    self.dataset_origin = "device"
                else:
                    self._upload_fast(cache, dataset, flags)
                    self.dataset_origin = "mapped" if self.dataset_host else "copy"
        finally:
            if own_cache:
                cache.release()
        self.dataset_seconds = time.monotonic() - began
        self.key = key
        return True

    def _upload(self, address: int, size: int) -> Any:
        """A device copy of size bytes of host memory at address."""
        import numpy as np

        return self._to_device(np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(address)))

    def _release_dataset(self) -> None:
        for buf in self._chunks:
            self._free(buf)
        self._chunks = []
        if self._ss_programs is not None:
            self._free(self._ss_programs)
            self._ss_programs = None
        if self._own_dataset is not None:
            self._own_dataset.release()
            self._own_dataset = None

    def _upload_light(self, cache: Cache, key: bytes) -> None:
        import numpy as np

        self._release_dataset()
        programs = superscalar.pack_programs(superscalar.generate_programs(key))
        ss = np.array(programs, dtype=np.uint64)
        self._chunks = [self._upload(cache_memory_address(cache), CACHE_SIZE)]
        self._ss_programs = self._to_device(ss)
        self._chunk_items = 1
        self._finish_upload()

    def _build_on_device(self, cache: Cache, key: bytes, stop: Callable[[], bool]) -> bool:
        """The dataset built by rx_init_dataset from the cache and the key's programs, in
        chunks of _dataset_chunk_items, by launches of about DATASET_LAUNCH_S each; False (all
        freed) when stop() said so between two launches."""
        items = dataset_item_count()
        per_chunk = self._dataset_chunk_items(items)
        self._upload_light(cache, key)  # the cache (chunk 0 for now) and the programs
        cache_buf = self._chunks[0]
        self._chunks = []
        try:
            for first in range(0, items, per_chunk):
                count = min(per_chunk, items - first)
                self._chunks.append(self._device_buffer(count * DATASET_ITEM_SIZE))
            if not self.init_dataset_items(
                cache_buf, dict(enumerate(self._chunks)), per_chunk, 0, items, stop
            ):
                self._release_dataset()
                return False
        finally:
            self._free(cache_buf)
        self._chunk_items = per_chunk
        return True

    def init_dataset_items(
        self,
        cache_buf: Any,
        chunks: Mapping[int, Any],
        per_chunk: int,
        first: int,
        count: int,
        stop: Callable[[], bool] = lambda: False,
    ) -> bool:
        """rx_init_dataset over items first .. first+count-1 from cache_buf and _ss_programs
        into chunks (chunk number -> buffer of per_chunk items); launches never cross a
        chunk's end.  False when stop() said so between two launches."""
        import numpy as np

        size, low, high = DATASET_FIRST_LAUNCH, *DATASET_LAUNCH_S
        item, end = first, first + count
        while item < end:
            if stop():
                return False
            chunk = item // per_chunk
            n = min(size, end - item, (chunk + 1) * per_chunk - item)
            began = time.monotonic()
            self._launch_dataset(
                n, cache_buf, self._ss_programs, chunks[chunk],
                np.uint32(chunk * per_chunk), np.uint32(item),
            )  # fmt: skip
            self._wait()
            took = time.monotonic() - began
            item += n
            if n == size and took < low:
                size *= 2
            elif took > high:
                size = max(DATASET_LANES, size // 2)
        return True

    def _upload_fast(self, cache: Cache, dataset: Dataset | None, flags: Flags) -> None:
        items = dataset_item_count()
        per_chunk = self._dataset_chunk_items(items)
        self._release_dataset()
        own_dataset = dataset is None
        if dataset is None:
            dataset = Dataset(flags)
        try:
            if own_dataset:
                build_dataset(dataset, cache, os.cpu_count() or 1)
            base = dataset.memory()
            for start in range(0, items, per_chunk):
                count = min(per_chunk, items - start)
                place = self._map_host if self.dataset_host else self._upload
                self._chunks.append(
                    place(base + start * DATASET_ITEM_SIZE, count * DATASET_ITEM_SIZE)
                )
            self._finish_upload()
            if own_dataset and self.dataset_host:
                self._own_dataset, dataset = dataset, None
        finally:
            if own_dataset and dataset is not None:
                dataset.release()
        self._chunk_items = per_chunk

    # -- hashing -------------------------------------------------------------------------
    def _run(self, count: int) -> None:
        """The hash pipeline for count (<= intensity) inputs already hashed by rx_init: per
        program, rx_compile_program (program generation and micro-ops), then the program in
        one launch of rx_run_program or, with bfactor, in 2**bfactor launches of
        rx_run_program_piece of PROGRAM_ITERATIONS >> bfactor iterations."""
        import numpy as np

        chunks = (self._chunks + [self._dummy] * MAX_DATASET_CHUNKS)[:MAX_DATASET_CHUNKS]
        ss = self._ss_programs if self._ss_programs is not None else self._dummy
        state, scratchpads = self._state, self._scratchpads
        common = (
            state, scratchpads, self._programs, self._code, *chunks, ss,
            np.uint32(self._chunk_items), np.uint32(self.mode == "light"),
        )  # fmt: skip
        step = PROGRAM_ITERATIONS >> self.bfactor
        self._launch("rx_fill_scratchpad", count, state, scratchpads)
        for p in range(PROGRAM_COUNT):
            source = np.uint32(FROM_SEED if p == 0 else FROM_REGISTERS)
            self._launch("rx_compile_program", count, state, self._programs, self._code, source)
            if not self.bfactor:  # the whole program in one launch
                self._launch("rx_run_program", count, *common)
                self._between_launches()
                continue
            for first in range(0, PROGRAM_ITERATIONS, step):
                piece = (np.uint32(first), np.uint32(step))
                self._launch("rx_run_program_piece", count, *common, *piece)
                self._between_launches()
        self._launch("rx_finish", count, state, scratchpads, self._hashes)

    def _require_key(self) -> None:
        if self.key is None:
            raise RuntimeError("set_key() first")

    def _hash_prepared(
        self, data: bytes, meta: list[int], meta_stride: int, with_nonce: int, nonce: int, n: int
    ) -> list[bytes]:
        import numpy as np

        inputs, meta_buf = self._stage_inputs(data, meta)
        self._launch(
            "rx_init", n, inputs, meta_buf, np.uint32(meta_stride),
            np.uint32(with_nonce), np.uint32(nonce), self._state,
        )  # fmt: skip
        self._run(n)
        raw = self._read_hashes(n)
        return [raw[HASH_BYTES * i : HASH_BYTES * (i + 1)] for i in range(n)]

    def hash_inputs(self, inputs: Sequence[bytes]) -> list[bytes]:
        """RandomX hashes of arbitrary inputs under the current key."""
        self._require_key()
        results: list[bytes] = []
        with self._hashing():
            for at in range(0, len(inputs), self.intensity):
                part = [bytes(x) for x in inputs[at : at + self.intensity]]
                data, meta = pack_inputs(part)
                results += self._hash_prepared(data, meta, 1, 0, 0, len(part))
        return results

    def hash_nonces(self, blob: bytes, start_nonce: int, count: int) -> list[bytes]:
        """Hashes of blob with nonces start_nonce.. (LE uint32 at byte 39)."""
        self._require_key()
        if len(blob) < NONCE_OFFSET + 4:
            raise ValueError("blob too short for a nonce at byte 39")
        results: list[bytes] = []
        with self._hashing():
            for at in range(0, count, self.intensity):
                n = min(self.intensity, count - at)
                nonce = (start_nonce + at) & 0xFFFFFFFF
                results += self._hash_prepared(bytes(blob), [0, len(blob)], 0, 1, nonce, n)
        return results

    def hash_batch(
        self, blob: bytes, start_nonce: int, count: int, target64: int
    ) -> tuple[int, int, list[tuple[int, bytes]]]:
        """Scan count nonces: (hashes, XOR of tails, shares as (nonce, hash) with tail < target)."""
        result = self.scan(blob, start_nonce, count, target64)
        return result.hashes, result.tail_xor, result.shares

    def scan(self, blob: bytes, start_nonce: int, count: int, target64: int) -> BatchResult:
        return scan_digests(self.hash_nonces(blob, start_nonce, count), start_nonce, target64)

    @abc.abstractmethod
    def close(self) -> None:
        """Free the instance's device memory."""
