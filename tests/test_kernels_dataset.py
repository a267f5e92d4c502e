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
