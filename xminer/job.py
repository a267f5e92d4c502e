"""Jobs handed to backends, results coming back, and the nonce space they share."""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field

from xminer.randomx.scan import NONCE_OFFSET

MAX_TARGET = 0xFFFFFFFFFFFFFFFF
NICEHASH_BYTE = NONCE_OFFSET + 3


def target_from_hex(text: str) -> int:
    """A pool's ``target``: 4 bytes (XMRig expands it to 64 bits) or 8 bytes, little-endian hex."""
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        value = int.from_bytes(raw, "little")
        if value == 0:
            raise ValueError("target is zero")
        return MAX_TARGET // (0xFFFFFFFF // value)
    if len(raw) == 8:
        value = int.from_bytes(raw, "little")
        if value == 0:
            raise ValueError("target is zero")
        return value
    raise ValueError(f"target must be 4 or 8 bytes, got {len(raw)}")


def next_seed(value: object) -> bytes:
    """A template's or job's ``next_seed_hash``: 32 bytes, or b"" when absent or unusable
    (it only lets the next dataset be built early, so a broken one is not an error)."""
    if not isinstance(value, str) or len(value) != 64:
        return b""
    try:
        return bytes.fromhex(value)
    except ValueError:
        return b""


def difficulty_of(target: int) -> int:
    return MAX_TARGET // target if target else MAX_TARGET


@dataclass(frozen=True)
class Job:
    """One unit of work: a blob to hash with nonces, a key (seed) and the share rule."""

    job_id: str
    blob: bytes
    seed_hash: bytes
    target: int  # a hash whose tail (bytes 24..31, LE uint64) is below this is a share
    algo: str = "rx/0"
    height: int = 0
    source: str = ""  # "benchmark", a pool URL, or "daemon"
    nicehash: bool = False  # the pool fixed the top nonce byte
    bench_size: int = 0  # >0: hash exactly nonces 0..bench_size-1 (offline benchmark)
    bench_chain: bool = False  # XMRig's one-thread CPU benchmark rule (see Scanner.chained)
    bench_mixed: bool = False  # a chained CPU thread and plain GPU threads: no reference sum
    block_difficulty: int = 0  # daemon mode: the 128-bit block difficulty
    next_seed_hash: bytes = b""  # the seed after a coming switch, when the source announces it
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def difficulty(self) -> int:
        return difficulty_of(self.target)

    @property
    def is_benchmark(self) -> bool:
        return self.bench_size > 0

    def blob_with_nonce(self, nonce: int) -> bytes:
        blob = bytearray(self.blob)
        blob[NONCE_OFFSET : NONCE_OFFSET + 4] = nonce.to_bytes(4, "little")
        return bytes(blob)


@dataclass(frozen=True)
class Result:
    """A hash a backend found to meet the job's target (not yet checked on the CPU)."""

    job: Job
    nonce: int
    hash: bytes
    backend: str


class NonceAllocator:
    """Hands out disjoint nonce ranges of one job to every worker of every backend."""

    def __init__(self, job: Job) -> None:
        self._lock = threading.Lock()
        if job.is_benchmark:
            self._next, self._end = 0, job.bench_size
        elif job.nicehash:
            base = job.blob[NICEHASH_BYTE] << 24
            self._next, self._end = base, base + (1 << 24)
        else:
            start = int.from_bytes(job.blob[NONCE_OFFSET : NONCE_OFFSET + 4], "little")
            self._next, self._end = start, start + (1 << 32)

    def next_batch(self, count: int) -> tuple[int, int]:
        """(start, count); count is 0 once the space is used up."""
        with self._lock:
            start = self._next
            count = max(0, min(count, self._end - start))
            self._next = start + count
            return start, count

    @property
    def exhausted(self) -> bool:
        with self._lock:
            return self._next >= self._end


class JobSlot:
    """The current job of the miner and its allocator; workers poll it between batches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._job: Job | None = None
        self._alloc: NonceAllocator | None = None
        # bumps on every new job: a worker compares it after each batch, and the C batch loop
        # reads it while hashing (a new job ends a running batch)
        self.epoch = ctypes.c_uint32(0)

    def set(self, job: Job | None) -> None:
        with self._lock:
            self._job = job
            self._alloc = NonceAllocator(job) if job else None
            self.epoch.value += 1  # wraps at 2**32, as the C loop compares it

    def get(self) -> tuple[int, Job | None, NonceAllocator | None]:
        with self._lock:
            return self.epoch.value, self._job, self._alloc
