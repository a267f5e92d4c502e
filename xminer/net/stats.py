"""Share results and connection facts, kept in the shared state as /2/summary reports them."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from xminer.job import Job
from xminer.randomx.scan import hash_tail
from xminer.state import SharedState

MAX_ERRORS = 50


def share_difficulty(digest: bytes) -> int:
    """The actual difficulty of a hash, as XMRig reports ``best``: 2^64-1 / tail."""
    tail = hash_tail(digest)
    return 0xFFFFFFFFFFFFFFFF // tail if tail else 0xFFFFFFFFFFFFFFFF


@dataclass
class ActiveConnection:
    pool: str
    ip: str | None
    tls: str | None
    fingerprint: str | None
    since: float  # monotonic
    since_wall: float  # time.time(), what the API's connection.uptime and avg_time count from


class ResultStats:
    """Writes ``state.results`` and ``state.connection``; counters survive reconnects."""

    def __init__(self, state: SharedState) -> None:
        self.state = state
        self.failures = 0
        self.active: ActiveConnection | None = None
        self.last_pool = ""
        self.algo: str | None = None
        self.diff = 0
        self._accepted_base = 0  # accepted count when the connection came up
        self.refresh()

    # ---- connection ----------------------------------------------------------------------
    def connected(self, pool: str, ip: str | None, tls: str | None, fp: str | None) -> None:
        self.active = ActiveConnection(pool, ip, tls, fp, time.monotonic(), time.time())
        self.last_pool = pool
        self._accepted_base = self.state.results.accepted
        self.state.results.latencies_ms.clear()
        self.refresh()

    def lost(self) -> None:
        """The active connection went away (counted in ``failures``)."""
        if self.active is not None:
            self.failures += 1
        self.closed()

    def closed(self) -> None:
        self.active = None
        self.diff = 0
        self.refresh()

    def job(self, job: Job) -> None:
        self.algo, self.diff = job.algo, job.difficulty
        self.refresh()

    # ---- shares --------------------------------------------------------------------------
    def accepted(self, job: Job, digest: bytes, latency_ms: int) -> None:
        r = self.state.results
        with self.state.lock:
            r.accepted += 1
            r.hashes_total += job.block_difficulty or job.difficulty
            r.record_best(share_difficulty(digest))
            r.latencies_ms.append(latency_ms)
        self.refresh()

    def rejected(self, reason: str) -> None:
        r = self.state.results
        with self.state.lock:
            r.rejected += 1
            r.errors.append(reason)
            del r.errors[:-MAX_ERRORS]
        self.refresh()

    def error(self, message: str) -> None:
        errors = self.state.results.errors
        errors.append(message)
        del errors[:-MAX_ERRORS]

    # ---- summary -------------------------------------------------------------------------
    def uptime_ms(self) -> int:
        if self.active is None:
            return 0
        return int((time.monotonic() - self.active.since) * 1000)

    def avg_time_ms(self) -> int:
        accepted = self.state.results.accepted - self._accepted_base
        return self.uptime_ms() // accepted if accepted else 0

    def ping(self) -> int:
        lat = self.state.results.latencies_ms
        return int(statistics.median(lat)) if lat else 0

    def refresh(self) -> None:
        """Recompute ``state.connection`` (call it once a second for the live fields)."""
        r, a = self.state.results, self.active
        up, avg = self.uptime_ms(), self.avg_time_ms()
        conn: dict[str, object] = {
            "pool": a.pool if a else self.last_pool,
            "ip": a.ip if a else None,
            "uptime": up // 1000,
            "uptime_ms": up,
            "ping": self.ping(),
            "failures": self.failures,
            "tls": a.tls if a else None,
            "tls-fingerprint": a.fingerprint if a else None,
            "algo": self.algo,
            "diff": self.diff if a else 0,
            "accepted": r.accepted,
            "rejected": r.rejected,
            "avg_time": avg // 1000,
            "avg_time_ms": avg,
            "hashes_total": r.hashes_total,
            "error_log": list(r.errors[-10:]),
        }
        if a is not None:  # no "since": the API reports uptime 0, as with no connection
            conn["since"] = a.since_wall
        with self.state.lock:
            r.avg_time_ms = avg
            self.state.connection = conn
