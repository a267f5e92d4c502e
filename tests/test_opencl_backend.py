"""The OpenCL backend inside the miner's machinery: job slot, RandomX context, result sink."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import bench_sum
from xminer.backends import load_backend_module
from xminer.backends.base import BackendContext
from xminer.job import Job, JobSlot
from xminer.randomx.context import RandomXContext
from xminer.randomx.scan import ScanResult
from xminer.state import SharedState

pytestmark = pytest.mark.opencl


class CollectingSink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.results: list[tuple[Job, ScanResult]] = []

    def batch_done(self, backend: str, job: Job, result: ScanResult) -> None:
        with self.lock:
            self.results.append((job, result))

    def hashes(self) -> int:
        with self.lock:
            return sum(r.hashes for _, r in self.results)


def test_registry_exposes_opencl_and_cuda() -> None:
    for name in ("opencl", "cuda"):
        module = load_backend_module(name)
        assert module.unavailable is None
        assert callable(module.module.create_backend)  # type: ignore[union-attr]


def test_benchmark_job_hashes_match_cpu(opencl_kernels: Any) -> None:
    rx = RandomXContext(mode="light", huge_pages=False)
    seed = bytes(32)
    rx.prepare(seed)
    sink = CollectingSink()
    ctx = BackendContext(SharedState(), rx, JobSlot(), sink)
    backend = load_backend_module("opencl").module.create_backend(  # type: ignore[union-attr]
        ctx, {"intensity": 4}
    )
    assert backend.availability() is None
    bench = 8
    job = Job("bench", bytes(76), seed, target=2**64 // 3, bench_size=bench, source="benchmark")
    ctx.slot.set(job)
    backend.start()
    try:
        deadline = time.monotonic() + 120
        while sink.hashes() < bench and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        backend.stop()
    assert sink.hashes() == bench
    tail_xor = 0
    shares = []
    for _, result in sink.results:
        tail_xor ^= result.tail_xor
        shares += result.shares
    expected_xor = 0
    for nonce in range(bench):
        digest = rx.verify_hash(job.blob_with_nonce(nonce))
        expected_xor ^= int.from_bytes(digest[24:32], "little")
        if int.from_bytes(digest[24:32], "little") < job.target:
            assert (nonce, digest) in shares
    assert tail_xor == expected_xor
    assert len(shares) == sum(
        int.from_bytes(rx.verify_hash(job.blob_with_nonce(n))[24:32], "little") < job.target
        for n in range(bench)
    )


def test_opencl_benchmark_sum_equals_the_cpu_one(opencl_kernels: Any, tmp_path: Path) -> None:
    """What the issue asks of --bench=2000, on a size PoCL hashes in seconds (light mode)."""
    size = "--bench=24"
    gpu = bench_sum(tmp_path, "--no-cpu", "--opencl", size, "--randomx-mode=light")
    cpu = bench_sum(tmp_path, "-t", "2", size, "--randomx-mode=light")  # XOR rule, as the GPU
    assert gpu == cpu
