"""GPU health: NVML where the library is missing (every CI machine) or turned off, and how a
reading travels: the shared state, /2/backends (XMRig's keys and order) and the console's
health report."""

from __future__ import annotations

import pytest

from xminer.api.machine import floor2
from xminer.backends.cuda.nvml import GpuHealth, Nvml
from xminer.backends.view import view_for
from xminer.console.keys import health_lines
from xminer.state import SharedState, ThreadInfo

pynvml = pytest.importorskip("pynvml")  # nvidia-ml-py: the test and cuda extras

H100 = {
    "name": "NVIDIA H100 80GB HBM3", "bus_id": "0000:19:00.0", "smx": 132, "arch": 90,
    "global_mem": 84929216512, "clock": 1980, "memory_clock": 2619,
}  # fmt: skip
READING = GpuHealth(temperature=41, power=118, clock=1980, mem_clock=2619, fan_speed=[])


def test_nvml_off_reads_nothing() -> None:
    nvml = Nvml(False)
    assert nvml.start() == "NVML disabled (--no-nvml)"
    assert not nvml.running and nvml.read(H100["bus_id"]) is None
    nvml.close()


def test_nvml_without_its_library_says_why_and_reads_nothing() -> None:
    nvml = Nvml(True)
    reason = nvml.start()
    if reason is None:  # a machine with the NVIDIA driver
        try:
            assert nvml.driver and nvml.version
            assert nvml.read("0000:ff:1f.7") is None  # no device there
        finally:
            nvml.close()
        return
    assert reason.startswith("NVML unavailable: ")
    assert nvml.read(H100["bus_id"]) is None


@pytest.mark.parametrize("library", ["/nonexistent/libnvidia-ml.so.1", "libc.so.6"])
def test_a_library_path_that_is_not_nvml_is_named(library: str) -> None:
    nvml = Nvml(library)
    reason = nvml.start()
    assert reason is not None and reason.startswith(f"NVML unavailable ({library}): ")
    assert pynvml.nvmlLib is None  # the next start looks for the driver's library again


def test_a_reading_as_xmrig_reports_it() -> None:
    hot = GpuHealth(temperature=65, power=250, clock=1755, mem_clock=1593, fan_speed=[30, 31])
    assert hot.describe() == "250W 65C 1755/1593 MHz fan0:30% fan1:31%"
    assert hot.to_json() == {
        "temperature": 65, "power": 250, "clock": 1755, "mem_clock": 1593, "fan_speed": [30, 31],
    }  # fmt: skip
    assert GpuHealth.from_json(hot.to_json()) == hot
    assert READING.describe() == "118W 41C 1980/2619 MHz"  # no fans (a server card)


def cuda_state(with_health: bool) -> SharedState:
    """A running CUDA backend's threads as CudaBackend publishes them (two on one card)."""
    state = SharedState()
    stats = state.backend("cuda")
    stats.enabled = stats.running = True
    device = {**H100, **({"health": READING.to_json()} if with_health else {})}
    details = {
        "index": 0, "threads": 32, "blocks": 528, "bfactor": 0, "bsleep": 0, "affinity": -1,
        "dataset_host": False,
    }  # fmt: skip
    stats.threads = [
        ThreadInfo(i, state.new_counter(), -1, 16896, dict(details), dict(device)) for i in range(2)
    ]
    return state


def test_api_thread_entry_keys_and_order() -> None:
    thread = cuda_state(with_health=True).backends["cuda"].threads[0]
    entry = view_for("cuda").thread_entry(thread, floor2)
    assert list(entry) == [
        "index", "threads", "blocks", "bfactor", "bsleep", "affinity", "dataset_host",
        "hashrate", "name", "bus_id", "smx", "arch", "global_mem", "clock", "memory_clock",
        "health",
    ]  # fmt: skip
    assert entry["health"] == {
        "temperature": 41, "power": 118, "clock": 1980, "mem_clock": 2619, "fan_speed": [],
    }  # fmt: skip
    assert len(entry["hashrate"]) == 3


def test_health_report_one_line_a_device() -> None:
    line = "HEALTH cuda #0 0000:19:00.0 NVIDIA H100 80GB HBM3 118W 41C 1980/2619 MHz"
    assert health_lines(cuda_state(with_health=True)) == [line]
    assert health_lines(cuda_state(with_health=True), sensed=True) == [line]
    unsensed = cuda_state(with_health=False)
    assert health_lines(unsensed) == [
        "HEALTH cuda #0 0000:19:00.0 NVIDIA H100 80GB HBM3 no sensor data"
    ]
    assert health_lines(unsensed, sensed=True) == []  # the periodic report stays quiet
    assert health_lines(SharedState()) == ["HEALTH no GPU backends are running"]
    assert health_lines(SharedState(), sensed=True) == []


def test_periodic_reports_follow_their_settings(caplog: pytest.LogCaptureFixture) -> None:
    """print-time and health-print-time as the miner runs them: every N seconds, 0 never,
    the period read again each round (a config reload may change it)."""
    import asyncio
    import logging

    from xminer.console.reports import every, print_health

    state = cuda_state(with_health=True)
    finished = asyncio.Event()
    periods = iter([1, 1, 0])  # round 1: 1 s (read twice), round 2: 0 (never)

    def report() -> None:
        print_health(health_lines(state, sensed=True))

    async def run() -> None:
        health = asyncio.ensure_future(every(finished, lambda: next(periods, 0), report))
        await asyncio.sleep(2.3)
        finished.set()
        await health

    with caplog.at_level(logging.INFO, logger="xminer"):
        asyncio.run(run())
    reports = [r.getMessage() for r in caplog.records if r.getMessage().startswith("HEALTH")]
    assert reports == ["HEALTH cuda #0 0000:19:00.0 NVIDIA H100 80GB HBM3 118W 41C 1980/2619 MHz"]
