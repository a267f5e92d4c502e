"""What a GPU batch gives back: its hash count, the XOR of its hash tails and its shares."""

from __future__ import annotations

from dataclasses import dataclass

from xminer.randomx.scan import hash_tail


@dataclass
class BatchResult:
    """hashes computed, XOR of all hash tails (bytes 24..31 LE), shares (nonce, hash)."""

    hashes: int
    tail_xor: int
    shares: list[tuple[int, bytes]]


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
