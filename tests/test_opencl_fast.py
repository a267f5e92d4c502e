"""Fast mode: the library-built 2080 MiB dataset uploaded in chunks (slow: builds it once)."""

from __future__ import annotations

from typing import Any

import pytest

from xminer.randomx import (
    VM,
    Cache,
    Dataset,
    Flags,
    Scanner,
    dataset_item_count,
    recommended_flags,
)

pytestmark = [pytest.mark.opencl, pytest.mark.slow]


def test_fast_mode_matches_library(opencl_kernels: Any) -> None:
    from xminer.backends.opencl.randomx import OpenCLRandomX, _init_dataset_threaded

    key, blob, count = bytes(32), bytes(112), 8
    flags = recommended_flags() & ~Flags.LARGE_PAGES
    cache = Cache(flags)
    cache.init(key)
    dataset = Dataset(flags)
    rx = None
    try:
        _init_dataset_threaded(dataset, cache, dataset_item_count())
        rx = OpenCLRandomX(mode="fast", intensity=count)
        rx.set_key(key, cache, dataset)
        assert len(rx._chunks) >= 3  # split below the device's max allocation
        hashes, tail_xor, _ = rx.hash_batch(blob, 0, count, 0)
        vm = VM(flags, cache, dataset)
        try:
            scanner = Scanner(vm)
            scanner.set_blob(blob)
            expected = scanner.scan(0, count, 0)
        finally:
            vm.destroy()
        assert (hashes, tail_xor) == (count, expected.tail_xor)
    finally:
        if rx is not None:
            rx.close()
        dataset.release()
        cache.release()
