"""What the OpenCL and CUDA hosts share: the kernels' buffer layout, the batch result, the
dataset build (no GPU runtime imported here)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from xminer.randomx.binding import Cache, Dataset
from xminer.randomx.scan import hash_tail

# Layout of the per-hash buffers of kernels/randomx.cl (words of 8 bytes unless said).
PROGRAM_COUNT = 8
STATE_WORDS = 48
PROGRAM_WORDS = 16 + 256
DECODED_WORDS = 4 * 256  # u32 words
SCRATCHPAD_BYTES = 2 * 1024 * 1024
HASH_BYTES = 32
NONCE_OFFSET = 39
MAX_DATASET_CHUNKS = 4  # rx_run_program takes ds0..ds3


def per_hash_bytes() -> int:
    """Device memory for one hash in flight (scratchpad, state, program, decoded, hash)."""
    words = STATE_WORDS + PROGRAM_WORDS
    return SCRATCHPAD_BYTES + words * 8 + DECODED_WORDS * 4 + HASH_BYTES


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


def pack_inputs(inputs: list[bytes]) -> tuple[bytes, list[int]]:
    """rx_init's inputs and meta (offset, length per input; meta_stride 1)."""
    meta, offset = [], 0
    for item in inputs:
        meta += [offset, len(item)]
        offset += len(item)
    return b"".join(inputs) or b"\0", meta


def init_dataset_threaded(dataset: Dataset, cache: Cache, items: int) -> None:
    """Fill the whole dataset with librandomx on all CPUs (the GIL is released per call)."""
    workers = max(1, os.cpu_count() or 1)
    step = -(-items // workers)
    threads = [
        threading.Thread(target=dataset.init_items, args=(cache, start, min(step, items - start)))
        for start in range(0, items, step)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
