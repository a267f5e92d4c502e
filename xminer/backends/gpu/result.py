"""What a GPU batch gives back: its hash count, the XOR of its hash tails and its shares."""

from __future__ import annotations

from dataclasses import dataclass

from xminer.backends.gpu.layout import HIT_BYTES, RESULT_HEADER_BYTES
from xminer.randomx.scan import hash_tail


@dataclass
class BatchResult:
    """hashes computed, XOR of all hash tails (bytes 24..31 LE), shares (nonce, hash)."""

    hashes: int
    tail_xor: int
    shares: list[tuple[int, bytes]]


def result_bytes(capacity: int) -> int:
    """The size of rx_finish's result buffer for capacity hits."""
    return RESULT_HEADER_BYTES + capacity * HIT_BYTES


def hit_limit(target64: int) -> int:
    """rx_finish's limit for a target: a hit is a tail <= limit.  Tail < target64 is a share,
    so limit = target64 - 1 (at most 2**64 - 1: a target of 2**64 or more takes every hash);
    target 0 gives limit 0, whose hits (tail 0) the host drops."""
    return min(max(target64, 1), 1 << 64) - 1


def scan_digests(digests: list[bytes], start_nonce: int, target64: int) -> BatchResult:
    """The batch result of the hashes of nonces start_nonce.. (tail < target64 is a share)."""
    xor = 0
    shares: list[tuple[int, bytes]] = []
    for i, digest in enumerate(digests):
        tail = hash_tail(digest)
        xor ^= tail
        if tail < target64:
            shares.append(((start_nonce + i) & 0xFFFFFFFF, digest))
    return BatchResult(len(digests), xor, shares)
