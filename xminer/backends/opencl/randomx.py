"""RandomX on an OpenCL device: program build/cache, key setup (light or fast), batches.

Needs pyopencl and numpy (import this module only after ``opencl_status()`` says OK).
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xminer.backends.gpu_common import (
    DECODED_WORDS,
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
from xminer.backends.kernel_source import KERNEL_NAMES, kernel_source, source_digest
from xminer.backends.opencl.devices import DeviceInfo, _import_cl, list_devices
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

    device_info: DeviceInfo
    device: Any
    context: Any
    queue: Any
    program: Any
    kernels: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def kernel(self, name: str) -> Any:
        return self.kernels[name]


_compiled: dict[str, CompiledKernels] = {}
_compiled_lock = threading.Lock()


def resolve_device(device: DeviceInfo | str | None) -> DeviceInfo:
    devices = list_devices()
    if not devices:
        raise RuntimeError("no OpenCL device")
    if device is None:
        return devices[0]
    key = device.key if isinstance(device, DeviceInfo) else device
    for d in devices:
        if d.key == key:
            return d
    raise ValueError(f"no OpenCL device {key!r}")


def compiled_kernels(device: DeviceInfo | str | None = None) -> CompiledKernels:
    """Build the kernels once per device and process."""
    info = resolve_device(device)
    with _compiled_lock:
        if info.key not in _compiled:
            dev = cl.get_platforms()[info.platform_index].get_devices()[info.device_index]
            ctx = cl.Context([dev])
            program = _build(ctx, dev, kernel_source(), [])
            kernels = {name: cl.Kernel(program, name) for name in KERNEL_NAMES}
            _compiled[info.key] = CompiledKernels(
                info, dev, ctx, cl.CommandQueue(ctx), program, kernels
            )
        return _compiled[info.key]


def launch(ck: CompiledKernels, name: str, count: int, worksize: int, *args: Any) -> None:
    """Run kernel name on count work-items (global size rounded up to the work-group size)."""
    global_size = -(-count // worksize) * worksize
    kernel = ck.kernel(name)
    kernel.set_args(*args, np.uint32(count))
    cl.enqueue_nd_range_kernel(ck.queue, kernel, (global_size,), (worksize,))


class OpenCLRandomX:
    """RandomX hashing on one OpenCL device.

    mode "light": dataset items are computed on the device from the 256 MiB cache (fast key
    changes, slow hashing); "fast": the 2080 MiB dataset is built on the host by librandomx
    and uploaded in chunks no larger than the device's max allocation.
    """

    def __init__(
        self,
        device: DeviceInfo | str | None = None,
        mode: str = "light",
        intensity: int = 8,
        worksize: int = 1,
    ) -> None:
        if mode not in ("light", "fast"):
            raise ValueError(f"mode must be 'light' or 'fast', not {mode!r}")
        self.ck = compiled_kernels(device)
        self.mode = mode
        self.intensity = max(1, int(intensity))
        self.worksize = max(1, int(worksize))
        self.key: bytes | None = None
        ctx = self.ck.context
        mf = cl.mem_flags
        n = self.intensity
        self._state = cl.Buffer(ctx, mf.READ_WRITE, n * STATE_WORDS * 8)
        self._scratchpads = cl.Buffer(ctx, mf.READ_WRITE, n * SCRATCHPAD_BYTES)
        self._programs = cl.Buffer(ctx, mf.READ_WRITE, n * PROGRAM_WORDS * 8)
        self._decoded = cl.Buffer(ctx, mf.READ_WRITE, n * DECODED_WORDS * 4)
        self._hashes = cl.Buffer(ctx, mf.READ_WRITE, n * 32)
        self._dummy = cl.Buffer(ctx, mf.READ_ONLY, 64)
        self._chunks: list[Any] = []
        self._chunk_items = 1
        self._ss_programs = self._dummy

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
            if self.mode == "light":
                self._upload_light(cache, key)
            else:
                self._upload_fast(cache, dataset, flags)
        finally:
            if own_cache:
                cache.release()
        self.key = key

    def _upload(self, address: int, size: int) -> Any:
        host = np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(address))
        buf = cl.Buffer(self.ck.context, cl.mem_flags.READ_ONLY, size)
        cl.enqueue_copy(self.ck.queue, buf, host)
        return buf

    def _release_dataset(self) -> None:
        for buf in self._chunks:
            buf.release()
        self._chunks = []

    def _upload_light(self, cache: Cache, key: bytes) -> None:
        self._release_dataset()
        programs = superscalar.pack_programs(superscalar.generate_programs(key))
        ss = np.array(programs, dtype=np.uint64)
        self._chunks = [self._upload(cache_memory_address(cache), CACHE_SIZE)]
        self._ss_programs = cl.Buffer(
            self.ck.context, cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR, hostbuf=ss
        )
        self.ck.queue.finish()

    def _upload_fast(self, cache: Cache, dataset: Dataset | None, flags: Flags) -> None:
        items = dataset_item_count()
        per_chunk = min(self.ck.device_info.max_alloc, MAX_CHUNK_BYTES) // DATASET_ITEM_SIZE
        if -(-items // per_chunk) > MAX_DATASET_CHUNKS:
            raise RuntimeError("device max allocation too small for a 4-chunk dataset")
        self._release_dataset()
        own_dataset = dataset is None
        if dataset is None:
            dataset = Dataset(flags)
        try:
            if own_dataset:
                init_dataset_threaded(dataset, cache, items)
            base = dataset.memory()
            for start in range(0, items, per_chunk):
                count = min(per_chunk, items - start)
                self._chunks.append(
                    self._upload(base + start * DATASET_ITEM_SIZE, count * DATASET_ITEM_SIZE)
                )
            self.ck.queue.finish()
        finally:
            if own_dataset:
                dataset.release()
        self._chunk_items = per_chunk
        self._ss_programs = self._dummy

    # -- hashing -----------------------------------------------------------------------------
    def _run(self, count: int) -> None:
        """The hash pipeline for count (<= intensity) inputs already hashed by rx_init."""
        ck, ws = self.ck, self.worksize
        chunks = (self._chunks + [self._dummy] * MAX_DATASET_CHUNKS)[:MAX_DATASET_CHUNKS]
        launch(ck, "rx_fill_scratchpad", count, ws, self._state, self._scratchpads)
        for p in range(PROGRAM_COUNT):
            launch(
                ck, "rx_run_program", count, ws,
                self._state, self._scratchpads, self._programs, self._decoded,
                *chunks, self._ss_programs, np.uint32(self._chunk_items),
                np.uint32(self.mode == "light"), np.uint32(p == PROGRAM_COUNT - 1),
            )  # fmt: skip
        launch(ck, "rx_finish", count, ws, self._state, self._scratchpads, self._hashes)

    def _read_hashes(self, count: int) -> list[bytes]:
        out = np.empty(count * 32, dtype=np.uint8)
        cl.enqueue_copy(self.ck.queue, out, self._hashes)
        raw = out.tobytes()
        return [raw[32 * i : 32 * i + 32] for i in range(count)]

    def _require_key(self) -> None:
        if self.key is None:
            raise RuntimeError("set_key() first")

    def hash_inputs(self, inputs: Sequence[bytes]) -> list[bytes]:
        """RandomX hashes of arbitrary inputs under the current key."""
        self._require_key()
        results: list[bytes] = []
        with self.ck.lock:
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
        with self.ck.lock:
            for at in range(0, count, self.intensity):
                n = min(self.intensity, count - at)
                nonce = (start_nonce + at) & 0xFFFFFFFF
                results += self._hash_prepared(bytes(blob), [0, len(blob)], 0, 1, nonce, n)
        return results

    def _hash_prepared(
        self, data: bytes, meta: list[int], meta_stride: int, with_nonce: int, nonce: int, n: int
    ) -> list[bytes]:
        ctx, mf = self.ck.context, cl.mem_flags
        src = np.frombuffer(data, dtype=np.uint8)
        inputs = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=src)
        meta_buf = cl.Buffer(
            ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=np.array(meta, dtype=np.uint32)
        )
        launch(
            self.ck, "rx_init", n, self.worksize, inputs, meta_buf, np.uint32(meta_stride),
            np.uint32(with_nonce), np.uint32(nonce), self._state,
        )  # fmt: skip
        self._run(n)
        return self._read_hashes(n)

    def hash_batch(
        self, blob: bytes, start_nonce: int, count: int, target64: int
    ) -> tuple[int, int, list[tuple[int, bytes]]]:
        """Scan count nonces: (hashes, XOR of tails, shares as (nonce, hash) with tail < target)."""
        result = self.scan(blob, start_nonce, count, target64)
        return result.hashes, result.tail_xor, result.shares

    def scan(self, blob: bytes, start_nonce: int, count: int, target64: int) -> BatchResult:
        return scan_digests(self.hash_nonces(blob, start_nonce, count), start_nonce, target64)

    def close(self) -> None:
        for buf in (self._state, self._scratchpads, self._programs, self._decoded, self._hashes):
            buf.release()
        self._release_dataset()
        self.key = None


_init_dataset_threaded = init_dataset_threaded  # the name tools and tests import
