"""Kernel Blake2b (and the Blake2b-based generator on the host) against hashlib."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import numpy as np
import pytest

from xminer.randomx.superscalar import BlakeGenerator

pytestmark = pytest.mark.opencl


def device_blake2b(ck: Any, messages: list[bytes], outlen: int) -> list[bytes]:
    import pyopencl as cl

    from xminer.backends.opencl.randomx import launch

    data = b"".join(messages) or b"\0"
    meta, offset = [], 0
    for m in messages:
        meta += [offset, len(m)]
        offset += len(m)
    flags = cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR
    inputs = cl.Buffer(ck.context, flags, hostbuf=np.frombuffer(data, np.uint8))
    meta_buf = cl.Buffer(ck.context, flags, hostbuf=np.array(meta, np.uint32))
    out = np.zeros(8 * len(messages), np.uint64)
    out_buf = cl.Buffer(ck.context, cl.mem_flags.WRITE_ONLY, out.nbytes)
    launch(ck, "test_blake2b", len(messages), 1, inputs, meta_buf, np.uint32(outlen), out_buf)
    cl.enqueue_copy(ck.queue, out, out_buf)
    raw = out.tobytes()
    return [raw[64 * i : 64 * i + outlen] for i in range(len(messages))]


@pytest.mark.parametrize("outlen", [64, 32])
def test_blake2b_matches_hashlib(opencl_kernels: Any, outlen: int) -> None:
    rng = random.Random(outlen)
    lengths = [0, 1, 7, 8, 39, 43, 76, 127, 128, 129, 255, 256, 257, 300] + [
        rng.randrange(0, 400) for _ in range(50)
    ]
    messages = [rng.randbytes(n) for n in lengths]
    got = device_blake2b(opencl_kernels, messages, outlen)
    for msg, digest in zip(messages, got, strict=True):
        assert digest == hashlib.blake2b(msg, digest_size=outlen).digest(), len(msg)


def test_blake_generator_follows_spec() -> None:
    """Spec 3.5: state = Hash512(seed padded to 64 bytes), rehashed when bytes run out."""
    gen = BlakeGenerator(b"key")
    state = hashlib.blake2b(b"key".ljust(64, b"\0"), digest_size=64).digest()
    assert bytes(gen.byte() for _ in range(61)) == state[:61]
    # 4 bytes do not fit in the 3 left: the state is rehashed first
    state2 = hashlib.blake2b(state, digest_size=64).digest()
    assert gen.uint32() == int.from_bytes(state2[:4], "little")
