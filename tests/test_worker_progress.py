"""Worker threads on the real library (light mode): hashes counted and shares handed over
while a batch runs, batches cut short by a stop, a failed thread started again, and a
burst of seed changes building the newest seed only."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tests.config_support import miner_config
from xminer.backends.base import BackendContext
from xminer.backends.cpu import CpuBackend, CpuThread
from xminer.backends.cpu.worker import CpuWorker
from xminer.backends.gpu.worker import LaunchSizer
from xminer.job import Job, JobSlot
from xminer.miner import Miner
from xminer.randomx.context import RandomXContext
from xminer.randomx.scan import ScanResult, hash_tail
from xminer.state import SharedState

SEED = bytes(range(32))
HUGE_BATCH = 1_000_000  # a batch no test waits for: anything seen comes from inside it


class CollectingSink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.results: list[tuple[Job, ScanResult]] = []

    def batch_done(self, backend: str, job: Job, result: ScanResult) -> None:
        with self.lock:
            self.results.append((job, result))

    def snapshot(self) -> list[tuple[Job, ScanResult]]:
        with self.lock:
            return list(self.results)

    def hashes(self) -> int:
        return sum(r.hashes for _, r in self.snapshot())


def wait_until(check: Callable[[], bool], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def rx() -> Iterator[RandomXContext]:
    context = RandomXContext(mode="light", huge_pages=False)
    context.prepare(SEED)
    yield context
    context.release()


@contextmanager
def cpu_backend(
    rx: RandomXContext, job: Job, batch: int, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[CpuBackend, CollectingSink]]:
    """One CPU thread hashing ``job`` in batches of ``batch`` nonces."""
    monkeypatch.setattr(CpuWorker, "batch_size", batch)
    sink = CollectingSink()
    ctx = BackendContext(SharedState(), rx, JobSlot(), sink)
    backend = CpuBackend(ctx, [CpuThread()])
    ctx.slot.set(job)
    backend.start()
    try:
        yield backend, sink
    finally:
        backend.stop(timeout=60)


def test_counter_moves_inside_a_batch(rx: RandomXContext, monkeypatch: pytest.MonkeyPatch) -> None:
    job = Job("count", bytes(76), SEED, target=0)
    with cpu_backend(rx, job, HUGE_BATCH, monkeypatch) as (backend, sink):
        worker = backend.workers[0]
        wait_until(lambda: worker.counter.total > 0)
        assert sink.snapshot() == []  # the batch is still running
        assert worker.thread.is_alive()


def test_share_is_delivered_before_its_batch_ends(
    rx: RandomXContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = Job("shares", bytes(range(76)), SEED, target=2**62)  # a quarter of hashes
    with cpu_backend(rx, job, HUGE_BATCH, monkeypatch) as (_backend, sink):
        wait_until(lambda: any(r.shares for _, r in sink.snapshot()))
        results = sink.snapshot()
    delivered = sum(r.hashes for _, r in results)
    assert delivered < HUGE_BATCH
    start = int.from_bytes(job.blob[39:43], "little")
    shares = [s for _, r in results for s in r.shares]
    for nonce, digest in shares:
        assert rx.verify_hash(job.blob_with_nonce(nonce)) == digest
        assert hash_tail(digest) < job.target
    # the pieces before the first share left no nonce out: it is the first share of the job
    first = shares[0][0]
    for nonce in range(start, first):
        assert hash_tail(rx.verify_hash(job.blob_with_nonce(nonce))) >= job.target


@pytest.mark.parametrize("chained", [True, False], ids=["one-thread-chain", "xor"])
def test_stop_ends_a_running_benchmark_batch(
    rx: RandomXContext, monkeypatch: pytest.MonkeyPatch, chained: bool
) -> None:
    job = Job("bench", bytes(112), SEED, target=0, bench_size=HUGE_BATCH, bench_chain=chained)
    with cpu_backend(rx, job, HUGE_BATCH, monkeypatch) as (backend, _sink):
        worker = backend.workers[0]
        wait_until(lambda: worker.counter.total > 0)
        backend.stop(timeout=60)
        assert not worker.thread.is_alive()
        assert worker.counter.total < HUGE_BATCH


def test_paused_benchmark_batch_goes_on_after_resume(
    rx: RandomXContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pause cuts the batch, but a benchmark's sum needs every nonce: the rest follows."""
    size = 24
    job = Job("bench", bytes(112), SEED, target=0, bench_size=size)
    with cpu_backend(rx, job, size, monkeypatch) as (backend, sink):
        worker = backend.workers[0]
        wait_until(lambda: worker.counter.total > 0)
        backend.pause()
        time.sleep(0.5)
        backend.resume()
        wait_until(lambda: sink.hashes() >= size)
    expected = 0
    for nonce in range(size):
        expected ^= hash_tail(rx.verify_hash(job.blob_with_nonce(nonce)))
    total = 0
    for _, result in sink.snapshot():
        total ^= result.tail_xor
    assert sink.hashes() == size
    assert total == expected


def test_failed_worker_starts_again(
    rx: RandomXContext, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bad = Job("bad", bytes(20), SEED, target=0)  # no room for a nonce: the scanner refuses it
    good = Job("good", bytes(76), SEED, target=0)
    with (
        caplog.at_level(logging.INFO, logger="xminer"),
        cpu_backend(rx, bad, 8, monkeypatch) as (backend, _sink),
    ):
        wait_until(lambda: "cpu thread #0 failed (ValueError" in caplog.text)
        wait_until(lambda: "restarting in 2 s" in caplog.text)  # failing again: longer pause
        backend.ctx.slot.set(good)
        worker = backend.workers[0]
        wait_until(lambda: worker.counter.total > 0)
        assert worker.thread.is_alive()
    lines = [r for r in caplog.records if "thread #0 failed" in r.getMessage()]
    assert lines and all(r.exc_info is None for r in lines)  # one line, no traceback


def test_burst_of_seed_changes_builds_the_newest_seed_only() -> None:
    miner = Miner(miner_config(0, "light"))
    jobs = [Job(f"j{i}", bytes(76), bytes([i + 1]) * 32, target=0) for i in range(15)]

    async def burst() -> None:
        miner.loop = asyncio.get_running_loop()
        tasks = []
        for job in jobs:
            tasks.append(asyncio.ensure_future(miner.set_job(job)))
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)

    try:
        asyncio.run(burst())
        assert miner.job is jobs[-1]
        assert miner.rx.seed == jobs[-1].seed_hash
        # the first build had started (a light cache cannot be cut short), then the newest
        assert miner.rx.generation <= 2
    finally:
        miner.rx.release()


def test_gpu_launches_grow_while_quick_and_shrink_when_slow() -> None:
    sizer = LaunchSizer(limit=40)
    assert sizer.size_for(1000) == 1  # a first launch of one nonce: its time says the rest
    for _ in range(10):
        sizer.took(sizer.size_for(1000), 0.1)
    assert sizer.size == 40
    assert sizer.size_for(3) == 3  # a batch's tail
    sizer.took(3, 0.1)
    assert sizer.size == 40  # a short tail says nothing about a full launch
    sizer.took(40, 9.0)
    assert sizer.size == 20
    sizer.took(20, 2.0)
    assert sizer.size == 40  # over a second, but the rate rose: the device is not full yet
    sizer.took(40, 3.9)
    assert sizer.size == 40  # the limit
    full = LaunchSizer(limit=64, size=16)
    full.took(16, 1.5)
    full.took(32, 3.0)  # twice the nonces, twice the time: the device is full
    assert full.size == 32


def test_gpu_launches_grow_to_fill_a_device_whose_launches_take_seconds() -> None:
    """A GPU whose every launch takes about 1.5 s until it is full (at 256 nonces) reaches
    the full size (one doubling past it shows no gain and is kept: the rate is the same),
    where a plain time limit would stop at the first 1.5 s launch."""
    sizer = LaunchSizer(limit=1024)
    for _ in range(20):
        size = sizer.size_for(10_000)
        sizer.took(size, 1.5 * max(1.0, size / 256))
    assert sizer.size in (256, 512)


def test_newer_seed_cancels_a_fast_dataset_build(caplog: pytest.LogCaptureFixture) -> None:
    """Fast mode: the 2 GiB build of a seed that a newer job replaced stops part way."""
    miner = Miner(miner_config(0, "fast"))
    old, new = (Job(n, bytes(76), bytes([i]) * 32, target=0) for i, n in ((7, "old"), (8, "new")))

    async def replace_during_build() -> None:
        miner.loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(miner.set_job(old))
        deadline = time.monotonic() + 120
        while miner.state.dataset.progress <= 0:  # the old seed's dataset is being built
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        second = asyncio.ensure_future(miner.set_job(new))
        await asyncio.wait_for(first, 120)  # ends with its build cancelled, not finished
        started = (f"seed {new.seed_hash.hex()[:16]}", "seed switch at height")
        while not any(line in caplog.text for line in started):  # the new seed is under way
            assert time.monotonic() < deadline + 120
            await asyncio.sleep(0.05)
        miner.shutdown()  # the new seed's build is not waited for either
        await asyncio.wait_for(second, 120)

    try:
        with caplog.at_level(logging.INFO, logger="xminer"):
            asyncio.run(replace_during_build())
        assert f"dataset for seed {old.seed_hash.hex()[:16]}... dropped" in caplog.text
        assert miner.rx.seed != old.seed_hash  # the replaced seed never became the key
    finally:
        miner.rx.release()
