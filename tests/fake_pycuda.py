"""A stand-in for ``pycuda.driver`` that records what the CUDA host side does, for machines
without a GPU.

It keeps small device buffers as bytes (big ones, the cache and dataset, only by size),
checks every launch against the prepared argument format and the grid/block rule, and
emulates just enough of two kernels to make results: ``rx_init`` notes each hash's input
(nonce written at byte 39), ``rx_finish`` writes ``hasher(input)`` (the CPU library, set by
the test) into the hash buffer.  Everything in between is recorded, not computed, so this
proves the host's plumbing and launch parameters, never the kernels.
"""

from __future__ import annotations

import itertools
import struct
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KEEP_BYTES = 16 * 1024 * 1024  # device buffers up to this size keep their contents
_FORMAT = {"P": "Q", "I": "I", "Q": "Q", "i": "i"}


class Error(RuntimeError):
    pass


@dataclass
class Launch:
    name: str
    grid: tuple[int, ...]
    block: tuple[int, ...]
    args: tuple[Any, ...]


@dataclass
class FakeGpu:
    """The state of the fake device: memory, launches, the CPU hasher."""

    total_mem: int = 80 * 1024**3
    sm_count: int = 4
    capability: tuple[int, int] = (9, 0)
    hasher: Callable[[bytes], bytes] | None = None
    launches: list[Launch] = field(default_factory=list)
    memory: dict[int, DeviceAllocation] = field(default_factory=dict)
    inputs: dict[int, dict[int, bytes]] = field(default_factory=dict)  # state ptr -> i -> data
    context_depth: dict[int, int] = field(default_factory=dict)  # thread id -> pushes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def used(self) -> int:
        return sum(m.size for m in self.memory.values())

    def names(self) -> list[str]:
        return [launch.name for launch in self.launches]


GPU = FakeGpu()
_addresses = itertools.count(0x7F00_0000_0000, 0x1_0000_0000)


def _require_context() -> None:
    if GPU.context_depth.get(threading.get_ident(), 0) <= 0:
        raise Error("no current context on this thread")


class DeviceAllocation:
    def __init__(self, size: int) -> None:
        self.address = next(_addresses)
        self.size = size
        self.data = bytearray(size) if size <= KEEP_BYTES else None
        self.freed = False

    def __int__(self) -> int:
        return self.address

    def __index__(self) -> int:
        return self.address

    def free(self) -> None:
        _require_context()
        if self.freed:
            raise Error("double free")
        self.freed = True
        GPU.memory.pop(self.address, None)


def _buffer(pointer: Any) -> DeviceAllocation:
    found = GPU.memory.get(int(pointer))
    if found is None:
        raise Error(f"no device buffer at {int(pointer):#x}")
    return found


def init() -> None:
    pass


def get_driver_version() -> int:
    return 13000


def get_version() -> tuple[int, int, int]:
    return (13, 0, 0)


def mem_get_info() -> tuple[int, int]:
    _require_context()
    return GPU.total_mem - GPU.used(), GPU.total_mem


def mem_alloc(size: int) -> DeviceAllocation:
    _require_context()
    if GPU.used() + size > GPU.total_mem:
        raise Error("cuMemAlloc failed: out of memory")
    buf = DeviceAllocation(int(size))
    GPU.memory[buf.address] = buf
    return buf


def memcpy_htod(dest: Any, src: Any) -> None:
    _require_context()
    buf = _buffer(dest)
    data = memoryview(src).cast("B")
    if data.nbytes > buf.size:
        raise Error("memcpy_htod past the end of the buffer")
    if buf.data is not None:
        buf.data[: data.nbytes] = data


def memcpy_htod_async(dest: Any, src: Any, stream: Any = None) -> None:
    memcpy_htod(dest, src)


def memcpy_dtoh(dest: Any, src: Any) -> None:
    _require_context()
    buf = _buffer(src)
    out = memoryview(dest).cast("B")
    if out.nbytes > buf.size or buf.data is None:
        raise Error("memcpy_dtoh past the end of the buffer")
    out[:] = buf.data[: out.nbytes]


def memcpy_dtoh_async(dest: Any, src: Any, stream: Any = None) -> None:
    memcpy_dtoh(dest, src)


class _HostAllocation(np.ndarray):
    def free(self) -> None:
        pass


def pagelocked_empty(shape: Any, dtype: Any) -> np.ndarray:
    owner = _HostAllocation(shape=shape, dtype=dtype)
    return owner.view(np.ndarray)


class Stream:
    def __init__(self, flags: int = 0) -> None:
        _require_context()

    def synchronize(self) -> None:
        _require_context()


class Context:
    def push(self) -> None:
        key = threading.get_ident()
        GPU.context_depth[key] = GPU.context_depth.get(key, 0) + 1

    @staticmethod
    def pop() -> None:
        key = threading.get_ident()
        if GPU.context_depth.get(key, 0) <= 0:
            raise Error("context::pop: cannot pop non-current context")
        GPU.context_depth[key] -= 1

    def detach(self) -> None:
        Context.pop()


class Device:
    def __init__(self, index: int) -> None:
        if index != 0:
            raise Error("invalid device")

    @staticmethod
    def count() -> int:
        return 1

    def make_context(self, flags: int = 0) -> Context:
        ctx = Context()
        ctx.push()
        return ctx

    def name(self) -> str:
        return "Fake GPU"

    def compute_capability(self) -> tuple[int, int]:
        return GPU.capability

    def total_memory(self) -> int:
        return GPU.total_mem

    def pci_bus_id(self) -> str:
        return "0000:00:00.0"

    def get_attribute(self, attribute: str) -> int:
        return {"MULTIPROCESSOR_COUNT": GPU.sm_count}.get(attribute, 1000)


device_attribute = types.SimpleNamespace(
    MULTIPROCESSOR_COUNT="MULTIPROCESSOR_COUNT",
    CLOCK_RATE="CLOCK_RATE",
    MEMORY_CLOCK_RATE="MEMORY_CLOCK_RATE",
)
function_attribute = types.SimpleNamespace(MAX_THREADS_PER_BLOCK="MAX_THREADS_PER_BLOCK")
ctx_flags = types.SimpleNamespace(SCHED_BLOCKING_SYNC=4)


class Function:
    def __init__(self, name: str) -> None:
        self.name = name
        self.arg_format: str | None = None

    def prepare(self, arg_format: str) -> Function:
        self.arg_format = arg_format
        return self

    def get_attribute(self, attribute: str) -> int:
        return 256

    def prepared_async_call(self, grid: Any, block: Any, stream: Any, *args: Any) -> None:
        _require_context()
        if self.arg_format is None:
            raise Error("launch of an unprepared function")
        if len(args) != len(self.arg_format):
            raise Error(f"{self.name}: {len(args)} arguments for format {self.arg_format}")
        for kind, value in zip(self.arg_format, args, strict=True):
            if kind == "I" and not isinstance(value, np.uint32):
                raise Error(f"{self.name}: u32 argument given as {type(value).__name__}")
            struct.pack("<" + _FORMAT[kind], int(value))  # in range for its type
            if kind == "P":
                _buffer(value)  # a live buffer
        count = int(args[-1])
        threads = int(block[0]) * int(grid[0])
        if threads < count or threads - int(block[0]) >= count:
            raise Error(f"{self.name}: grid {grid} x block {block} for {count} items")
        GPU.launches.append(Launch(self.name, tuple(grid), tuple(block), tuple(args)))
        emulate = getattr(self, "_" + self.name, None)
        if emulate is not None:
            emulate(*args)

    @staticmethod
    def _rx_init(inputs: Any, meta: Any, stride: Any, with_nonce: Any, nonce: Any,
                 state: Any, count: Any) -> None:  # fmt: skip
        data = _buffer(inputs).data
        words = np.frombuffer(bytes(_buffer(meta).data), dtype=np.uint32)
        assert data is not None
        table = GPU.inputs.setdefault(int(state), {})
        for i in range(int(count)):
            offset, length = (int(w) for w in words[2 * i * int(stride) : 2 * i * int(stride) + 2])
            item = bytes(data[offset : offset + length])
            if with_nonce:
                value = (int(nonce) + i) & 0xFFFFFFFF
                item = item[:39] + value.to_bytes(4, "little") + item[43:]
            table[i] = item

    @staticmethod
    def _rx_finish(state: Any, scratchpads: Any, hashes: Any, count: Any) -> None:
        assert GPU.hasher is not None, "set fake_pycuda.GPU.hasher"
        out = _buffer(hashes).data
        assert out is not None
        table = GPU.inputs[int(state)]
        for i in range(int(count)):
            out[32 * i : 32 * i + 32] = GPU.hasher(table[i])


class Module:
    def get_function(self, name: str) -> Function:
        return Function(name)


def module_from_buffer(image: bytes, options: Any = None, message_handler: Any = None) -> Module:
    _require_context()
    return Module()


def modules() -> dict[str, types.ModuleType]:
    """``pycuda`` and ``pycuda.driver`` for sys.modules."""
    driver = types.ModuleType("pycuda.driver")
    for name, value in globals().items():
        if not name.startswith("__"):
            setattr(driver, name, value)
    package = types.ModuleType("pycuda")
    package.VERSION_TEXT = "fake"  # type: ignore[attr-defined]
    package.driver = driver  # type: ignore[attr-defined]
    return {"pycuda": package, "pycuda.driver": driver}
