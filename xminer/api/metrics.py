"""GET /metrics: the miner's shared state in Prometheus's exposition format.

A custom collector reads ``SharedState`` at scrape time (the same numbers /2/summary and
/2/backends show), so there is no second bookkeeping; ``prometheus-client`` writes the text.
Names follow Prometheus's conventions: the ``xminer_`` prefix, ``_total`` on counters, base
units (seconds, hertz, ratios). A rate window that is not full yet is left out, not 0.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from xminer.api.http import ApiHandler, ApiService
from xminer.backends import KNOWN_BACKENDS
from xminer.state import WINDOWS, BackendStats, SharedState, sum_rates
from xminer.version import __version__

if TYPE_CHECKING:
    from xminer.miner import Miner

WINDOW_LABELS = tuple(f"{int(w)}s" if w < 600 else f"{int(w // 60)}m" for w in WINDOWS)
SHARE_RESULTS = ("accepted", "rejected", "invalid", "stale")
GPU_LABELS = ["backend", "index", "device", "bus_id"]
MHZ = 1_000_000


def gauge(
    name: str, doc: str, value: float | None = None, labels: list[str] | None = None
) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"xminer_{name}", doc, value=value, labels=labels)


def counter(name: str, doc: str, labels: list[str] | None = None) -> CounterMetricFamily:
    return CounterMetricFamily(f"xminer_{name}", doc, labels=labels)


def add_rates(family: GaugeMetricFamily, labels: list[str], rates: list[float | None]) -> None:
    """One sample per window that has a rate (XMRig's null windows are left out)."""
    for window, rate in zip(WINDOW_LABELS, rates, strict=True):
        if rate is not None:
            family.add_metric([*labels, window], rate)


class MinerCollector(Collector):
    """Everything the miner knows, read from its state on every scrape."""

    def __init__(self, miner: Miner) -> None:
        self.miner = miner

    @property
    def state(self) -> SharedState:
        return self.miner.state

    def collect(self) -> Iterator[Metric]:
        yield from self._info()
        yield from self._hashing()
        yield from self._results()
        yield from self._pool()
        yield from self._dataset()
        yield from self._gpu_health()

    # ---- what runs -----------------------------------------------------------------------
    def _info(self) -> Iterable[Metric]:
        info = InfoMetricFamily("xminer", "Version and the backends in use")
        backends = ",".join(n for n in KNOWN_BACKENDS if n in self.miner.backends)
        info.add_metric([], {"version": __version__, "backends": backends})
        yield info
        algo = InfoMetricFamily("xminer_algorithm", "The algorithm of the current job")
        if self.state.algo:
            algo.add_metric([], {"algo": self.state.algo})
        yield algo
        yield gauge("uptime_seconds", "Seconds since the miner started", self.state.uptime())
        paused = self.state.paused and not self.miner.stopped
        yield gauge("paused", "1 while paused (pause or the console's p)", float(paused))
        yield gauge("stopped", "1 after the API's stop, until start", float(self.miner.stopped))

    def _all(self) -> list[BackendStats]:
        with self.state.lock:
            return list(self.state.backends.values())

    def _running(self) -> list[BackendStats]:
        """The backends that hash now (as /2/backends: running, threads, dataset ready)."""
        if self.miner.stopped or not self.state.dataset.ready:
            return []
        return [b for b in self._all() if b.running and b.threads]

    def _hashing(self) -> Iterable[Metric]:
        running = self._running()
        total = gauge("hashrate_hashes_per_second", "Hashrate of all backends", labels=["window"])
        backend = gauge("backend_hashrate_hashes_per_second", "Hashrate per backend",
                        labels=["backend", "window"])  # fmt: skip
        thread = gauge("thread_hashrate_hashes_per_second", "Hashrate per thread or GPU thread",
                       labels=["backend", "thread", "window"])  # fmt: skip
        per_backend = [b.hashrate() for b in running]
        if self.miner.stopped:  # as /2/summary: 0 after stop, no rate while starting
            add_rates(total, [], [0.0] * len(WINDOWS))
        elif running:
            add_rates(total, [], sum_rates(per_backend))
        for stats, rates in zip(running, per_backend, strict=True):
            add_rates(backend, [stats.name], rates)
            for t in stats.threads:
                add_rates(thread, [stats.name, str(t.index)], t.counter.rates())
        yield from (total, backend, thread)
        yield self._hashes()
        up = gauge("backend_up", "1 while a backend hashes", labels=["backend"])
        names = {b.name for b in running}
        for name in KNOWN_BACKENDS:
            up.add_metric([name], float(name in names))
        yield up

    def _hashes(self) -> Metric:
        """Hashes per backend since its threads started (a restart of the threads resets it)."""
        hashes = counter("hashes", "Hashes computed", labels=["backend"])
        for b in self._all():
            if b.threads:
                hashes.add_metric([b.name], b.total_hashes)
        return hashes

    # ---- work source ---------------------------------------------------------------------
    def _results(self) -> Iterable[Metric]:
        r = self.state.results
        shares = counter("shares", "Shares by result: accepted and rejected by the pool, "
                         "invalid (failed the CPU check), stale (job replaced)",
                         labels=["result"])  # fmt: skip
        for result in SHARE_RESULTS:
            shares.add_metric([result], getattr(r, result))
        yield shares
        errors = counter("hardware_errors", "GPU results the CPU did not confirm",
                         labels=["backend"])  # fmt: skip
        for b in self._all():
            if b.name != "cpu":
                errors.add_metric([b.name], b.hw_errors)
        yield errors
        yield CounterMetricFamily("xminer_pool_hashes", "Sum of the accepted shares' "
                                  "difficulties", value=r.hashes_total)  # fmt: skip

    def _pool(self) -> Iterable[Metric]:
        conn: dict[str, Any] = dict(self.state.connection)
        up = gauge("pool_up", "1 while connected to a pool or daemon", labels=["pool"])
        up.add_metric([str(conn.get("pool", ""))], float(conn.get("ip") is not None))
        yield up
        latencies = list(self.state.results.latencies_ms)
        ping = statistics.median(latencies) / 1000 if latencies else 0.0
        yield gauge("pool_latency_seconds", "Median share round trip on this connection", ping)
        yield CounterMetricFamily("xminer_pool_failures", "Connections lost",
                                  value=int(conn.get("failures", 0) or 0))  # fmt: skip
        yield gauge("difficulty", "Difficulty of the current job", self.state.difficulty)
        yield gauge("block_height", "Height of the current job's block", self.state.height)

    def _dataset(self) -> Iterable[Metric]:
        ds = self.state.dataset
        yield gauge("dataset_ready", "1 when the RandomX cache or dataset is ready",
                    float(ds.ready))  # fmt: skip
        yield gauge("dataset_init_seconds", "Time the last cache or dataset took to build",
                    ds.init_ms / 1000)  # fmt: skip
        used, needed = ds.huge_pages
        yield gauge("huge_pages_used", "Huge pages allocated", used)
        yield gauge("huge_pages_needed", "Huge pages the dataset and scratchpads want", needed)

    # ---- GPU health ----------------------------------------------------------------------
    def _gpu_health(self) -> Iterable[Metric]:
        temp = gauge("gpu_temperature_celsius", "GPU temperature", labels=GPU_LABELS)
        power = gauge("gpu_power_watts", "GPU board power", labels=GPU_LABELS)
        clock = gauge("gpu_clock_hertz", "GPU clocks (sm, memory)", labels=[*GPU_LABELS, "clock"])
        fan = gauge("gpu_fan_speed_ratio", "GPU fan speed, 0..1", labels=[*GPU_LABELS, "fan"])
        for labels, health in self._devices():
            temp.add_metric(labels, health.get("temperature", 0))
            power.add_metric(labels, health.get("power", 0))
            clock.add_metric([*labels, "sm"], health.get("clock", 0) * MHZ)
            clock.add_metric([*labels, "memory"], health.get("mem_clock", 0) * MHZ)
            for i, speed in enumerate(health.get("fan_speed") or []):
                fan.add_metric([*labels, str(i)], speed / 100)
        yield from (temp, power, clock, fan)

    def _devices(self) -> Iterator[tuple[list[str], dict[str, Any]]]:
        """(labels, health) of each GPU device with a sensor reading, once per device."""
        for stats in self._all():
            if stats.name == "cpu":
                continue
            seen: set[str] = set()
            for t in list(stats.threads):
                health = t.device.get("health")
                index = str(t.details.get("index", t.index))
                if not isinstance(health, dict) or index in seen:
                    continue
                seen.add(index)
                name, bus = str(t.device.get("name", "")), str(t.device.get("bus_id", ""))
                yield [stats.name, index, name, bus], health


class Metrics:
    """The registry of one API server and its encoded output."""

    def __init__(self, miner: Miner) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(MinerCollector(miner))

    def render(self, accept: str | None) -> tuple[str, bytes]:
        """(content type, body) for the scraper's Accept header (OpenMetrics or text)."""
        encode, content_type = choose_encoder(accept or "")
        return content_type, encode(self.registry)


class MetricsHandler(ApiHandler):
    """GET /metrics through the API's pipeline: its token and restricted-mode rules."""

    def initialize(self, server: ApiService, metrics: Metrics) -> None:  # type: ignore[override]
        super().initialize(server)
        self.metrics = metrics

    def _routes(self) -> dict[tuple[str, str], Callable[[], Awaitable[None]]]:
        return {("GET", "/metrics"): self._metrics}

    async def _metrics(self) -> None:
        content_type, body = self.metrics.render(self.request.headers.get("Accept"))
        self.set_header("Content-Type", content_type)
        self.finish(body)
