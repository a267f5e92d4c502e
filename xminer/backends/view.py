"""How a backend shows itself: its /2/backends entry, its rows of the hashrate table and its
health lines.

A view renders from the shared state only (``BackendStats``, ``ThreadInfo``), so a backend
that is disabled or cannot run here still has its entry (XMRig shows it with ``enabled:
false`` and its own keys).  Views import no runtime (pyopencl, pycuda): :func:`view_for`
finds one by the backend's name.  The API and the console ask them and format what they say.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from xminer.state import BackendStats, SharedState, ThreadInfo

Rates = list[float | None]  # 10 s, 60 s, 15 min
RoundRate = Callable[[float | None], float | None]

#: backend name -> "module:class" of its view
_VIEWS = {
    "cpu": "xminer.backends.cpu.view:CpuView",
    "opencl": "xminer.backends.opencl.view:OclView",
    "cuda": "xminer.backends.cuda.view:CudaView",
}


@dataclass(frozen=True)
class HashrateRow:
    """A thread's row of the hashrate table (the h key): its number, affinity and rates."""

    index: int
    affinity: int
    rates: Rates


def hashing(stats: BackendStats, state: SharedState) -> bool:
    """Whether the backend hashes now: running, with threads, on a ready dataset."""
    return stats.running and bool(stats.threads) and state.dataset.ready


class BackendView:
    """The rendering every backend shares; a backend's view sets or overrides the rest."""

    name: ClassVar[str] = "backend"
    #: the first column's title in the hashrate table
    hashrate_unit: ClassVar[str] = "GPU #"
    #: its own /2/backends keys while it does not run here (it is disabled or unavailable)
    absent_fields: ClassVar[dict[str, object]] = {}
    #: it has devices with sensors (the e key, health-print-time)
    reports_health: ClassVar[bool] = False

    # -- /2/backends ----------------------------------------------------------------------
    @classmethod
    def api_entry(
        cls, stats: BackendStats, state: SharedState, built: bool, round_rate: RoundRate
    ) -> dict[str, Any]:
        """The backend's /2/backends entry; ``built``: the miner holds it (it can run here),
        ``round_rate``: how the API writes a rate."""
        running = hashing(stats, state)
        entry: dict[str, Any] = {
            "type": cls.name,
            "enabled": stats.enabled and built,
            "algo": state.algo if running else None,
            "profile": "rx" if running else None,  # Monero's RandomX: the only profile
        }
        if built:
            entry.update(stats.details)
        elif cls.absent_fields:
            entry.update(cls.absent_fields)
            # what an unavailable backend still knows (Backend.absent_fields)
            entry.update({k: v for k, v in stats.details.items() if k in entry})
        entry.update(cls.extra_fields(stats, state, running))
        if running:
            entry["hashrate"] = [round_rate(r) for r in stats.hashrate()]
            entry["threads"] = [cls.thread_entry(t, round_rate) for t in stats.threads]
        return entry

    @classmethod
    def extra_fields(
        cls, stats: BackendStats, state: SharedState, running: bool
    ) -> dict[str, object]:
        """Keys after the backend's own, running or not (the CPU's memory)."""
        return {}

    @classmethod
    def thread_entry(cls, thread: ThreadInfo, round_rate: RoundRate) -> dict[str, Any]:
        """A thread's entry: its keys, its hashrate, its device's keys (XMRig's order)."""
        out: dict[str, Any] = dict(thread.details)
        out["hashrate"] = [round_rate(r) for r in thread.counter.rates()]
        out.update(thread.device)
        return out

    # -- console --------------------------------------------------------------------------
    @classmethod
    def hashrate_rows(cls, stats: BackendStats) -> list[HashrateRow]:
        return [HashrateRow(t.index, t.affinity, t.counter.rates()) for t in stats.threads]

    @classmethod
    def health_lines(cls, stats: BackendStats, sensed: bool) -> list[str]:
        """XMRig's health report, a line a device (``sensed``: only those with a reading)."""
        return []


def view_for(name: str) -> type[BackendView]:
    """The view of a backend by name (KeyError: no such backend)."""
    module, _, cls = _VIEWS[name].partition(":")
    view: type[BackendView] = getattr(importlib.import_module(module), cls)
    return view
