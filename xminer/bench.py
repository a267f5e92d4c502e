"""XMRig's offline benchmark: the job, the size names and the reference hash sums."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from xminer.config.sizes import parse_bench_size, size_name
from xminer.job import Job, Result
from xminer.randomx.scan import ScanResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from xminer.backends.base import Backend
    from xminer.state import SharedState

bench_log = logging.getLogger("xminer.bench")

BENCH_SEED = bytes(32)
BENCH_BLOB = bytes(112)
BENCH_POOL = "benchmark:3333"

# XMRig 6.26.0, rx/0, more than one thread
REFERENCE_SUMS = {
    10_000: 0x4A597463865ACF0E,
    20_000: 0xC82B490C757DA738,
    250_000: 0x7D6054757BB08A63,
    500_000: 0x96607546DE1F5ECC,
    1_000_000: 0x898B6E0431C28A6B,
    2_000_000: 0xEE9468F8B40926BC,
    3_000_000: 0xC2BC5D11724813C0,
    4_000_000: 0x3A2C7B285B87F941,
    5_000_000: 0x3B5BD2C3A16B450E,
    6_000_000: 0x5CD0602F20C5C7C4,
    7_000_000: 0x101DE939474B6812,
    8_000_000: 0x52B765A1B156C6EC,
    9_000_000: 0x323935102AB6B45C,
    10_000_000: 0xB5231262E2792B26,
}
# XMRig's one-thread rule (each input chained to the running sum)
REFERENCE_SUMS_ONE_THREAD = {
    10_000: 0xADFC3A66F79BFE7F,
    20_000: 0x8ED578A60D55C0DB,
    250_000: 0x90A15B799486F3EB,
    500_000: 0xAA83118FEE570F9A,
    1_000_000: 0x3DF47B0A427C93D9,
    2_000_000: 0xED4D639B0AEB85C6,
}


def bench_job(size: int, chained: bool, mixed: bool = False) -> Job:
    return Job(
        job_id="00000000",
        blob=BENCH_BLOB,
        seed_hash=BENCH_SEED,
        target=0,  # difficulty 2^64-1: nothing is a share
        height=1,
        source=BENCH_POOL,
        bench_size=size,
        bench_chain=chained,
        bench_mixed=mixed,
    )


@dataclass(frozen=True)
class BenchVerdict:
    reference: int | None
    rule: str  # which sum rule was used

    def matches(self, value: int) -> bool | None:
        return None if self.reference is None else value == self.reference


def verdict(size: int, chained: bool, mixed: bool = False) -> BenchVerdict:
    """``chained``: the CPU backend runs exactly one thread (XMRig chains its hashes then);
    ``mixed``: other backends hash too, without the chain, so no reference sum applies."""
    if mixed:
        return BenchVerdict(None, "mixed (one CPU thread chained, GPU threads plain)")
    if chained:
        return BenchVerdict(REFERENCE_SUMS_ONE_THREAD.get(size), "one-thread (chained)")
    return BenchVerdict(REFERENCE_SUMS.get(size), "multi-thread (XOR)")


class BenchmarkTally:
    """The running benchmark's sum: every batch's tail XOR and hash count (worker threads add
    to it), from the moment its job is set until ``bench_size`` hashes are done."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.xor = 0
        self.done = 0
        self.started = 0.0

    def reset(self) -> None:
        with self._lock:
            self.xor, self.done, self.started = 0, 0, 0.0

    def begin(self) -> None:
        """The job is set: the clock starts (once per run)."""
        if not self.started:
            self.started = time.monotonic()

    def add(self, job: Job, result: ScanResult) -> bool:
        """One batch of ``job``; True when the benchmark's hashes are all done."""
        with self._lock:
            self.xor ^= result.tail_xor
            self.done += result.hashes
            return self.done >= job.bench_size

    def report(self, job: Job) -> bool:
        """Log the time, speed and sum, and the verdict; False on a reference mismatch."""
        seconds = time.monotonic() - self.started
        rate = job.bench_size / seconds if seconds > 0 else 0.0
        value = self.xor
        v = verdict(job.bench_size, job.bench_chain, job.bench_mixed)
        bench_log.info(
            "benchmark finished in %.3f seconds (%.1f h/s) hash sum = %016X",
            seconds,
            rate,
            value,
        )
        match = v.matches(value)
        if match is None:
            bench_log.info("no reference sum for %s (%s rule)", size_name(job.bench_size), v.rule)
        elif match:
            bench_log.info("hash sum matches the reference %016X (%s rule)", v.reference, v.rule)
        else:
            bench_log.error("hash sum MISMATCH: expected %016X (%s rule)", v.reference or 0, v.rule)
            return False
        return True


class BenchMiner(Protocol):
    """What the benchmark uses of the miner (``xminer.miner.Miner``)."""

    @property
    def backends(self) -> Mapping[str, Backend]: ...
    @property
    def total_threads(self) -> int: ...
    @property
    def state(self) -> SharedState: ...
    async def set_job(self, job: Job) -> None: ...


class BenchmarkSource:
    """The offline benchmark as a work source: one job, no network."""

    def __init__(self, size: int) -> None:
        self.size = size

    async def start(self, miner: BenchMiner) -> None:
        # XMRig chains the hashes of a one-thread CPU benchmark (CpuWorker only): GPUs never chain
        cpu = miner.backends.get("cpu")
        chained = cpu is not None and cpu.thread_count == 1
        mixed = chained and miner.total_threads > 1
        rule = verdict(self.size, chained, mixed).rule
        bench_log.info(
            "start benchmark: %s hashes on %d threads, %s sum rule",
            size_name(self.size),
            miner.total_threads,
            rule,
        )
        miner.state.connection = {"pool": BENCH_POOL, "since": time.time()}
        await miner.set_job(bench_job(self.size, chained, mixed))

    async def submit(self, result: Result) -> None:
        return None

    async def stop(self) -> None:
        return None


__all__ = [
    "BenchmarkSource",
    "BenchmarkTally",
    "bench_job",
    "parse_bench_size",
    "size_name",
    "verdict",
]
