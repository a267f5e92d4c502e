"""Shared state: per-thread hash counters with sliding windows, backend totals, job and dataset.

Backends write here; the API, the console and the benchmark read only this.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
WINDOWS = (10.0, 60.0, 900.0)  # XMRig's 10 s / 60 s / 15 min


class HashCounter:
    """Total hashes of one thread with timestamped samples; rates as XMRig computes them.

    ``live`` is the running total, written only by the thread that hashes (the C batch loop
    stores it after every hash) and read by anyone; ``sample`` records it with the time.  The
    miner samples every counter twice a second (as XMRig), so rates move inside long batches.
    A window's rate is null until a sample older than the window exists (XMRig's "full set").
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, int]] = deque()
        self.live = ctypes.c_uint64(0)

    @property
    def total(self) -> int:
        return self.live.value

    def add(self, hashes: int) -> None:
        """Count hashes made outside the C loop (by the owning thread only) and sample."""
        self.live.value += hashes
        self.sample()

    def sample(self) -> None:
        with self._lock:
            now = self._clock()
            self._samples.append((now, self.live.value))
            horizon = now - WINDOWS[-1]
            # keep one sample older than the longest window, so it stays "full"
            while len(self._samples) > 2 and self._samples[1][0] < horizon:
                self._samples.popleft()

    def latest(self) -> tuple[float, int]:
        """(timestamp, total) of the newest sample; (0, 0) before the first."""
        with self._lock:
            return self._samples[-1] if self._samples else (0.0, 0)

    def idle(self, every: float = 1.0) -> None:
        """A sample with no new hashes (paused), at most once per ``every`` seconds, so that
        the windows decay to 0 as XMRig's do instead of running out of samples."""
        now = self._clock()
        with self._lock:
            if self._samples and now - self._samples[-1][0] < every:
                return
        self.sample()

    def rate(self, window: float) -> float | None:
        now = self._clock()
        with self._lock:
            if not self._samples:
                return None
            latest_t, latest_n = self._samples[-1]
            earliest: tuple[float, int] | None = None
            full = False
            for t, n in reversed(self._samples):
                if now - t > window:
                    full = True
                    break
                earliest = (t, n)
            if not full or earliest is None or latest_t <= earliest[0]:
                return None
            return (latest_n - earliest[1]) / (latest_t - earliest[0])

    def rates(self) -> list[float | None]:
        return [self.rate(w) for w in WINDOWS]


def sum_rates(rates: list[list[float | None]]) -> list[float | None]:
    """Per-window sum over threads; null where any thread's window is null (as XMRig)."""
    out: list[float | None] = []
    for i in range(len(WINDOWS)):
        column = [r[i] for r in rates]
        out.append(None if not column or any(v is None for v in column) else sum(column))
    return out  # type: ignore[return-value]


@dataclass
class ThreadInfo:
    """One worker thread (or GPU device thread) of a backend, as /2/backends lists it.

    A GPU thread's entry is ``details`` (the thread's keys, in XMRig's order), its hashrate,
    then ``device`` (the device's keys, ``health`` among them where a sensor reader runs).
    """

    index: int
    counter: HashCounter
    affinity: int = -1
    intensity: int = 1
    details: dict[str, object] = field(default_factory=dict)
    device: dict[str, object] = field(default_factory=dict)


@dataclass
class BackendStats:
    """What one backend publishes: its threads' counters and a few descriptive fields."""

    name: str
    enabled: bool = False
    running: bool = False
    unavailable_reason: str = ""
    threads: list[ThreadInfo] = field(default_factory=list)
    hw_errors: int = 0  # GPU results the CPU did not confirm (the metrics show them)
    details: dict[str, object] = field(default_factory=dict)

    def hashrate(self) -> list[float | None]:
        if not self.threads:
            return [None, None, None]
        return sum_rates([t.counter.rates() for t in self.threads])

    @property
    def total_hashes(self) -> int:
        return sum(t.counter.total for t in self.threads)


@dataclass
class SeedSwitch:
    """What the last seed switch cost: which path it took, seconds idle and in light mode."""

    path: str  # "ahead" (built ahead), "light" (light-mode bridge) or "rebuild" (stopped)
    reason: str  # why that path
    height: int = 0
    idle_s: float = 0.0  # no backend hashed
    light_s: float = 0.0  # hashed in light mode while the dataset was built (bridge)
    done: bool = False  # the dataset is ready (a bridge still on: False)

    @property
    def built_ahead(self) -> bool:
        return self.path == "ahead"


@dataclass
class DatasetStatus:
    seed_hash: bytes = b""
    mode: str = ""  # "fast" or "light"
    ready: bool = False
    progress: float = 0.0  # 0..1 while building
    init_ms: int = 0
    huge_pages: tuple[int, int] = (0, 0)  # pages allocated as huge, pages needed
    last_switch: SeedSwitch | None = None


@dataclass
class Results:
    """Shares: filled by the work source (pool or daemon)."""

    accepted: int = 0
    rejected: int = 0
    stale: int = 0
    invalid: int = 0
    hashes_total: int = 0  # pool-side hashes (sum of accepted difficulties)
    avg_time_ms: int = 0  # connection time / accepted shares (XMRig's avg_time_ms)
    best: list[int] = field(default_factory=lambda: [0] * 10)
    latencies_ms: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record_best(self, difficulty: int) -> None:
        if difficulty > self.best[-1]:
            self.best = sorted([*self.best, difficulty], reverse=True)[:10]


class SharedState:
    """The one place backends write to and everything else reads from."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.started = time.time()
        self.backends: dict[str, BackendStats] = {}
        self.dataset = DatasetStatus()
        self.results = Results()
        self.connection: dict[str, object] = {}
        self.job_id = ""
        self.algo = "rx/0"
        self.height = 0
        self.difficulty = 0
        self.paused = False
        self.highest_total = 0.0

    def backend(self, name: str) -> BackendStats:
        with self.lock:
            if name not in self.backends:
                self.backends[name] = BackendStats(name)
            return self.backends[name]

    def new_counter(self) -> HashCounter:
        return HashCounter(self.clock)

    def sample(self) -> None:
        """Record every running thread's live hash count (the miner calls this every 500 ms)."""
        with self.lock:
            counters = [t.counter for b in self.backends.values() for t in b.threads]
        for counter in counters:
            counter.sample()

    def total_hashrate(self) -> list[float | None]:
        """Sum over running backends; updates the highest 10 s total."""
        with self.lock:
            running = [b for b in self.backends.values() if b.running and b.threads]
        if not running:
            return [None, None, None]
        total = sum_rates([b.hashrate() for b in running])
        if total[0] is not None and total[0] > self.highest_total:
            self.highest_total = total[0]
        return total

    @property
    def total_hashes(self) -> int:
        with self.lock:
            return sum(b.total_hashes for b in self.backends.values())

    def uptime(self) -> int:
        return int(time.time() - self.started)
