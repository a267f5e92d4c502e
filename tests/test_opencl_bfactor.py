"""XMRig's bfactor on the OpenCL device (PoCL, light mode): each program in 2**bfactor launches
of rx_run_program_piece hashes as one launch of rx_run_program does, and as the CPU library
does."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.gpu_reference import LibraryReference
from tests.rx_vectors import VECTORS
from xminer.backends.gpu.layout import MAX_BFACTOR, PROGRAM_COUNT, PROGRAM_ITERATIONS

pytestmark = pytest.mark.opencl

BFACTORS = (0, 3)

OFFICIAL: dict[bytes, list[tuple[bytes, str]]] = {}
for _key, _data, _want in VECTORS:
    OFFICIAL.setdefault(_key, []).append((_data, _want))


@pytest.fixture
def split_rx(light_rx: Any) -> Any:
    """The session's light-mode host (kernels built once), its bfactor put back after."""
    saved = light_rx.bfactor
    yield light_rx
    light_rx.bfactor = saved


def _expected(key: bytes, inputs: list[bytes]) -> list[bytes]:
    ref = LibraryReference(key)
    try:
        return [ref.hash(x) for x in inputs]
    finally:
        ref.close()


def test_bfactor_clamped(opencl_kernels: Any) -> None:
    from xminer.backends.opencl.randomx import OpenCLRandomX

    for asked, kept in ((-1, 0), (0, 0), (3, 3), (MAX_BFACTOR, MAX_BFACTOR), (12, MAX_BFACTOR)):
        rx = OpenCLRandomX(mode="light", intensity=1, worksize=1, bfactor=asked)
        try:
            assert rx.bfactor == kept
        finally:
            rx.close()


@pytest.mark.parametrize("key", list(OFFICIAL))
def test_official_vectors_in_pieces(split_rx: Any, key: bytes) -> None:
    inputs = [data for data, _ in OFFICIAL[key]]
    expected = _expected(key, inputs)
    assert [h.hex() for h in expected] == [want for _, want in OFFICIAL[key]]
    split_rx.set_key(key)
    for bfactor in BFACTORS:
        split_rx.bfactor = bfactor
        assert split_rx.hash_inputs(inputs) == expected, bfactor


def test_random_inputs_in_pieces(split_rx: Any) -> None:
    rng = random.Random(7)
    key = rng.randbytes(32)
    inputs = [rng.randbytes(rng.randrange(0, 300)) for _ in range(4)]
    expected = _expected(key, inputs)
    split_rx.set_key(key)
    for bfactor in BFACTORS:
        split_rx.bfactor = bfactor
        assert split_rx.hash_inputs(inputs) == expected, bfactor


def test_max_bfactor_one_iteration_a_launch(opencl_kernels: Any) -> None:
    """MAX_BFACTOR: 2048 launches of one iteration a program, the hook after each."""
    from xminer.backends.opencl.randomx import OpenCLRandomX

    class CountingRandomX(OpenCLRandomX):
        launches = 0

        def _between_launches(self) -> None:
            self.launches += 1

    key, data = b"bfactor key", b"one iteration a launch"
    rx = CountingRandomX(mode="light", intensity=1, worksize=1, bfactor=MAX_BFACTOR)
    try:
        rx.set_key(key)
        assert rx.hash_inputs([data]) == _expected(key, [data])
        assert rx.launches == PROGRAM_COUNT * PROGRAM_ITERATIONS
    finally:
        rx.close()
