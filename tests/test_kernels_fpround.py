"""Software rounding emulation (kernels/fpround.cl) against the host FPU in each mode.

For each operation and RandomX rounding mode, >= 10^5 operand pairs: random bit patterns
(all exponents, subnormals, infinities, NaNs), RandomX-like register values, and edge values
(signed zeros, subnormal/normal boundaries, DBL_MAX, overflow and underflow cases).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from tests.rxref import host_rounding

pytestmark = pytest.mark.opencl

COUNT = 100_000
LAUNCH = 50_000  # stays below PoCL's 65536 "small grid" limit (no extra code generation)
OPS = {"add": 0, "sub": 1, "mul": 2, "div": 3, "sqrt": 4}
MODES = {"nearest": 0, "down": 1, "up": 2, "zero": 3}

EDGES = np.array(
    [
        0.0, -0.0, 5e-324, -5e-324, 2.2250738585072009e-308, 2.2250738585072014e-308,
        -2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
        np.inf, -np.inf, 1.0, -1.0, 1.0000000000000002, 0.9999999999999999, 2.0, 0.5, 3.0,
        1e-300, 1e300, -1e-300, 2.0**-1022, 2.0**-1074 * 3, 2.0**1023, 2.0**-537, 2.0**512,
        1.5, 0.1, 1 / 3, 4294967295.0, -2147483648.0, 3.0e14, float.fromhex('0x1.fffffffffffffp-1'),
    ]
)  # fmt: skip


def operands(op: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_edge = len(EDGES) ** 2
    pairs = np.array(list(itertools.product(EDGES, EDGES))).T
    n_bits = (COUNT - n_edge) // 2
    n_rx = COUNT - n_edge - n_bits
    bits = rng.integers(0, 2**64, size=(2, n_bits), dtype=np.uint64).view(np.float64)
    # RandomX-like: a in [1, 2^32), e positive with moderate exponents, f integers
    rx_a = rng.uniform(1, 2**32, size=n_rx) * rng.choice([1, -1], size=n_rx)
    rx_b = np.ldexp(rng.uniform(1, 2, size=n_rx), rng.integers(-300, 300, size=n_rx))
    if op == "sqrt":
        rx_a = np.abs(rx_a)
    a = np.concatenate([pairs[0], bits[0], rx_a])
    b = np.concatenate([pairs[1], bits[1], rx_b])
    return a, b


def host(op: str, mode: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"), host_rounding(mode):
        if op == "add":
            return a + b
        if op == "sub":
            return a - b
        if op == "mul":
            return a * b
        if op == "div":
            return a / b
        return np.sqrt(a)


def device(ck: Any, op: str, mode: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import pyopencl as cl

    from xminer.backends.opencl.randomx import launch

    out = np.empty_like(a)
    mf = cl.mem_flags
    for at in range(0, len(a), LAUNCH):
        part_a, part_b = a[at : at + LAUNCH].copy(), b[at : at + LAUNCH].copy()
        ba = cl.Buffer(ck.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=part_a)
        bb = cl.Buffer(ck.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=part_b)
        bo = cl.Buffer(ck.context, mf.WRITE_ONLY, part_a.nbytes)
        launch(ck, "test_fp_round", len(part_a), 1, ba, bb, bo, np.uint32(OPS[op]), np.uint32(mode))
        result = np.empty_like(part_a)
        cl.enqueue_copy(ck.queue, result, bo)
        out[at : at + LAUNCH] = result
    return out


def test_host_modes_differ() -> None:
    """The host reference really switches modes (1/3 rounds differently down and up)."""
    one, three = np.array([1.0]), np.array([3.0])
    assert host("div", 1, one, three)[0] < host("div", 2, one, three)[0]


@pytest.mark.parametrize("mode", list(MODES.values()))
def test_host_keeps_subnormals(mode: int) -> None:
    """The host reference runs without flush-to-zero / denormals-are-zero: no earlier code in
    this thread (librandomx's batch hashing once did) left them on in the SSE state."""
    tiny, least = np.array([2.0**-537]), np.array([5e-324])
    # bit patterns: with denormals-are-zero on, 0.0 == 5e-324 would hold
    assert host("mul", mode, tiny, tiny).view(np.uint64)[0] == 1  # 2^-1074
    assert host("add", mode, least, least).view(np.uint64)[0] == 2


@pytest.mark.parametrize("mode_name", list(MODES))
@pytest.mark.parametrize("op", list(OPS))
def test_rounding_matches_host_fpu(opencl_kernels: Any, op: str, mode_name: str) -> None:
    mode = MODES[mode_name]
    a, b = operands(op, seed=OPS[op] * 10 + mode)
    expected = host(op, mode, a, b)
    got = device(opencl_kernels, op, mode, a, b)
    same_bits = expected.view(np.uint64) == got.view(np.uint64)
    both_nan = np.isnan(expected) & np.isnan(got)
    bad = np.flatnonzero(~(same_bits | both_nan))
    assert len(a) >= COUNT
    assert bad.size == 0, [
        (a[i].hex(), b[i].hex(), expected[i].hex(), got[i].hex()) for i in bad[:5]
    ]
