"""The offline benchmark end to end, and clean exits on SIGINT/SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.cli_support import bench_sum
from tests.cli_support import spawn as xminer
from tests.monerod import free_port


def wait_for(proc: subprocess.Popen[str], pattern: str, timeout: float) -> list[str]:
    """Read lines until one matches; fail with the output so far."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"no {pattern!r} in:\n{''.join(lines)}")


def test_light_bench_prints_sum_without_reference() -> None:
    proc = xminer("--bench=300", "--randomx-mode=light", "-t", "2")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert re.search(
        r"benchmark finished in [\d.]+ seconds \([\d.]+ h/s\) hash sum = [0-9A-F]{16}", out
    )
    assert "no reference sum for 300" in out


@pytest.mark.slow
def test_bench_10k_two_threads_matches_reference() -> None:
    proc = xminer("--bench=10K", "-t", "2", "--randomx-mode=fast")
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    assert "hash sum = 4A597463865ACF0E" in out
    assert "matches the reference 4A597463865ACF0E" in out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_dataset_init_exits_zero(sig: signal.Signals) -> None:
    proc = xminer("--bench=10K", "-t", "2", "--randomx-mode=fast", "--no-huge-pages")
    wait_for(proc, r"init dataset", 60)
    time.sleep(2)  # inside the 2 GiB build
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "dataset initialisation interrupted" in out


def test_sigint_while_hashing_exits_zero() -> None:
    proc = xminer("--bench=1M", "-t", "2", "--randomx-mode=light", "--print-time=1")
    wait_for(proc, r"speed 10s/60s/15m", 60)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "SIGINT received" in out


def exits_within(proc: subprocess.Popen[str], seconds: float) -> str:
    try:
        out, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"still running {seconds:.0f} s after the signal:\n{out}") from None
    assert proc.returncode == 0, out
    return out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_one_thread_light_benchmark_stops_promptly(sig: signal.Signals) -> None:
    """The chained one-thread batch ends on stop instead of hashing on to its end."""
    args = ("--bench=1M", "-t", "1", "--randomx-mode=light", "--no-huge-pages", "--print-time=1")
    proc = xminer(*args)
    wait_for(proc, r"speed 10s/60s/15m \d", 120)  # hashing, and the 10 s rate is up
    proc.send_signal(sig)
    assert f"{sig.name} received" in exits_within(proc, 10)


@pytest.mark.opencl
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_opencl_miner_stops_promptly(
    opencl_kernels: object, tmp_path: Path, sig: signal.Signals
) -> None:
    """A PoCL thread in light mode (a second or so a hash) with a large intensity does not
    hash its whole batch before it stops."""
    thread = {"index": 0, "intensity": 64, "worksize": 1, "threads": [-1], "bfactor": 0}
    config = {
        "benchmark": {"size": "1M"}, "randomx": {"mode": "light"}, "cpu": {"enabled": False},
        "opencl": {"enabled": True, "platform": 0, "rx": [thread]}, "huge-pages": False,
        "print-time": 1, "http": {"enabled": False},
    }  # fmt: skip
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    proc = xminer("-c", str(path))
    wait_for(proc, r"speed 10s/60s/15m \d", 180)
    proc.send_signal(sig)
    assert f"{sig.name} received" in exits_within(proc, 10)


def test_api_port_taken_is_tried_again() -> None:
    """As XMRig: a taken port is logged and tried again (every 10 s) until it is free."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = xminer("--bench=1M", "-t", "1", "--randomx-mode=light", f"--http-port={port}")
        wait_for(proc, rf"HTTP API cannot listen on 127\.0\.0\.1:{port}.*next try", 60)
    wait_for(proc, rf"HTTP API 127\.0\.0\.1:{port}$", 30)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/2/summary", timeout=10) as reply:
        assert reply.status == 200 and json.load(reply)["ua"].startswith("xminer/")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out


def test_watched_file_edit_applies_live(tmp_path: Path) -> None:
    """The CLI end to end: an edit of the watched file starts the API and adds a thread."""
    config = {
        "benchmark": {"size": "1M"}, "randomx": {"mode": "light"}, "cpu": {"rx": [-1]},
        "huge-pages": False, "watch": True, "print-time": 0, "http": {"enabled": False},
    }  # fmt: skip
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    proc = xminer("-c", str(path))
    try:
        wait_for(proc, r"cache \(light mode\) ready", 60)
        port = free_port()
        config["http"] = {"enabled": True, "host": "127.0.0.1", "port": port}
        config["cpu"] = {"rx": [-1, -1]}
        path.write_text(json.dumps(config))
        lines = wait_for(proc, rf"HTTP API 127\.0\.0\.1:{port}$", 30)
        assert any(re.search(r"config changed: .*cpu", line) for line in lines), lines
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            url = f"http://127.0.0.1:{port}/2/backends"
            with urllib.request.urlopen(url, timeout=10) as reply:
                cpu = json.load(reply)[0]
            if len(cpu.get("threads") or []) == 2:
                break
            time.sleep(0.5)
        assert cpu["type"] == "cpu" and len(cpu["threads"]) == 2, cpu
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out


def test_python_loop_benchmark_sum_equals_the_c_loop_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XMINER_NATIVE=0: the Python loop, cut into the same pieces, sums the same hashes."""
    args = ("--bench=100", "-t", "2", "--randomx-mode=light", "--no-huge-pages")
    monkeypatch.delenv("XMINER_NATIVE", raising=False)
    native = bench_sum(tmp_path, *args)
    monkeypatch.setenv("XMINER_NATIVE", "0")
    assert bench_sum(tmp_path, *args) == native
