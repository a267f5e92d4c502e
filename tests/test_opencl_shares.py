"""Shares found on the device (rx_finish): the hits and the tails' XOR that come back from a
scan launch against the library's hashes of the same nonces (PoCL, light mode)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.gpu_reference import LibraryReference
from xminer.backends.gpu.layout import HASH_BYTES, HIT_BYTES, RESULT_HEADER_BYTES
from xminer.backends.gpu.result import hit_limit
from xminer.randomx.scan import hash_tail

pytestmark = pytest.mark.opencl

KEY = b"device shares"
BLOB = bytes(range(76))
START = 0xFFFFFFFA  # the nonces wrap at 2^32 within the launch
COUNT = 11  # a full work-group of 8 hashes and a partial one of 3
WORKSIZE = 8
CAPACITY = 4  # hits a launch keeps: a target that 5 of the 11 hashes meet overflows


@dataclass
class Launch:
    """One device with COUNT nonces hashed and the library's hashes of them."""

    rx: Any
    digests: list[bytes]  # the library's, nonce START + i

    @property
    def tails(self) -> list[int]:
        return [hash_tail(d) for d in self.digests]

    def nonce(self, i: int) -> int:
        return (START + i) & 0xFFFFFFFF

    def expected(self, target64: int) -> list[tuple[int, bytes]]:
        return [(self.nonce(i), d) for i, d in enumerate(self.digests) if hash_tail(d) < target64]

    def xor(self) -> int:
        out = 0
        for tail in self.tails:
            out ^= tail
        return out


@pytest.fixture(scope="module")
def launch(opencl_kernels: Any) -> Iterator[Launch]:
    from xminer.backends.opencl.randomx import OpenCLRandomX

    rx = OpenCLRandomX(mode="light", intensity=COUNT, worksize=WORKSIZE, max_results=CAPACITY)
    ref = LibraryReference(KEY)
    try:
        rx.set_key(KEY)
        digests = [
            ref.hash(BLOB[:39] + ((START + i) & 0xFFFFFFFF).to_bytes(4, "little") + BLOB[43:])
            for i in range(COUNT)
        ]
        assert rx.hash_nonces(BLOB, START, COUNT) == digests  # the state rx_finish rereads
        yield Launch(rx, digests)
    finally:
        ref.close()
        rx.close()


def finish_again(launch: Launch, target64: int) -> Any:
    """rx_finish relaunched over the state and scratchpads of the COUNT hashes (it rewrites
    the same hashes, so every target costs one launch instead of a whole batch on PoCL), then
    the results read as scan reads them."""
    rx = launch.rx
    with rx._hashing():
        rx._finish(COUNT, hit_limit(target64))
        return rx._read_results(COUNT, START, target64)


def targets(tails: list[int]) -> list[int]:
    """Edges (nothing, everything, a tail and one above it), and random ones of every size."""
    rng = random.Random(13)
    picked = [0, 1, 2**64 - 1, 2**64, 2**70, min(tails), min(tails) + 1, max(tails)]
    picked += [max(tails) + 1, *sorted(tails)[CAPACITY - 1 : CAPACITY + 2]]
    picked += [rng.getrandbits(64) for _ in range(12)]
    picked += [rng.getrandbits(8) << 56 for _ in range(6)]
    return picked


def test_device_hits_are_the_library_shares(launch: Launch) -> None:
    """For targets that hit nothing, some, more than the buffer holds, or every nonce: the
    shares are exactly the nonces whose library hash has tail < target (in nonce order, with
    the full hash), the XOR is the library's, and what came back is the header and the hits,
    or, past CAPACITY hits, the header and every hash."""
    rx = launch.rx
    overflowed = 0
    for target in targets(launch.tails):
        want = launch.expected(target)
        before, overflows = rx.read_back_bytes, rx.overflows
        result = finish_again(launch, target)
        assert result.hashes == COUNT
        assert result.shares == want, hex(target)
        assert result.tail_xor == launch.xor(), hex(target)
        read = rx.read_back_bytes - before
        if len(want) > CAPACITY:
            overflowed += 1
            assert rx.overflows == overflows + 1
            assert read == RESULT_HEADER_BYTES + COUNT * HASH_BYTES
        else:
            assert rx.overflows == overflows
            assert read == RESULT_HEADER_BYTES + len(want) * HIT_BYTES
    assert overflowed >= 3  # 2**64 - 1, 2**64, 2**70 at least


def test_scan_reads_back_only_the_results(launch: Launch) -> None:
    """The miner's path (scan: rx_init to rx_finish): with a target between the tails, the
    shares and the XOR are the library's, and only the header and those shares come back."""
    rx = launch.rx
    target = sorted(launch.tails)[1] + 1  # two hits
    before = rx.read_back_bytes
    result = rx.scan(BLOB, START, COUNT, target)
    assert result.shares == launch.expected(target) and len(result.shares) == 2
    assert result.tail_xor == launch.xor()
    assert rx.read_back_bytes - before == RESULT_HEADER_BYTES + 2 * HIT_BYTES


def test_scan_overflow_loses_no_share(launch: Launch) -> None:
    """Every nonce a share (target 2**64): the result buffer overflows and the launch is read
    again whole, every share still reported."""
    rx = launch.rx
    overflows = rx.overflows
    result = rx.scan(BLOB, START, COUNT, 2**64)
    assert rx.overflows == overflows + 1
    assert result.shares == launch.expected(2**64) and len(result.shares) == COUNT
    assert result.tail_xor == launch.xor()


def test_hit_limit() -> None:
    assert hit_limit(0) == 0  # tail 0 comes back and the host drops it
    assert hit_limit(1) == 0
    assert hit_limit(2**63) == 2**63 - 1
    assert hit_limit(2**64) == hit_limit(2**80) == 2**64 - 1
