"""GET /metrics: the API's access rules, the metrics read from the shared state, `promtool check
metrics` on the output, and a real Prometheus (Debian's package) scraping a running miner."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api_support import TOKEN, Request, RunningMiner, auth
from tests.cli_support import stop_process
from tests.config_support import miner_config
from xminer.api.metrics import Metrics
from xminer.backends.cuda.nvml import GpuHealth
from xminer.config.model import Http
from xminer.miner import Miner
from xminer.state import SharedState, ThreadInfo

pytestmark = pytest.mark.timeout(300)

RESTRICTED = Http(enabled=True, port=0, access_token=TOKEN, restricted=True)


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: tools/install-deps.sh installs Debian's prometheus"
    return path


Key = tuple[str, tuple[tuple[str, str], ...]]


def key(name: str, labels: dict[str, str]) -> Key:
    return name, tuple(sorted(labels.items()))


def samples(text: str) -> dict[Key, float]:
    """{(sample name, sorted labels): value} of an exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[key(s.name, s.labels)] = s.value
    return out


@pytest.fixture(scope="module")
def rm() -> Iterator[RunningMiner]:
    with RunningMiner(RESTRICTED) as running:
        running.wait_for(lambda: b'window="10s"' in running.get("/metrics").body, 120)
        yield running


# ---- the endpoint ---------------------------------------------------------------------------
def test_metrics_need_the_token_and_restricted_mode_allows_them(rm: RunningMiner) -> None:
    assert rm.get("/metrics", token=None).status == 401
    assert rm.get("/metrics", token="WRONG").status == 403
    reply = rm.get("/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.headers["access-control-allow-origin"] == "*"
    head = rm.request(Request("HEAD", "/metrics", auth(TOKEN)))
    assert (head.status, head.body) == (200, b"")


def test_metrics_follow_the_miner(rm: RunningMiner) -> None:
    first = samples(rm.get("/metrics").body.decode())
    cpu = {"backend": "cpu"}
    summary = rm.get("/2/summary").json()
    expected = [
        ("xminer_info", {"backends": "cpu", "version": summary["version"]}, 1),
        ("xminer_algorithm_info", {"algo": "rx/0"}, 1),
        ("xminer_backend_up", cpu, 1),
        ("xminer_backend_up", {"backend": "opencl"}, 0),
        ("xminer_dataset_ready", {}, 1),
        ("xminer_paused", {}, 0),
        ("xminer_huge_pages_needed", {}, summary["hugepages"][1]),
    ]
    assert [first.get(key(name, labels)) for name, labels, _ in expected] == [
        value for _, _, value in expected
    ]
    assert first[key("xminer_dataset_init_seconds", {})] > 0
    rate = first[key("xminer_thread_hashrate_hashes_per_second",
                     {**cpu, "thread": "0", "window": "10s"})]  # fmt: skip
    assert rate > 0  # one thread: its backend's rate and the total are that one's
    backend = first[key("xminer_backend_hashrate_hashes_per_second", {**cpu, "window": "10s"})]
    assert first[key("xminer_hashrate_hashes_per_second", {"window": "10s"})] == backend > 0
    assert key("xminer_hashrate_hashes_per_second", {"window": "15m"}) not in first  # not full

    def more_hashes() -> bool:
        now = samples(rm.get("/metrics").body.decode())
        return now[key("xminer_hashes_total", cpu)] > first[key("xminer_hashes_total", cpu)]

    rm.wait_for(more_hashes)


def test_promtool_accepts_the_output(rm: RunningMiner, tmp_path: Path) -> None:
    text = rm.get("/metrics").body
    (tmp_path / "metrics.txt").write_bytes(text)
    done = subprocess.run([tool("promtool"), "check", "metrics"], input=text,
                          capture_output=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout + done.stderr == b""  # no lint finding either


def test_openmetrics_when_asked(rm: RunningMiner) -> None:
    accept = {"Accept": "application/openmetrics-text; version=1.0.0"}
    reply = rm.request(Request("GET", "/metrics", {**auth(TOKEN), **accept}))
    assert reply.headers["content-type"].startswith("application/openmetrics-text")
    assert reply.body.rstrip().endswith(b"# EOF")
    assert b"xminer_hashes_total{" in reply.body


# ---- the state behind the metrics ------------------------------------------------------------
def test_collector_reads_results_pool_and_gpu_health() -> None:
    """Shares, the connection and a GPU thread's NVML reading, as a pool session and the CUDA
    backend write them into the shared state."""
    state = SharedState()
    miner = Miner(miner_config(1, "light"), state=state)
    r = state.results
    r.accepted, r.rejected, r.invalid, r.stale, r.latencies_ms = 5, 2, 1, 3, [40, 60, 80]
    state.connection = {"pool": "127.0.0.1:3333", "ip": "127.0.0.1", "failures": 1}
    state.height, state.difficulty = 3_100_000, 120_000
    cuda = state.backend("cuda")
    cuda.hw_errors = 4
    health = GpuHealth(temperature=65, power=250, clock=1755, mem_clock=1593, fan_speed=[30, 35])
    device = {"name": "NVIDIA H200", "bus_id": "0000:01:00.0", "health": health.to_json()}
    for i in range(2):  # two threads on one device: one set of readings
        cuda.threads.append(ThreadInfo(i, state.new_counter(), details={"index": 0}, device=device))
    got = samples(Metrics(miner).render(None)[1].decode())
    gpu = {"backend": "cuda", "index": "0", "device": "NVIDIA H200", "bus_id": "0000:01:00.0"}
    expected = [
        ("xminer_shares_total", {"result": "accepted"}, 5),
        ("xminer_shares_total", {"result": "rejected"}, 2),
        ("xminer_shares_total", {"result": "invalid"}, 1),
        ("xminer_shares_total", {"result": "stale"}, 3),
        ("xminer_hardware_errors_total", {"backend": "cuda"}, 4),
        ("xminer_pool_up", {"pool": "127.0.0.1:3333"}, 1),
        ("xminer_pool_latency_seconds", {}, 0.06),
        ("xminer_pool_failures_total", {}, 1),
        ("xminer_block_height", {}, 3_100_000),
        ("xminer_difficulty", {}, 120_000),
        ("xminer_gpu_temperature_celsius", gpu, 65),
        ("xminer_gpu_power_watts", gpu, 250),
        ("xminer_gpu_clock_hertz", {**gpu, "clock": "sm"}, 1_755_000_000),
        ("xminer_gpu_clock_hertz", {**gpu, "clock": "memory"}, 1_593_000_000),
        ("xminer_gpu_fan_speed_ratio", {**gpu, "fan": "0"}, 0.30),
        ("xminer_gpu_fan_speed_ratio", {**gpu, "fan": "1"}, 0.35),
    ]
    assert [got.get(key(name, labels)) for name, labels, _ in expected] == [
        value for _, _, value in expected
    ]
    assert sum(1 for name, _ in got if name == "xminer_gpu_temperature_celsius") == 1
    state.connection = {"pool": "127.0.0.1:3333", "ip": None}  # the connection was lost
    got = samples(Metrics(miner).render(None)[1].decode())
    assert got[key("xminer_pool_up", {"pool": "127.0.0.1:3333"})] == 0


# ---- a real Prometheus ----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCRAPE_CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: xminer
    authorization:
      credentials: {token}
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


class Prometheus:
    """Debian's prometheus on 127.0.0.1, storage in a temp dir, scraping one miner."""

    def __init__(self, tmp: Path, miner_port: int) -> None:
        self.port = free_port()
        config = tmp / "prometheus.yml"
        config.write_text(SCRAPE_CONFIG.format(token=TOKEN, port=miner_port))
        self.log = tmp / "prometheus.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [tool("prometheus"), f"--config.file={config}",
                 f"--storage.tsdb.path={tmp / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def get(self, path: str) -> bytes:
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.read()

    def ready(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()
        try:
            return self.get("/-/ready").startswith(b"Prometheus Server is Ready")
        except OSError:
            return False

    def query(self, expr: str) -> list[dict[str, object]]:
        body = json.loads(self.get("/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None  # type: ignore[index]

    def stop(self) -> None:
        stop_process(self.proc, 30)


def test_prometheus_scrapes_rising_hashes(rm: RunningMiner, tmp_path: Path) -> None:
    prometheus = Prometheus(tmp_path, rm.port)
    try:
        rm.wait_for(prometheus.ready, 120)
        rm.wait_for(lambda: prometheus.value('up{job="xminer"}') == 1, 120)
        seen: list[float] = []

        def rising() -> bool:
            value = prometheus.value('xminer_hashes_total{backend="cpu"}')
            if value is not None and (not seen or value != seen[-1]):
                seen.append(value)
            return len(seen) >= 3

        rm.wait_for(rising, 120)
        assert seen == sorted(seen), seen
        rate = prometheus.value('rate(xminer_hashes_total{backend="cpu"}[10s])')
        assert rate is not None and rate > 0
        assert prometheus.value('xminer_hashrate_hashes_per_second{window="10s"}')
    finally:
        prometheus.stop()  # its log stays in tmp_path
