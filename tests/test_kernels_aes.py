"""Kernel AES generators and hash against the byte-wise Python reference (tests/rxref.py)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from tests import rxref

pytestmark = pytest.mark.opencl


def _buf(ck: Any, data: bytes) -> Any:
    import pyopencl as cl

    return cl.Buffer(
        ck.context,
        cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR,
        hostbuf=np.frombuffer(data, np.uint8).copy(),
    )


def _read(ck: Any, buf: Any, size: int) -> bytes:
    import pyopencl as cl

    out = np.empty(size, np.uint8)
    cl.enqueue_copy(ck.queue, out, buf)
    return out.tobytes()


def test_fips197_round_reference() -> None:
    """The Python reference round reproduces AES-128 (FIPS-197 appendix C.1) when chained."""
    key = bytes(range(16))
    rcon, words = 1, [key[4 * i : 4 * i + 4] for i in range(4)]
    for i in range(4, 44):
        w = words[i - 1]
        if i % 4 == 0:
            sub = [rxref.SBOX[x] for x in w]
            w = bytes([sub[1] ^ rcon, sub[2], sub[3], sub[0]])
            rcon = rxref.gf_mul(rcon, 2)
        words.append(bytes(a ^ b for a, b in zip(words[i - 4], w, strict=True)))
    round_keys = [b"".join(words[4 * r : 4 * r + 4]) for r in range(11)]
    plain = bytes.fromhex("00112233445566778899aabbccddeeff")
    state = bytes(a ^ b for a, b in zip(plain, round_keys[0], strict=True))
    for r in range(1, 10):
        state = rxref.aes_enc_round(state, round_keys[r])
    last = [rxref.SBOX[state[4 * ((c + r) % 4) + r]] for c in range(4) for r in range(4)]
    cipher = bytes(a ^ b for a, b in zip(last, round_keys[10], strict=True))
    assert cipher.hex() == "69c4e0d86a7b0430d8cdb78070b4c55a"


@pytest.mark.parametrize("rounds4", [0, 1])
def test_aes_generators(opencl_kernels: Any, rounds4: int) -> None:
    from xminer.backends.opencl.randomx import launch

    ck = opencl_kernels
    rng = random.Random(rounds4)
    seeds = [rng.randbytes(64) for _ in range(6)]
    nblocks = 5
    seed_buf = _buf(ck, b"".join(seeds))
    out_buf = _buf(ck, bytes(64 * nblocks * len(seeds)))
    args = (seed_buf, out_buf, np.uint32(nblocks), np.uint32(rounds4))
    launch(ck, "test_aes_gen", len(seeds), 1, *args)
    out = _read(ck, out_buf, 64 * nblocks * len(seeds))
    states = _read(ck, seed_buf, 64 * len(seeds))
    ref = rxref.aes_gen4r if rounds4 else rxref.aes_gen1r
    for i, seed in enumerate(seeds):
        expected, final = ref(seed, nblocks)
        assert out[64 * nblocks * i : 64 * nblocks * (i + 1)] == expected
        assert states[64 * i : 64 * i + 64] == final


def test_aes_hash1r(opencl_kernels: Any) -> None:
    from xminer.backends.opencl.randomx import launch

    ck = opencl_kernels
    rng = random.Random(7)
    nblocks, count = 9, 4
    data = rng.randbytes(64 * nblocks * count)
    out_buf = _buf(ck, bytes(64 * count))
    launch(ck, "test_aes_hash", count, 1, _buf(ck, data), np.uint32(nblocks), out_buf)
    out = _read(ck, out_buf, 64 * count)
    for i in range(count):
        block = data[64 * nblocks * i : 64 * nblocks * (i + 1)]
        assert out[64 * i : 64 * i + 64] == rxref.aes_hash1r(block)
