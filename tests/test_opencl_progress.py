"""An OpenCL thread on PoCL (light mode, a large intensity): its hash count and its shares
come out while the batch runs, not once the whole intensity is hashed."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.config_support import gpu_only
from tests.test_worker_progress import CollectingSink, wait_until
from xminer.backends import create_backend
from xminer.backends.base import BackendContext
from xminer.job import Job, JobSlot
from xminer.randomx.context import RandomXContext
from xminer.randomx.scan import hash_tail
from xminer.state import SharedState

pytestmark = pytest.mark.opencl

INTENSITY = 64  # minutes of PoCL light-mode hashing in one batch


def test_counter_and_shares_move_inside_a_gpu_batch(opencl_kernels: Any) -> None:
    seed = bytes(32)
    rx = RandomXContext(mode="light", huge_pages=False)
    rx.prepare(seed)
    sink = CollectingSink()
    ctx = BackendContext(SharedState(), rx, JobSlot(), sink, gpu_only(intensity=INTENSITY))
    backend = create_backend("opencl", ctx)
    assert backend.availability() is None
    job = Job("gpu", bytes(range(76)), seed, target=2**63)  # half of the hashes are shares
    ctx.slot.set(job)
    backend.start()
    try:
        worker = backend.workers[0]
        wait_until(lambda: any(r.shares for _, r in sink.snapshot()), 300)
        results = sink.snapshot()
        counted = worker.counter.total
    finally:
        began = time.monotonic()
        backend.stop(timeout=60)
        stopped_in = time.monotonic() - began
    assert not worker.thread.is_alive(), f"still hashing {stopped_in:.0f} s after stop"
    assert 0 < counted < INTENSITY
    assert sum(r.hashes for _, r in results) < INTENSITY  # delivered before the batch ended
    for nonce, digest in (s for _, r in results for s in r.shares):
        assert rx.verify_hash(job.blob_with_nonce(nonce)) == digest
        assert hash_tail(digest) < job.target
    rx.release()
