"""RandomX on an OpenCL device: program build/cache, key setup (light or fast), batches.

Needs pyopencl and numpy (import this module only after ``opencl_status()`` says OK).
"""

from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xminer.backends.gpu import devices as gpu_devices
from xminer.backends.gpu.host import GpuRandomX
from xminer.backends.gpu.kernel_source import KERNEL_NAMES, kernel_source, source_digest
from xminer.backends.gpu.layout import (
    CODE_WORDS,
    DATASET_LANES,
    HASH_BYTES,
    LANES_PER_HASH,
    LOCAL_REGISTERS,
    MAX_DATASET_CHUNKS,
    MAX_LANES,
    PROGRAM_WORDS,
    REGISTER_SLOTS,
    RESULT_CAPACITY,
    SCRATCHPAD_STRIDE,
    STATE_WORDS,
)
from xminer.backends.gpu.result import result_bytes
from xminer.backends.opencl.devices import OclDevice, _import_cl, list_devices
from xminer.randomx.binding import DATASET_ITEM_SIZE

cl = _import_cl()

MAX_CHUNK_BYTES = 1 << 30  # PoCL's max allocation can be as low as 1 GiB


def binary_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "xminer" / "opencl"


def _is_pocl(device: Any) -> bool:
    return "portable computing language" in device.platform.name.lower()


def _build(ctx: Any, device: Any, source: str, options: list[str]) -> Any:
    """Build from source; outside PoCL (which caches by itself) reuse cached binaries."""
    if _is_pocl(device):
        return cl.Program(ctx, source).build(options=options)
    digest = source_digest(source, device.name, device.driver_version, *options)
    path = binary_cache_dir() / f"{digest}.bin"
    if path.exists():
        try:
            return cl.Program(ctx, [device], [path.read_bytes()]).build(options=options)
        except cl.Error:
            path.unlink(missing_ok=True)
    program = cl.Program(ctx, source).build(options=options)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(program.binaries[0])
    return program


@dataclass
class CompiledKernels:
    """A context, queue and built program for one device, with its kernels."""

    device_info: OclDevice
    device: Any
    context: Any
    queue: Any
    program: Any
    kernels: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def kernel(self, name: str) -> Any:
        return self.kernels[name]


_compiled: dict[tuple[str, str], CompiledKernels] = {}
#: "grouped": the production executor; "switch": the first one (vm_switch.cl), a reference
#: for tests and tools/bench_gpu.py only
EXECUTORS = ("grouped", "switch")
_compiled_lock = threading.Lock()


def resolve_device(device: OclDevice | str | None) -> OclDevice:
    key = device.key if isinstance(device, OclDevice) else device
    return gpu_devices.resolve_device(list_devices(), key, "OpenCL")


def compiled_kernels(
    device: OclDevice | str | None = None, executor: str = "grouped"
) -> CompiledKernels:
    """Build the kernels once per device, executor and process."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, not {executor!r}")
    info = resolve_device(device)
    with _compiled_lock:
        if (info.key, executor) not in _compiled:
            dev = cl.get_platforms()[info.platform_index].get_devices()[info.device_index]
            ctx = cl.Context([dev])
            defines = {"RX_SWITCH_EXECUTOR": "1"} if executor == "switch" else {}
            program = _build(ctx, dev, kernel_source(defines), [])
            kernels = {name: cl.Kernel(program, name) for name in KERNEL_NAMES}
            _compiled[info.key, executor] = CompiledKernels(
                info, dev, ctx, cl.CommandQueue(ctx), program, kernels
            )
        return _compiled[info.key, executor]


def launch(ck: CompiledKernels, name: str, count: int, worksize: int, *args: Any) -> None:
    """Run kernel name for count hashes in work-groups of worksize hashes (global size rounded
    up; LANES_PER_HASH work-items a hash for the kernels that take several)."""
    lanes = LANES_PER_HASH.get(name, 1)
    global_size = -(-count // worksize) * worksize * lanes
    kernel = ck.kernel(name)
    if name in LOCAL_REGISTERS:  # the VM registers of the group's hashes
        args = (cl.LocalMemory(REGISTER_SLOTS * 8 * worksize), *args)
    kernel.set_args(*args, np.uint32(count))
    cl.enqueue_nd_range_kernel(ck.queue, kernel, (global_size,), (worksize * lanes,))


class OpenCLRandomX(GpuRandomX):
    """RandomX hashing on one OpenCL device.

    mode "light": dataset items are computed on the device from the 256 MiB cache (fast key
    changes, slow hashing); "fast": the 2080 MiB dataset is built on the device from the
    cache (rx_init_dataset), in chunks no larger than the device's max allocation; a CPU
    device (PoCL) gets the host library's dataset copied instead (build_on_device).
    ``bfactor``: each program in 2**bfactor launches (XMRig's thread field; see
    :class:`GpuRandomX`).
    ``worksize``: the work-group size (at most MAX_LANES: the group's VM registers are in its
    local memory).  ``executor="switch"`` runs the first kernels' executor (tests, benches).
    ``max_results``: the hits a launch keeps on the device (see :class:`GpuRandomX`).
    """

    def __init__(
        self,
        device: OclDevice | str | None = None,
        mode: str = "light",
        intensity: int = 8,
        worksize: int = 1,
        bfactor: int = 0,
        executor: str = "grouped",
        max_results: int = RESULT_CAPACITY,
    ) -> None:
        super().__init__(mode, intensity, bfactor, max_results)
        self.ck = compiled_kernels(device, executor)
        self.worksize = min(max(1, int(worksize)), MAX_LANES)
        ctx = self.ck.context
        mf = cl.mem_flags
        n = self.intensity
        self._state = cl.Buffer(ctx, mf.READ_WRITE, n * STATE_WORDS * 8)
        self._scratchpads = cl.Buffer(ctx, mf.READ_WRITE, n * SCRATCHPAD_STRIDE)
        self._programs = cl.Buffer(ctx, mf.READ_WRITE, n * PROGRAM_WORDS * 8)
        self._code = cl.Buffer(ctx, mf.READ_WRITE, n * CODE_WORDS * 8)
        self._hashes = cl.Buffer(ctx, mf.READ_WRITE, n * HASH_BYTES)
        self._results = cl.Buffer(ctx, mf.READ_WRITE, result_bytes(self.max_results))
        self._dummy = cl.Buffer(ctx, mf.READ_ONLY, 64)

    # -- GpuRandomX's primitives -------------------------------------------------------------
    def _to_device(self, host: Any) -> Any:
        buf = cl.Buffer(self.ck.context, cl.mem_flags.READ_ONLY, host.nbytes)
        cl.enqueue_copy(self.ck.queue, buf, host)
        return buf

    def _free(self, buf: Any) -> None:
        buf.release()

    def _finish_upload(self) -> None:
        self.ck.queue.finish()

    def _device_builds_faster(self) -> bool:
        """Not a CPU device (PoCL): the library on the same cores builds it several times
        faster (tools/bench_gpu.py --dataset-build), so it copies the host's."""
        return not self.ck.device_info.is_cpu

    @classmethod
    def builds_on(cls, device: OclDevice) -> bool:
        """What ``builds_on_device()`` says for an instance on ``device`` (the class's
        ``build_on_device`` over the device's kind), before one is made."""
        if cls.build_on_device is None:
            return not device.is_cpu
        return bool(cls.build_on_device)

    def _wait(self) -> None:
        self.ck.queue.finish()

    def _read(self, buf: Any, offset: int, size: int) -> bytes:
        out = np.empty(size, dtype=np.uint8)
        cl.enqueue_copy(self.ck.queue, out, buf, src_offset=offset)
        return out.tobytes()

    def _device_buffer(self, size: int) -> Any:
        return cl.Buffer(self.ck.context, cl.mem_flags.READ_WRITE, size)

    def _launch_dataset(self, count: int, *args: Any) -> None:
        """Under the device's lock: its kernels (and their arguments) are shared by threads."""
        lanes = min(DATASET_LANES, self.ck.device.max_work_group_size)
        with self.ck.lock:
            launch(self.ck, "rx_init_dataset", count, lanes, *args)

    def _dataset_chunk_items(self, items: int) -> int:
        per_chunk = min(self.ck.device_info.max_alloc, MAX_CHUNK_BYTES) // DATASET_ITEM_SIZE
        if -(-items // per_chunk) > MAX_DATASET_CHUNKS:
            raise RuntimeError("device max allocation too small for a 4-chunk dataset")
        return per_chunk

    def _hashing(self) -> AbstractContextManager[Any]:
        return self.ck.lock

    def _launch(self, name: str, count: int, *args: Any) -> None:
        launch(self.ck, name, count, self.worksize, *args)

    def _stage_inputs(self, data: bytes, meta: list[int]) -> tuple[Any, Any]:
        ctx, mf = self.ck.context, cl.mem_flags
        src = np.frombuffer(data, dtype=np.uint8)
        inputs = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=src)
        meta_buf = cl.Buffer(
            ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=np.array(meta, dtype=np.uint32)
        )
        return inputs, meta_buf

    def _read_hashes(self, count: int) -> bytes:
        out = np.empty(count * HASH_BYTES, dtype=np.uint8)
        cl.enqueue_copy(self.ck.queue, out, self._hashes)
        return out.tobytes()

    def _zero(self, buf: Any, size: int) -> None:
        cl.enqueue_fill_buffer(self.ck.queue, buf, np.uint32(0), 0, size)

    def close(self) -> None:
        buffers = (self._state, self._scratchpads, self._programs, self._code, self._hashes)
        for buf in (*buffers, self._results):
            buf.release()
        self._release_dataset()
        self.key = None
