"""Full RandomX hashes on the OpenCL device (PoCL, light mode) against the library."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.rx_vectors import VECTORS
from xminer.randomx import VM, Cache, Flags, Scanner, recommended_flags

pytestmark = pytest.mark.opencl

# Official RandomX test vectors (tests 1a-1e of tevador/RandomX), grouped by key.
OFFICIAL_VECTORS: dict[bytes, list[tuple[bytes, str]]] = {}
for _key, _data, _want in VECTORS:
    OFFICIAL_VECTORS.setdefault(_key, []).append((_data, _want))

FLAGS = recommended_flags() & ~Flags.LARGE_PAGES


class LibraryHasher:
    """CPU reference: librandomx in light mode, one cache per key."""

    def __init__(self, key: bytes) -> None:
        self.cache = Cache(FLAGS)
        self.cache.init(key)
        self.vm = VM(FLAGS, self.cache, None)

    def hash(self, data: bytes) -> bytes:
        return self.vm.hash(data)

    def close(self) -> None:
        self.vm.destroy()
        self.cache.release()


@pytest.mark.parametrize("key", list(OFFICIAL_VECTORS))
def test_official_vectors(light_rx: Any, key: bytes) -> None:
    light_rx.set_key(key)
    inputs = [data for data, _ in OFFICIAL_VECTORS[key]]
    got = light_rx.hash_inputs(inputs)
    assert [h.hex() for h in got] == [want for _, want in OFFICIAL_VECTORS[key]]


def test_random_pairs_match_library(light_rx: Any) -> None:
    """64 random (key, input) pairs: 4 random keys (0-60 bytes) x 16 inputs (0-300 bytes)."""
    rng = random.Random(2024)
    for _ in range(4):
        key = rng.randbytes(rng.choice([0, 1, 32, 60, rng.randrange(61)]))
        inputs = [rng.randbytes(rng.randrange(0, 300)) for _ in range(16)]
        light_rx.set_key(key)
        got = light_rx.hash_inputs(inputs)
        ref = LibraryHasher(key)
        try:
            expected = [ref.hash(x) for x in inputs]
        finally:
            ref.close()
        assert got == expected, key.hex()


def test_benchmark_batch_tail_xor(light_rx: Any) -> None:
    """Benchmark rule: blob of 112 zero bytes, key of 32 zero bytes, nonces 0..N-1."""
    key, blob, count = bytes(32), bytes(112), 16
    light_rx.set_key(key)
    hashes, tail_xor, shares = light_rx.hash_batch(blob, 0, count, 2**64 // 4)
    ref = LibraryHasher(key)
    try:
        scanner = Scanner(ref.vm)
        scanner.set_blob(blob)
        expected = scanner.scan(0, count, 2**64 // 4)
    finally:
        ref.close()
    assert hashes == count
    assert tail_xor == expected.tail_xor
    assert shares == expected.shares


def test_nonce_wraps_and_target(light_rx: Any) -> None:
    """Nonces wrap at 2^32 and shares are exactly the hashes with tail < target."""
    key, blob = b"wrap key", bytes(range(76))
    light_rx.set_key(key)
    digests = light_rx.hash_nonces(blob, 0xFFFFFFFE, 4)
    ref = LibraryHasher(key)
    try:
        for i, digest in enumerate(digests):
            nonce = (0xFFFFFFFE + i) & 0xFFFFFFFF
            data = blob[:39] + nonce.to_bytes(4, "little") + blob[43:]
            assert digest == ref.hash(data)
    finally:
        ref.close()
    tails = sorted(int.from_bytes(d[24:32], "little") for d in digests)
    _, _, shares = light_rx.hash_batch(blob, 0xFFFFFFFE, 4, tails[2])
    assert len(shares) == 2


# (work-group size, hashes): full groups and a partial last one (8, 16); a partial group
# only (32, 64).  The micro-op stream is interleaved across a group's lanes and the VM
# registers are a column per lane in the group's local memory.
WORK_GROUPS = [(8, 11), (16, 19), (32, 13), (64, 21)]


@pytest.mark.parametrize(("worksize", "count"), WORK_GROUPS, ids=[str(w) for w, _ in WORK_GROUPS])
def test_work_group_sizes(opencl_kernels: Any, worksize: int, count: int) -> None:
    from xminer.backends.opencl.randomx import OpenCLRandomX

    rng = random.Random(worksize)
    key = rng.randbytes(32)
    inputs = [rng.randbytes(rng.randrange(0, 200)) for _ in range(count)]
    rx = OpenCLRandomX(mode="light", intensity=count, worksize=worksize)
    try:
        rx.set_key(key)
        got = rx.hash_inputs(inputs)
    finally:
        rx.close()
    ref = LibraryHasher(key)
    try:
        assert got == [ref.hash(x) for x in inputs]
    finally:
        ref.close()


def test_switch_executor_reference(opencl_kernels: Any) -> None:
    """The first kernels' executor (vm_switch.cl), kept for tests and benches, still exact."""
    from xminer.backends.opencl.randomx import OpenCLRandomX

    key = next(iter(OFFICIAL_VECTORS))
    data, want = OFFICIAL_VECTORS[key][0]
    rx = OpenCLRandomX(mode="light", intensity=2, worksize=2, executor="switch")
    try:
        rx.set_key(key)
        assert rx.hash_inputs([data])[0].hex() == want
    finally:
        rx.close()


def test_missing_barrier_gives_wrong_hashes(opencl_kernels: Any, monkeypatch: Any) -> None:
    """The kernels built without their barriers (RX_DROP_BARRIERS) hash wrongly on PoCL, which
    runs a work-group's items one after another between barriers: the 4-lane kernels' barriers
    are needed, and the tests above would see one go missing."""
    from xminer.backends.gpu import kernel_source as ks
    from xminer.backends.opencl import randomx as ocl

    def without_barriers(defines: dict[str, str] | None = None) -> str:
        return ks.kernel_source({**(defines or {}), "RX_DROP_BARRIERS": "1"})

    monkeypatch.setattr(ocl, "kernel_source", without_barriers)
    monkeypatch.setattr(ocl, "_compiled", {})
    key = next(iter(OFFICIAL_VECTORS))
    vectors = OFFICIAL_VECTORS[key]
    rx = ocl.OpenCLRandomX(mode="light", intensity=len(vectors), worksize=len(vectors))
    try:
        rx.set_key(key)
        got = rx.hash_inputs([data for data, _ in vectors])
    finally:
        rx.close()
    assert all(h.hex() != want for h, (_, want) in zip(got, vectors, strict=True))
