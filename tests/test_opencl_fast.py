"""Fast mode's hashes over a dataset in chunks: the library-built 2080 MiB dataset uploaded
(slow: builds it once).  The device's own build (the default) is checked item by item in
test_kernels_dataset.py: a full one takes a quarter of an hour on PoCL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gpu_reference import LibraryReference

pytestmark = [pytest.mark.opencl, pytest.mark.slow]


def test_fast_mode_matches_library(opencl_kernels: Any) -> None:
    from xminer.backends.opencl.randomx import OpenCLRandomX

    key, blob, count = bytes(32), bytes(112), 8
    ref = LibraryReference(key, fast=True)
    rx = None
    try:
        rx = OpenCLRandomX(mode="fast", intensity=count)
        rx.build_on_device = False  # the library's dataset, as a card would read it
        assert rx.set_key(key, ref.cache, ref.dataset)
        assert rx.dataset_origin == "copy"
        assert len(rx._chunks) >= 3  # split below the device's max allocation
        hashes, tail_xor, _ = rx.hash_batch(blob, 0, count, 0)
        expected = ref.scan(blob, 0, count, 0)
        assert (hashes, tail_xor) == (count, expected.tail_xor)
    finally:
        if rx is not None:
            rx.close()
        ref.close()
