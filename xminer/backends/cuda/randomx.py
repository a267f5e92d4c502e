"""RandomX on a CUDA device through pycuda: module build/cache, key setup (light or fast), batches.

The host side of the OpenCL backend (``xminer/backends/opencl/randomx.py``) translated to
CUDA: the same kernels (``kernels/``, compiled by nvcc with -fmad=false, see compile.py), the
same entry points launched in the same order with the same arguments:

    rx_init(inputs, meta, meta_stride, with_nonce, start_nonce, state, count)
    rx_fill_scratchpad(state, scratchpads, count)
    rx_run_program(state, scratchpads, programs, decoded, ds0, ds1, ds2, ds3, ss_programs,
                   chunk_items, light, last, count)                        (x8, last on the 8th)
    rx_finish(state, scratchpads, hashes, count)

over ceil(count / threads) blocks of ``threads`` (OpenCL: global size rounded up to the
work-group size).  Each device gets one explicit context (``make_context``, never
pycuda.autoinit); every call pushes it on the calling thread and pops it after, so worker
threads can share it, and each :class:`CudaRandomX` has its own stream.

Needs pycuda and numpy: import this module only after ``cuda_status()`` says OK.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pycuda.driver as drv

from xminer.backends.cuda.compile import ENTRY_POINTS, DeviceBinary, device_binary
from xminer.backends.cuda.devices import (
    RESERVED_BYTES,
    CudaDeviceInfo,
    dataset_bytes,
    list_devices,
)
from xminer.backends.gpu_common import (
    DECODED_WORDS,
    HASH_BYTES,
    MAX_DATASET_CHUNKS,
    NONCE_OFFSET,
    PROGRAM_COUNT,
    PROGRAM_WORDS,
    SCRATCHPAD_BYTES,
    STATE_WORDS,
    BatchResult,
    init_dataset_threaded,
    pack_inputs,
    scan_digests,
)
from xminer.randomx import superscalar
from xminer.randomx.binding import (
    CACHE_SIZE,
    Cache,
    Dataset,
    Flags,
    dataset_item_count,
    recommended_flags,
)
from xminer.randomx.cachemem import cache_memory_address

log = logging.getLogger("xminer.cuda")


class CudaDevice:
    """A context and the loaded kernel module for one device (one per device and process)."""

    def __init__(self, info: CudaDeviceInfo) -> None:
        drv.init()
        self.info = info
        self.lock = threading.Lock()
        self.context = drv.Device(info.index).make_context(flags=drv.ctx_flags.SCHED_BLOCKING_SYNC)
        drv.Context.pop()  # made current by make_context; pushed again for every call
        self.module: Any = None
        self.functions: dict[str, Any] = {}
        self.binary: DeviceBinary | None = None
        self.max_threads = 1024

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """The device's context current on this thread for the block."""
        self.context.push()
        try:
            yield
        finally:
            drv.Context.pop()

    def load(self) -> None:
        """Compile (or take from the cache) and load the kernels; once."""
        with self.lock:
            if self.module is not None:
                return
            binary = device_binary(self.info.capability)
            if binary.warnings:
                log.warning("nvcc (%s): %s", binary.arch, binary.warnings)
            image = binary.image + (b"\0" if binary.kind == "ptx" else b"")
            with self.active():
                module = drv.module_from_buffer(image)
                functions = {}
                for name, fmt in ENTRY_POINTS.items():
                    fn = module.get_function(name)
                    fn.prepare(fmt)
                    functions[name] = fn
                limit = drv.function_attribute.MAX_THREADS_PER_BLOCK
                self.max_threads = min(int(f.get_attribute(limit)) for f in functions.values())
            self.module, self.functions, self.binary = module, functions, binary
            log.info(
                "#%d kernels %s %s (%s), up to %d threads a block",
                self.info.index, binary.kind, binary.arch,
                "cached" if binary.cached else "compiled", self.max_threads,
            )  # fmt: skip

    def mem_info(self) -> tuple[int, int]:
        """(free, total) bytes of device memory now."""
        with self.active():
            free, total = drv.mem_get_info()
        return int(free), int(total)

    def release(self) -> None:
        """Unload the module and destroy the context (at exit)."""
        with contextlib.suppress(drv.Error):
            self.context.push()
            self.functions, self.module = {}, None
            self.context.detach()  # pops it as well


_devices: dict[int, CudaDevice] = {}
_devices_lock = threading.Lock()


def resolve_device(device: CudaDeviceInfo | int | str | None) -> CudaDeviceInfo:
    devices = list_devices()
    if not devices:
        raise RuntimeError("no CUDA device")
    if device is None:
        return devices[0]
    index = device.index if isinstance(device, CudaDeviceInfo) else int(device)
    for d in devices:
        if d.index == index:
            return d
    raise ValueError(f"no CUDA device {index}")


def cuda_device(device: CudaDeviceInfo | int | str | None = None, load: bool = True) -> CudaDevice:
    """The process's context for a device (made on first use), with its kernels loaded."""
    info = resolve_device(device)
    with _devices_lock:
        if info.index not in _devices:
            _devices[info.index] = CudaDevice(info)
        dev = _devices[info.index]
    if load:
        dev.load()
    return dev


@atexit.register
def release_devices() -> None:
    with _devices_lock:
        devices = list(_devices.values())
        _devices.clear()
    for dev in devices:
        dev.release()


class CudaRandomX:
    """RandomX hashing on one CUDA device, ``intensity`` hashes a launch.

    mode "light": dataset items are computed on the device from the 256 MiB cache; "fast":
    the 2080 MiB dataset built on the host by librandomx is copied to the device.  When the
    dataset does not fit in the device's free memory, fast mode falls back to light mode
    (``fallback`` says why).
    """

    def __init__(
        self,
        device: CudaDeviceInfo | int | str | None = None,
        mode: str = "light",
        intensity: int = 32,
        threads: int = 32,
        bsleep: int = 0,
    ) -> None:
        if mode not in ("light", "fast"):
            raise ValueError(f"mode must be 'light' or 'fast', not {mode!r}")
        self.dev = cuda_device(device)
        self.intensity = max(1, int(intensity))
        self.threads = max(1, min(int(threads), self.dev.max_threads))
        self.bsleep = max(0, int(bsleep))
        self.key: bytes | None = None
        self.lock = threading.Lock()
        self.fallback = ""
        self._buffers: list[Any] = []
        self._pinned: list[Any] = []
        self._chunks: list[Any] = []
        self._ss_programs: Any = None
        self._chunk_items = 1
        n = self.intensity
        with self.dev.active():
            self.stream = drv.Stream()
            self._state = self._alloc(n * STATE_WORDS * 8)
            self._scratchpads = self._alloc(n * SCRATCHPAD_BYTES)
            self._programs = self._alloc(n * PROGRAM_WORDS * 8)
            self._decoded = self._alloc(n * DECODED_WORDS * 4)
            self._hashes = self._alloc(n * HASH_BYTES)
            self._meta = self._alloc(2 * n * 4)
            self._dummy = self._alloc(64)
            self._inputs: Any = None
            self._inputs_size = 0
            self._host_hashes = self._pin(n * HASH_BYTES, np.uint8)
            self._host_meta = self._pin(2 * n, np.uint32)
            self._host_inputs: Any = None
            if mode == "fast":
                free, _ = drv.mem_get_info()
                need = dataset_bytes() + RESERVED_BYTES
                if free < need:
                    self.fallback = (
                        f"dataset does not fit ({free >> 20} MiB free, {need >> 20} MiB needed):"
                        " light mode"
                    )
                    log.warning("#%d %s", self.dev.info.index, self.fallback)
                    mode = "light"
        self.mode = mode

    # -- memory ------------------------------------------------------------------------------
    def _alloc(self, size: int) -> Any:
        buf = drv.mem_alloc(size)
        self._buffers.append(buf)
        return buf

    def _pin(self, count: int, dtype: Any) -> Any:
        arr = drv.pagelocked_empty(count, dtype)
        self._pinned.append(arr)
        return arr

    def _upload(self, address: int, size: int) -> Any:
        """A device copy of size bytes of host memory at address (synchronous)."""
        host = np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(address))
        buf = drv.mem_alloc(size)
        drv.memcpy_htod(buf, host)
        return buf

    def _release_dataset(self) -> None:
        for buf in self._chunks:
            buf.free()
        self._chunks = []
        if self._ss_programs is not None:
            self._ss_programs.free()
            self._ss_programs = None

    # -- key ---------------------------------------------------------------------------------
    def set_key(
        self, key: bytes, cache: Cache | None = None, dataset: Dataset | None = None
    ) -> None:
        """Prepare the cache (light) or dataset (fast) of a key; no-op when unchanged.

        An initialised library ``cache`` for the same key (and, in fast mode, a ``dataset``
        built from it) is uploaded as it is instead of being rebuilt here.
        """
        key = bytes(key)
        if key == self.key:
            return
        if cache is not None and cache.key != key:
            raise ValueError("cache was initialised for another key")
        self.key = None
        flags = recommended_flags() & ~Flags.LARGE_PAGES
        own_cache = cache is None
        if cache is None:
            cache = Cache(flags)
            cache.init(key)
        try:
            with self.lock, self.dev.active():
                if self.mode == "light":
                    self._upload_light(cache, key)
                else:
                    self._upload_fast(cache, dataset, flags)
        finally:
            if own_cache:
                cache.release()
        self.key = key

    def _upload_light(self, cache: Cache, key: bytes) -> None:
        self._release_dataset()
        programs = superscalar.pack_programs(superscalar.generate_programs(key))
        ss = np.array(programs, dtype=np.uint64)
        self._chunks = [self._upload(cache_memory_address(cache), CACHE_SIZE)]
        self._ss_programs = drv.mem_alloc(ss.nbytes)
        drv.memcpy_htod(self._ss_programs, ss)
        self._chunk_items = 1

    def _upload_fast(self, cache: Cache, dataset: Dataset | None, flags: Flags) -> None:
        items = dataset_item_count()
        self._release_dataset()
        own_dataset = dataset is None
        if dataset is None:
            dataset = Dataset(flags)
        try:
            if own_dataset:
                init_dataset_threaded(dataset, cache, items)
            # one allocation: every item is in chunk 0 (the kernel indexes it in 64 bits)
            self._chunks = [self._upload(dataset.memory(), dataset_bytes())]
        finally:
            if own_dataset:
                dataset.release()
        self._chunk_items = items

    # -- hashing -----------------------------------------------------------------------------
    def _launch(self, name: str, count: int, *args: Any) -> None:
        """Run kernel name on count threads: ceil(count / threads) blocks of threads."""
        blocks = -(-count // self.threads)
        self.dev.functions[name].prepared_async_call(
            (blocks, 1), (self.threads, 1, 1), self.stream, *args, np.uint32(count)
        )

    def _run(self, count: int) -> None:
        """The hash pipeline for count (<= intensity) inputs already hashed by rx_init."""
        chunks = [int(c) for c in self._chunks]
        chunks = (chunks + [int(self._dummy)] * MAX_DATASET_CHUNKS)[:MAX_DATASET_CHUNKS]
        ss = int(self._ss_programs) if self._ss_programs is not None else int(self._dummy)
        state, scratchpads = int(self._state), int(self._scratchpads)
        self._launch("rx_fill_scratchpad", count, state, scratchpads)
        for p in range(PROGRAM_COUNT):
            self._launch(
                "rx_run_program", count,
                state, scratchpads, int(self._programs), int(self._decoded),
                *chunks, ss, np.uint32(self._chunk_items),
                np.uint32(self.mode == "light"), np.uint32(p == PROGRAM_COUNT - 1),
            )  # fmt: skip
        self._launch("rx_finish", count, state, scratchpads, int(self._hashes))

    def _require_key(self) -> None:
        if self.key is None:
            raise RuntimeError("set_key() first")

    def _stage_inputs(self, data: bytes) -> None:
        """Copy the input bytes to the device (buffers grow to the largest batch seen)."""
        size = len(data)
        if size > self._inputs_size:
            if self._inputs is not None:
                self._inputs.free()
                self._host_inputs.base.free()
            capacity = max(size, 4096)
            self._inputs = drv.mem_alloc(capacity)
            self._host_inputs = drv.pagelocked_empty(capacity, np.uint8)
            self._inputs_size = capacity
        self._host_inputs[:size] = np.frombuffer(data, dtype=np.uint8)
        drv.memcpy_htod_async(self._inputs, self._host_inputs[:size], self.stream)

    def _hash_prepared(
        self, data: bytes, meta: list[int], meta_stride: int, with_nonce: int, nonce: int, n: int
    ) -> list[bytes]:
        self._stage_inputs(data)
        self._host_meta[: len(meta)] = np.array(meta, dtype=np.uint32)
        drv.memcpy_htod_async(self._meta, self._host_meta[: len(meta)], self.stream)
        self._launch(
            "rx_init", n, int(self._inputs), int(self._meta), np.uint32(meta_stride),
            np.uint32(with_nonce), np.uint32(nonce), int(self._state),
        )  # fmt: skip
        self._run(n)
        out = self._host_hashes[: n * HASH_BYTES]
        drv.memcpy_dtoh_async(out, self._hashes, self.stream)
        self.stream.synchronize()
        raw = out.tobytes()
        if self.bsleep:
            time.sleep(self.bsleep / 1e6)
        return [raw[HASH_BYTES * i : HASH_BYTES * (i + 1)] for i in range(n)]

    def hash_inputs(self, inputs: Sequence[bytes]) -> list[bytes]:
        """RandomX hashes of arbitrary inputs under the current key."""
        self._require_key()
        results: list[bytes] = []
        with self.lock, self.dev.active():
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
        with self.lock, self.dev.active():
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

    def close(self) -> None:
        """Free the device and pinned memory (the device's context and kernels stay)."""
        if self.stream is None:
            return
        with self.lock, self.dev.active():
            self.stream.synchronize()
            self._release_dataset()
            for buf in self._buffers:
                buf.free()
            self._buffers = []
            if self._inputs is not None:
                self._inputs.free()
                self._host_inputs.base.free()
                self._inputs = None
                self._inputs_size = 0
            for arr in self._pinned:
                arr.base.free()
            self._pinned = []
            self.stream = None  # destroyed while the context is current
        self.key = None
