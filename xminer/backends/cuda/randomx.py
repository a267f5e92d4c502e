"""RandomX on a CUDA device through pycuda: module build/cache, key setup (light or fast), batches.

The host algorithm is the OpenCL backend's (:class:`~xminer.backends.gpu.host.GpuRandomX`),
over pycuda's primitives: the same kernels (``kernels/``, compiled by nvcc with -fmad=false,
see compile.py), the same entry points launched in the same order with the same arguments:

    rx_init(inputs, meta, meta_stride, with_nonce, start_nonce, state, count)
    rx_fill_scratchpad(state, scratchpads, count)
    per program (x8):
    rx_compile_program(state, programs, code, source, count)   (source: FROM_SEED on the 1st)
    rx_run_program(state, scratchpads, programs, code, ds0, ds1, ds2, ds3, ss_programs,
                   chunk_items, light, count)
    or, with bfactor, 2**bfactor launches a program of
    rx_run_program_piece(..., light, first_iteration, iterations, count)
    rx_finish(state, scratchpads, hashes, results, capacity, limit_lo, limit_hi, count)

over ceil(count / threads) blocks of ``threads`` (at most MAX_LANES; OpenCL: global size
rounded up to the work-group size).  Each device gets one explicit context (``make_context``, never
pycuda.autoinit); every call pushes it on the calling thread and pops it after, so worker
threads can share it, and each :class:`CudaRandomX` has its own stream.

Needs pycuda and numpy: import this module only after ``cuda_status()`` says OK.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import mmap
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pycuda.driver as drv

from xminer.backends.cuda.compile import ENTRY_POINTS, DeviceBinary, device_binary
from xminer.backends.cuda.devices import (
    RESERVED_BYTES,
    CudaDevice,
    batch_that_fits,
    dataset_bytes,
    list_devices,
)
from xminer.backends.gpu import devices as gpu_devices
from xminer.backends.gpu.host import GpuRandomX
from xminer.backends.gpu.layout import (
    CODE_WORDS,
    DATASET_LANES,
    HASH_BYTES,
    LANES_PER_HASH,
    LOCAL_REGISTERS,
    MAX_LANES,
    PROGRAM_WORDS,
    REGISTER_SLOTS,
    RESULT_CAPACITY,
    SCRATCHPAD_STRIDE,
    STATE_WORDS,
)
from xminer.backends.gpu.result import result_bytes
from xminer.randomx.binding import CACHE_SIZE

log = logging.getLogger("xminer.cuda")


class CudaContext:
    """A context and the loaded kernel module for one device (one per device and process)."""

    def __init__(self, info: CudaDevice) -> None:
        drv.init()
        self.info = info
        self.lock = threading.Lock()
        flags = drv.ctx_flags.SCHED_BLOCKING_SYNC | drv.ctx_flags.MAP_HOST  # MAP_HOST: dataset_host
        self.context = drv.Device(info.index).make_context(flags=flags)
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


_devices: dict[int, CudaContext] = {}
_devices_lock = threading.Lock()


def resolve_device(device: CudaDevice | int | str | None) -> CudaDevice:
    index = device.index if isinstance(device, CudaDevice) else device
    return gpu_devices.resolve_device(list_devices(), None if index is None else int(index), "CUDA")


def cuda_device(device: CudaDevice | int | str | None = None, load: bool = True) -> CudaContext:
    """The process's context for a device (made on first use), with its kernels loaded."""
    info = resolve_device(device)
    with _devices_lock:
        if info.index not in _devices:
            _devices[info.index] = CudaContext(info)
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


class HostMapping:
    """Host memory mapped into the device's address space (cuMemHostRegister, DEVICEMAP):
    the kernels read it over the bus.  Registered by whole pages; ``int()`` is the device
    address of ``address``.  Made and freed with the device's context current."""

    def __init__(self, address: int, size: int) -> None:
        page = mmap.PAGESIZE
        start, end = address - address % page, -(-(address + size) // page) * page
        pages = np.ctypeslib.as_array((ctypes.c_uint8 * (end - start)).from_address(start))
        self._registered = drv.register_host_memory(pages, drv.mem_host_register_flags.DEVICEMAP)
        self.pointer = int(self._registered.base.get_device_pointer()) + address - start

    def __int__(self) -> int:
        return self.pointer

    def free(self) -> None:
        if self._registered is not None:
            self._registered.base.unregister()
            self._registered = None


class CudaRandomX(GpuRandomX):
    """RandomX hashing on one CUDA device, ``intensity`` hashes a launch.

    mode "light": dataset items are computed on the device from the 256 MiB cache; "fast":
    the 2080 MiB dataset is built on the device from the cache (rx_init_dataset) or, with
    ``dataset_host`` (or when it does not fit in the device's free memory, ``fallback`` says
    so), the one built on the host by librandomx is mapped into the device's address space
    where it lies.  ``bfactor`` splits each
    program over 2^bfactor launches, and ``bsleep`` microseconds are slept after each.
    ``max_results``: the hits a launch keeps on the device (see :class:`GpuRandomX`).
    """

    def __init__(
        self,
        device: CudaDevice | int | str | None = None,
        mode: str = "light",
        intensity: int = 32,
        threads: int = 32,
        bfactor: int = 0,
        bsleep: int = 0,
        dataset_host: bool | None = None,
        max_results: int = RESULT_CAPACITY,
    ) -> None:
        super().__init__(mode, intensity, bfactor, max_results)
        self.dev = cuda_device(device)
        most = min(self.dev.max_threads // max(LANES_PER_HASH.values()), MAX_LANES)
        self.threads = max(1, min(int(threads), most))
        self.bsleep = max(0, int(bsleep))
        self.lock = threading.Lock()
        self.fallback = ""
        self.dataset_host = mode == "fast" and bool(dataset_host)
        self._buffers: list[Any] = []
        self._pinned: list[Any] = []
        with self.dev.active():
            self._fit_batch(*drv.mem_get_info())
            n = self.intensity
            self.stream = drv.Stream()
            self._state = self._alloc(n * STATE_WORDS * 8)
            self._scratchpads = self._alloc(n * SCRATCHPAD_STRIDE)
            self._programs = self._alloc(n * PROGRAM_WORDS * 8)
            self._code = self._alloc(n * CODE_WORDS * 8)
            self._hashes = self._alloc(n * HASH_BYTES)
            self._results = self._alloc(result_bytes(self.max_results))
            self._meta = self._alloc(2 * n * 4)
            self._dummy = self._alloc(64)
            self._inputs: Any = None
            self._inputs_size = 0
            self._host_hashes = self._pin(n * HASH_BYTES, np.uint8)
            self._host_meta = self._pin(2 * n, np.uint32)
            self._host_inputs: Any = None
            if mode == "fast" and not self.dataset_host:
                free, _ = drv.mem_get_info()
                need = dataset_bytes() + RESERVED_BYTES
                if free < need:
                    self.fallback = (
                        f"dataset does not fit ({free >> 20} MiB free, {need >> 20} MiB needed):"
                        " in host memory"
                    )
                    log.warning("#%d %s", self.dev.info.index, self.fallback)
                    self.dataset_host = True

    # -- memory ------------------------------------------------------------------------------
    def _fit_batch(self, free: int, total: int) -> None:
        """Lower intensity to what the free memory holds after the cache or dataset (when it
        stays on the card) and the reserve."""
        if self.mode == "light":
            on_card = CACHE_SIZE
        else:
            on_card = 0 if self.dataset_host or dataset_bytes() > total else dataset_bytes()
        fits = batch_that_fits(self.intensity, self.threads, free, on_card)
        if fits < self.intensity:
            log.warning(
                "#%d %d hashes a batch do not fit in %d MiB free: %d",
                self.dev.info.index, self.intensity, free >> 20, fits,
            )  # fmt: skip
            self.intensity = fits

    def _alloc(self, size: int) -> Any:
        buf = drv.mem_alloc(size)
        self._buffers.append(buf)
        return buf

    def _pin(self, count: int, dtype: Any) -> Any:
        arr = drv.pagelocked_empty(count, dtype)
        self._pinned.append(arr)
        return arr

    # -- GpuRandomX's primitives -------------------------------------------------------------
    def _to_device(self, host: Any) -> Any:
        """A device copy of a host array (synchronous); the fast dataset is one allocation
        (every item in chunk 0: the kernel indexes it in 64 bits)."""
        buf = drv.mem_alloc(host.nbytes)
        drv.memcpy_htod(buf, host)
        return buf

    def _free(self, buf: Any) -> None:
        buf.free()  # a device allocation, or a HostMapping

    def _device_buffer(self, size: int) -> Any:
        return drv.mem_alloc(size)

    def _wait(self) -> None:
        self.stream.synchronize()

    def _read(self, buf: Any, offset: int, size: int) -> bytes:
        self.stream.synchronize()
        out = np.empty(size, dtype=np.uint8)
        drv.memcpy_dtoh(out, int(buf) + offset)
        return out.tobytes()

    def _zero(self, buf: Any, size: int) -> None:
        drv.memset_d32_async(int(buf), 0, size // 4, self.stream)

    def _map_host(self, address: int, size: int) -> Any:
        return HostMapping(address, size)

    @contextlib.contextmanager
    def _current(self) -> Iterator[None]:
        """This instance's lock held and the device's context current."""
        with self.lock, self.dev.active():
            yield

    def _keying(self) -> AbstractContextManager[Any]:
        return self._current()

    def _hashing(self) -> AbstractContextManager[Any]:
        return self._current()

    def _launch(self, name: str, count: int, *args: Any, threads: int = 0) -> None:
        """Run kernel name for count hashes: ceil(count / threads) blocks of threads hashes
        (LANES_PER_HASH threads a hash for the kernels that take several)."""
        threads = threads or self.threads
        blocks = -(-count // threads)
        block = threads * LANES_PER_HASH.get(name, 1)
        shared = REGISTER_SLOTS * 8 * threads if name in LOCAL_REGISTERS else 0
        args = tuple(a if isinstance(a, np.generic) else int(a) for a in args)  # pointers
        self.dev.functions[name].prepared_async_call(
            (blocks, 1), (block, 1, 1), self.stream, *args, np.uint32(count), shared_size=shared
        )

    def _launch_dataset(self, count: int, *args: Any) -> None:
        self._launch(
            "rx_init_dataset", count, *args, threads=min(DATASET_LANES, self.dev.max_threads)
        )

    def _stage_inputs(self, data: bytes, meta: list[int]) -> tuple[Any, Any]:
        """Copy the input bytes and meta to the device (inputs grow to the largest batch)."""
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
        self._host_meta[: len(meta)] = np.array(meta, dtype=np.uint32)
        drv.memcpy_htod_async(self._meta, self._host_meta[: len(meta)], self.stream)
        return self._inputs, self._meta

    def _read_hashes(self, count: int) -> bytes:
        out = self._host_hashes[: count * HASH_BYTES]
        drv.memcpy_dtoh_async(out, self._hashes, self.stream)
        self.stream.synchronize()
        return out.tobytes()

    def _between_launches(self) -> None:
        """bsleep: the device idle for bsleep microseconds after each piece of a program."""
        if self.bsleep:
            self.stream.synchronize()
            time.sleep(self.bsleep / 1e6)

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
