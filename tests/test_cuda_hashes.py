"""Full RandomX hashes on a CUDA GPU against the CPU library (light and fast mode, the
dataset on the card and in mapped host memory, programs split by bfactor), the
``--no-cpu --cuda`` benchmark sum against the CPU's, and NVML's readings of the card.

Needs a CUDA driver, a device, pycuda and nvcc (or cached kernels): skipped elsewhere.
``tools/device_cuda_check.sh`` runs these on a lent GPU machine.
"""

from __future__ import annotations

import ctypes
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_support import bench_sum
from tests.gpu_reference import LibraryReference
from tests.rx_vectors import VECTORS
from xminer.backends.cuda import cuda_status
from xminer.randomx import dataset_item_count

pytestmark = pytest.mark.cuda

_ok, _reason = cuda_status()
if not _ok:
    pytest.skip(f"needs a usable CUDA GPU ({_reason})", allow_module_level=True)

from xminer.backends.cuda.randomx import CudaRandomX  # noqa: E402 - needs pycuda

OFFICIAL: dict[bytes, list[tuple[bytes, str]]] = {}
for _key, _data, _want in VECTORS:
    OFFICIAL.setdefault(_key, []).append((_data, _want))
INTENSITY, THREADS = 32, 32


@pytest.fixture(scope="module")
def light() -> Iterator[CudaRandomX]:
    rx = CudaRandomX(mode="light", intensity=INTENSITY, threads=THREADS)
    yield rx
    rx.close()


@pytest.mark.parametrize("key", list(OFFICIAL))
def test_official_vectors_light(light: CudaRandomX, key: bytes) -> None:
    light.set_key(key)
    got = light.hash_inputs([data for data, _ in OFFICIAL[key]])
    assert [h.hex() for h in got] == [want for _, want in OFFICIAL[key]]


def test_random_pairs_light(light: CudaRandomX) -> None:
    """20 random (key, input) pairs: 4 keys (0-60 bytes) x 5 inputs (0-300 bytes)."""
    rng = random.Random(2026)
    for size in (0, 1, 32, 60):
        key = rng.randbytes(size)
        inputs = [rng.randbytes(rng.randrange(0, 300)) for _ in range(5)]
        light.set_key(key)
        got = light.hash_inputs(inputs)
        ref = LibraryReference(key)
        try:
            assert got == [ref.hash(x) for x in inputs], key.hex()
        finally:
            ref.close()


def test_nonces_and_batch_sum_light(light: CudaRandomX) -> None:
    """Nonces wrap at 2^32; the batch's tail XOR and shares are the library's."""
    key, blob = bytes(32), bytes(76)
    light.set_key(key)
    ref = LibraryReference(key)
    try:
        digests = light.hash_nonces(blob, 0xFFFFFFFE, 4)
        for i, digest in enumerate(digests):
            nonce = (0xFFFFFFFE + i) & 0xFFFFFFFF
            assert digest == ref.hash(blob[:39] + nonce.to_bytes(4, "little") + blob[43:])
        hashes, tail_xor, shares = light.hash_batch(blob, 0, 40, 2**64 // 4)  # 2 launches
        expected = ref.scan(blob, 0, 40, 2**64 // 4)
    finally:
        ref.close()
    assert (hashes, tail_xor, shares) == (40, expected.tail_xor, expected.shares)


@pytest.mark.parametrize("key", list(OFFICIAL))
def test_fast_mode_vectors_and_random_inputs(key: bytes) -> None:
    """The dataset built on the device (rx_init_dataset), then the library's mapped from the
    host's memory where it lies (dataset_host): the official vectors + 8 random inputs a key,
    each way, and sampled items of the device's build equal the library's."""
    rng = random.Random(key)
    inputs = [rng.randbytes(rng.randrange(0, 300)) for _ in range(8)]
    ref = LibraryReference(key, fast=True)
    try:
        want = [w for _, w in OFFICIAL[key]], [ref.hash(x) for x in inputs]
        for dataset_host in (False, True):
            rx = CudaRandomX(
                mode="fast", intensity=INTENSITY, threads=THREADS, dataset_host=dataset_host
            )
            try:
                assert rx.dataset_host == dataset_host, rx.fallback
                assert rx.set_key(key, ref.cache, ref.dataset)
                assert rx.dataset_origin == ("mapped" if dataset_host else "device")
                if not dataset_host:
                    for item in (0, 1 << 22, 23_456_789, dataset_item_count() - 1):
                        want = ctypes.string_at(ref.dataset.memory() + 64 * item, 64)
                        assert rx.dataset_items(item, 1) == want, item
                got = rx.hash_inputs([data for data, _ in OFFICIAL[key]] + inputs)
                n = len(OFFICIAL[key])
                assert ([h.hex() for h in got[:n]], got[n:]) == want, dataset_host
            finally:
                rx.close()
    finally:
        ref.close()


@pytest.mark.parametrize("bfactor", [1, 4, 11])
def test_bfactor_splits_programs_without_changing_hashes(bfactor: int) -> None:
    """Each program over 2^bfactor launches (bsleep between them): the same hashes."""
    key = b"test key 000"
    rx = CudaRandomX(mode="light", intensity=8, threads=8, bfactor=bfactor, bsleep=10)
    try:
        rx.set_key(key)
        got = rx.hash_inputs([data for data, _ in OFFICIAL[key]])
        assert [h.hex() for h in got] == [want for _, want in OFFICIAL[key]]
    finally:
        rx.close()


def test_nvml_reads_the_card() -> None:
    """Where the driver has NVML: a plausible reading of device 0 by its PCI bus id."""
    pytest.importorskip("pynvml")
    from xminer.backends.cuda.devices import list_devices
    from xminer.backends.cuda.nvml import Nvml

    nvml = Nvml(True)
    reason = nvml.start()
    if reason is not None:
        pytest.skip(reason)
    try:
        health = nvml.read(list_devices()[0].pci_bus_id)
        assert health is not None and nvml.driver
        assert 0 < health.temperature < 110 and health.clock > 0 and health.mem_clock > 0
        assert health.power > 0
    finally:
        nvml.close()


def test_cuda_benchmark_sum_equals_the_cpu_one(tmp_path: Path) -> None:
    size, mode = "--bench=24", "--randomx-mode=light"
    gpu = bench_sum(tmp_path, "--no-cpu", "--cuda", size, mode, keep_cache=True)
    cpu = bench_sum(tmp_path, "-t", "2", size, mode, keep_cache=True)  # XOR rule, as the GPU
    assert gpu == cpu
