"""Light-mode dataset items (SuperscalarHash on the device) against randomx_init_dataset."""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
import pytest

from xminer.randomx import Cache, Dataset, Flags, dataset_item_count, recommended_flags
from xminer.randomx import superscalar as ss
from xminer.randomx.cachemem import cache_memory, cache_memory_address

KEY = b"dataset test key"
FLAGS = recommended_flags() & ~Flags.LARGE_PAGES


@pytest.fixture(scope="module")
def cache() -> Any:
    c = Cache(FLAGS)
    c.init(KEY)
    yield c
    c.release()


@pytest.fixture(scope="module")
def dataset() -> Any:
    d = Dataset(FLAGS)  # lazily allocated: only touched items cost memory
    yield d
    d.release()


def library_items(cache: Cache, dataset: Dataset, start: int, count: int) -> bytes:
    dataset.init_items(cache, start, count)
    return ctypes.string_at(dataset.memory() + 64 * start, 64 * count)


ITEM_STARTS = [0, 1, 4_194_303, 4_194_304, 17_000_000, dataset_item_count() - 8]


def test_host_superscalar_matches_library(cache: Cache, dataset: Dataset) -> None:
    programs = ss.generate_programs(KEY)
    mem = cache_memory(cache)
    assert all(len(p.instructions) <= ss.SUPERSCALAR_MAX_SIZE for p in programs)
    for start in ITEM_STARTS[:4]:
        assert ss.dataset_item(mem, programs, start) == library_items(cache, dataset, start, 1)


@pytest.mark.opencl
def test_device_items_match_library(opencl_kernels: Any, cache: Cache, dataset: Dataset) -> None:
    import pyopencl as cl

    from xminer.backends.opencl.randomx import launch

    ck = opencl_kernels
    mf = cl.mem_flags
    host_cache = np.ctypeslib.as_array(
        (ctypes.c_uint8 * (256 << 20)).from_address(cache_memory_address(cache))
    )
    cache_buf = cl.Buffer(ck.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=host_cache)
    words = np.array(ss.pack_programs(ss.generate_programs(KEY)), np.uint64)
    prog_buf = cl.Buffer(ck.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=words)
    count = 8
    out_buf = cl.Buffer(ck.context, mf.WRITE_ONLY, 64 * count)
    for start in ITEM_STARTS:
        launch(ck, "test_dataset_items", count, 1, cache_buf, prog_buf, np.uint64(start), out_buf)
        out = np.empty(64 * count, np.uint8)
        cl.enqueue_copy(ck.queue, out, out_buf)
        assert out.tobytes() == library_items(cache, dataset, start, count), start
    cache_buf.release()


CHUNK = 1024  # items a chunk in the build tests: many chunk edges in a small range
#: (first item, count) built on the device: the first items, across a small chunk's edges,
#: across the library's 4 Mi-item boundary, a random range, the last items
BUILD_RANGES = [(0, 40), (CHUNK - 20, 45), (4_194_304 - 7, 14), (23_456_789, 33)]


def device_build(rx: Any, cache: Cache, first: int, count: int, **kw: Any) -> bytes | None:
    """Items first.. built by GpuRandomX.init_dataset_items into small chunks, read back."""
    import pyopencl as cl

    rx._upload_light(cache, KEY)  # the cache and the key's programs on the device
    cache_buf = rx._chunks[0]
    low, high = first // CHUNK, (first + count - 1) // CHUNK
    chunks = {c: rx._device_buffer(CHUNK * 64) for c in range(low, high + 1)}
    try:
        if not rx.init_dataset_items(cache_buf, chunks, CHUNK, first, count, **kw):
            return None
        out = bytearray()
        for c, buf in chunks.items():
            host = np.empty(CHUNK * 64, np.uint8)
            cl.enqueue_copy(rx.ck.queue, host, buf)
            lo, hi = max(first, c * CHUNK), min(first + count, (c + 1) * CHUNK)
            out += host[(lo - c * CHUNK) * 64 : (hi - c * CHUNK) * 64].tobytes()
        return bytes(out)
    finally:
        for buf in chunks.values():
            buf.release()


@pytest.fixture
def fast_rx(opencl_kernels: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from xminer.backends.gpu import host
    from xminer.backends.opencl.randomx import OpenCLRandomX

    monkeypatch.setattr(host, "DATASET_FIRST_LAUNCH", 8)  # several launches a range
    rx = OpenCLRandomX(mode="fast", intensity=1)
    rx.build_on_device = True  # PoCL, a CPU device, would copy the library's
    yield rx
    rx.close()


@pytest.mark.opencl
@pytest.mark.parametrize(("first", "count"), [*BUILD_RANGES, (dataset_item_count() - 70, 70)])
def test_device_build_matches_library(
    fast_rx: Any, cache: Cache, dataset: Dataset, first: int, count: int
) -> None:
    """rx_init_dataset (fast mode's on-device build) writes the library's items, launch and
    chunk edges included."""
    built = device_build(fast_rx, cache, first, count)
    assert built == library_items(cache, dataset, first, count)


@pytest.mark.opencl
def test_device_build_stops_between_launches(fast_rx: Any, cache: Cache) -> None:
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2  # after two launches

    assert device_build(fast_rx, cache, 0, 1000, stop=stop) is None
    assert len(asked) == 3


@pytest.mark.opencl
def test_set_key_fast_builds_on_the_device(
    fast_rx: Any, cache: Cache, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """set_key in fast mode: rx_init_dataset over every item into chunks of
    _dataset_chunk_items, no host dataset needed (a dataset of 3000 items here: a full one is
    34 M items, a quarter of an hour on PoCL)."""
    from xminer.backends.gpu import host

    items = 3000
    monkeypatch.setattr(host, "dataset_item_count", lambda: items)
    monkeypatch.setattr(fast_rx, "_dataset_chunk_items", lambda n: CHUNK)
    assert fast_rx.set_key(KEY, cache)
    assert fast_rx.key == KEY and fast_rx.dataset_origin == "device"
    assert len(fast_rx._chunks) == 3 and fast_rx._chunk_items == CHUNK
    assert fast_rx.dataset_items(0, items) == library_items(cache, dataset, 0, items)
    assert fast_rx.dataset_items(CHUNK - 3, 6) == library_items(cache, dataset, CHUNK - 3, 6)


@pytest.mark.opencl
def test_cpu_device_copies_the_library_dataset(fast_rx: Any) -> None:
    """Unless told, a CPU device (PoCL) takes the host library's dataset: the library builds it
    on the same cores several times faster (tools/bench_gpu.py --dataset-build)."""
    assert fast_rx.ck.device_info.is_cpu
    assert fast_rx.builds_on_device()
    fast_rx.build_on_device = None
    assert not fast_rx.builds_on_device()
    fast_rx.dataset_host = True  # a mapped host dataset is never built on the device
    fast_rx.build_on_device = True
    assert not fast_rx.builds_on_device()


@pytest.mark.opencl
def test_set_key_fast_stopped(fast_rx: Any, cache: Cache, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stop during the device's build: set_key says so, the key stays unset, nothing is kept;
    the next set_key builds it."""
    from xminer.backends.gpu import host

    monkeypatch.setattr(host, "dataset_item_count", lambda: 200)
    assert not fast_rx.set_key(KEY, cache, stop=lambda: True)
    assert fast_rx.key is None and fast_rx._chunks == [] and fast_rx._ss_programs is None
    assert fast_rx.set_key(KEY, cache)
    assert fast_rx.key == KEY and len(fast_rx._chunks) == 1
