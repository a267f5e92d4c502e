"""The bodies of the GET endpoints, built from the miner's shared state on each request.

Reading the state takes only its short locks; nothing here waits for a hashing thread.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from typing import TYPE_CHECKING, Any

from xminer.api.machine import MachineInfo, floor2, instance_id, resources, worker_id
from xminer.backends import KNOWN_BACKENDS
from xminer.backends.view import hashing, view_for
from xminer.config.model import Api, Http
from xminer.randomx.binding import Flags
from xminer.state import BackendStats, SeedSwitch, SharedState
from xminer.version import __version__

if TYPE_CHECKING:
    from xminer.miner import Miner

ALGORITHMS = ["rx/0"]


def rates(values: list[float | None]) -> list[float | None]:
    return [floor2(v) for v in values]


def features(miner: Miner) -> list[str]:
    out = ["api"]
    if miner.rx.flags & Flags.JIT:
        out.append("asm")
    out.append("http")
    for name in ("opencl", "cuda"):
        if importlib.util.find_spec(f"xminer.backends.{name}") is not None:
            out.append(name)
    return out


class Views:
    """Snapshots of the miner for /2/summary, /1/summary, /2/backends and /2/dmi."""

    def __init__(self, miner: Miner, http: Http, api: Api, machine: MachineInfo) -> None:
        self.miner = miner
        self.http = http
        self.machine = machine
        self.id = api.id or instance_id(http.port, machine.mac)
        self.worker_id = worker_id(api.worker_id)
        self.features = features(miner)

    @property
    def state(self) -> SharedState:
        return self.miner.state

    # ---- summary -----------------------------------------------------------------------
    def summary(self, version: int) -> dict[str, Any]:
        state = self.state
        total = self.total_hashrate()
        hashrate: dict[str, Any] = {"total": total, "highest": floor2(state.highest_total or None)}
        if version == 1:
            threads = [t for b in self._running() for t in b.threads]
            hashrate["threads"] = [rates(t.counter.rates()) for t in threads]
        pages = state.dataset.huge_pages
        summary = {
            "id": self.id,
            "worker_id": self.worker_id,
            "uptime": state.uptime(),
            "restricted": self.http.restricted,
            "resources": resources(),
            "features": self.features,
            "results": self.results(version),
            "algo": state.algo or None,
            "connection": self.connection(version),
            "version": __version__,
            "kind": "miner",
            "ua": self.machine.ua,
            "cpu": self.machine.cpu,
            "donate_level": 0,  # xminer has no donation
            "paused": state.paused and not self.miner.stopped,  # XMRig: stop is not a pause
            "algorithms": ALGORITHMS,
            "hashrate": hashrate,
            "hugepages": list(pages) if version == 2 else bool(pages[1] and pages[0] == pages[1]),
        }
        switch = seed_switch(state.dataset.last_switch)
        if version == 2 and switch is not None:  # xminer's own, after the first seed switch
            summary["seed_switch"] = switch
        return summary

    def total_hashrate(self) -> list[float | None]:
        if self.miner.stopped:
            return [0.0, 0.0, 0.0]  # as XMRig after "stop"
        return rates(self.state.total_hashrate())

    def _conn_uptime_ms(self) -> int:
        since = self.state.connection.get("since")
        if not isinstance(since, int | float):
            return 0
        return max(0, int((time.time() - since) * 1000))

    def _avg(self) -> tuple[int, int]:
        accepted = self.state.results.accepted
        ms = self._conn_uptime_ms()
        if not accepted:
            return 0, 0
        return ms // accepted // 1000, ms // accepted

    def results(self, version: int) -> dict[str, Any]:
        r = self.state.results
        avg_s, avg_ms = self._avg()
        out: dict[str, Any] = {
            "diff_current": self.state.difficulty,
            "shares_good": r.accepted,
            "shares_total": r.accepted + r.rejected,
            "avg_time": avg_s,
            "avg_time_ms": avg_ms,
            "hashes_total": r.hashes_total,
            "best": (list(r.best) + [0] * 10)[:10],
        }
        if version == 1:
            out["error_log"] = []
        return out

    def connection(self, version: int) -> dict[str, Any]:
        c = self.state.connection
        r = self.state.results
        ms = self._conn_uptime_ms()
        avg_s, avg_ms = self._avg()
        out: dict[str, Any] = {
            "pool": str(c.get("pool", "")),
            "ip": c.get("ip"),
            "uptime": ms // 1000,
            "uptime_ms": ms,
            "ping": int(statistics.median(r.latencies_ms)) if r.latencies_ms else 0,
            "failures": int(c.get("failures", 0)),  # type: ignore[call-overload]
            "tls": c.get("tls"),
            "tls-fingerprint": c.get("tls-fingerprint"),
            "algo": self.state.algo or None,
            "diff": self.state.difficulty,
            "accepted": r.accepted,
            "rejected": r.rejected,
            "avg_time": avg_s,
            "avg_time_ms": avg_ms,
            "hashes_total": r.hashes_total,
        }
        if version == 1:
            out["error_log"] = []
        return out

    # ---- backends ----------------------------------------------------------------------
    def _is_running(self, stats: BackendStats) -> bool:
        return hashing(stats, self.state)

    def _running(self) -> list[BackendStats]:
        with self.state.lock:
            all_stats = list(self.state.backends.values())
        return [b for b in all_stats if self._is_running(b)]

    def backends(self) -> list[dict[str, Any]]:
        return [self.backend(name) for name in KNOWN_BACKENDS]

    def backend(self, name: str) -> dict[str, Any]:
        """The backend's entry as its view renders it (from the shared state alone)."""
        stats = self.state.backends.get(name) or BackendStats(name)
        built = name in self.miner.backends
        return view_for(name).api_entry(stats, self.state, built, floor2)

    # ---- dmi ---------------------------------------------------------------------------
    @staticmethod
    def dmi() -> dict[str, Any]:
        return read_dmi()


DMI = "/sys/class/dmi/id/"


def _dmi_field(name: str) -> str | None:
    try:
        with open(DMI + name) as f:
            value = f.read().strip()
    except OSError:
        return None
    return value or None


def read_dmi() -> dict[str, Any]:
    """What Linux exposes of SMBIOS without root: vendor and product names."""
    version = "0.0.0"
    try:
        with open("/sys/firmware/dmi/tables/smbios_entry_point", "rb") as f:
            head = f.read(32)
        if head[:5] == b"_SM3_":
            version = f"{head[7]}.{head[8]}.{head[9]}"
        elif head[:4] == b"_SM_":
            version = f"{head[6]}.{head[7]}.0"
    except OSError:
        pass
    return {
        "smbios": version,
        "system": {"vendor": _dmi_field("sys_vendor"), "product": _dmi_field("product_name")},
        "board": {"vendor": _dmi_field("board_vendor"), "product": _dmi_field("board_name")},
        "memory": [],
    }


def seed_switch(switch: SeedSwitch | None) -> dict[str, Any] | None:
    """What the last seed switch cost (null before the first): its path ("ahead": built
    ahead, "light": light-mode bridge, "rebuild": stopped), seconds idle and in light mode."""
    if switch is None:
        return None
    return {
        "path": switch.path,
        "built_ahead": switch.built_ahead,
        "reason": switch.reason,
        "height": switch.height,
        "idle": round(switch.idle_s, 3),
        "light": round(switch.light_s, 3),
        "done": switch.done,
    }
