#!/usr/bin/env python3
"""Does serving the API slow hashing?  One run, one miner (benchmark mode, 127.0.0.1 only):

  idle 1 -> loaded (REQ/s of GET PATH, /2/summary unless --path) -> idle 2

The hashrate of each 60 s phase is the miner's own 60 s window read at the phase's end (one
request); the loss compares the loaded phase with the mean of the two idle phases around it,
which cancels slow drift.  The load generator runs on the same machine: on a small machine its
own CPU use is part of what the hashing loses.  Latency is
measured per request, from its scheduled send time to the last byte (so a stalled server shows).

    python tools/bench_api.py [--mode light|fast] [--threads N] [--rate 200] [--loops c,python]
    python tools/bench_api.py --path /metrics --rate 1     # a Prometheus scraping every second

``--loops c,python`` runs the whole sequence once with the C batch loop and once with the
Python loop (``XMINER_NATIVE=0``), to show what taking the GIL once per hash costs under load.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench"
WINDOW = 60.0  # the summary's second window


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_miner(port: int, mode: str, threads: int, loop: str) -> subprocess.Popen[str]:
    args = [
        sys.executable, "-m", "xminer", "--bench=10M", f"--randomx-mode={mode}",
        "-t", str(threads), "--no-color", "--print-time=0", "--http-host=127.0.0.1",
        f"--http-port={port}", f"--http-access-token={TOKEN}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    env["XMINER_NATIVE"] = "0" if loop == "python" else "1"
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=ROOT)  # fmt: skip


class Client:
    """One keep-alive connection to the API."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def get(self, path: str) -> dict:
        return json.loads(self.fetch(path))

    def fetch(self, path: str) -> bytes:
        for attempt in (1, 2):
            try:
                self.conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
                resp = self.conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"{path}: HTTP {resp.status}")
                return body
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def rates(self) -> list[float | None]:
        return self.get("/2/summary")["hashrate"]["total"]


def wait_ready(proc: subprocess.Popen[str], port: int) -> Client:
    assert proc.stdout is not None
    for line in proc.stdout:
        if re.search(rf"HTTP API 127\.0\.0\.1:{port}", line):
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain the log
            return Client(port)
    raise SystemExit("the miner exited before its API came up")


def phase_rate(client: Client) -> float:
    """The 60 s window at the end of the next 60 s."""
    time.sleep(WINDOW)
    rate = client.rates()[1]
    if rate is None:
        raise SystemExit("the miner's 60 s window is empty: it hashed too slowly to measure")
    return rate


def load(
    port: int,
    path: str,
    rate: float,
    stop: threading.Event,
    latencies: list[float],
    cpu: list[float],
) -> None:
    client = Client(port)
    interval = 1.0 / rate
    due = time.perf_counter()
    started = time.thread_time()
    while not stop.is_set():
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
        client.fetch(path)
        latencies.append(time.perf_counter() - due)
        due += interval
    cpu.append(time.thread_time() - started)


TICK = os.sysconf("SC_CLK_TCK")


def main_thread_cpu(pid: int) -> float:
    """CPU seconds of the miner's main thread: the event loop, where the API runs."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


@dataclass
class Outcome:
    idle1: float
    loaded: float
    idle2: float
    served: float
    latencies: list[float]
    api_cpu: float  # CPU seconds of the miner's main thread during the loaded phase
    client_cpu: float  # CPU seconds of the load generator
    seconds: float  # length of the loaded phase

    @property
    def lost(self) -> float:
        return 1 - self.loaded / ((self.idle1 + self.idle2) / 2)


def measure(mode: str, threads: int, path: str, rate: float, loop: str) -> Outcome:
    port = free_port()
    proc = start_miner(port, mode, threads, loop)
    try:
        client = wait_ready(proc, port)
        while not client.rates()[0]:  # hashing: the dataset is ready and samples come in
            time.sleep(1)
        idle1 = phase_rate(client)
        stop, latencies, client_cpu = threading.Event(), [], []
        loader = threading.Thread(target=load, args=(port, path, rate, stop, latencies, client_cpu))
        started, api_before = time.perf_counter(), main_thread_cpu(proc.pid)
        loader.start()
        loaded = phase_rate(client)
        stop.set()
        loader.join()
        seconds = time.perf_counter() - started
        api_cpu = main_thread_cpu(proc.pid) - api_before
        served = len(latencies) / seconds
        idle2 = phase_rate(client)
    finally:
        proc.terminate()
        proc.wait(30)
    return Outcome(idle1, loaded, idle2, served, latencies, api_cpu, client_cpu[0], seconds)


def report(loop: str, path: str, o: Outcome) -> None:
    lat = sorted(o.latencies)
    p99 = lat[int(0.99 * (len(lat) - 1))]
    print(f"[{loop} loop]")
    idle = (o.idle1 + o.idle2) / 2
    print(f"  hashrate idle   {idle:8.2f} H/s  (before {o.idle1:.2f}, after {o.idle2:.2f})")
    print(f"  hashrate loaded {o.loaded:8.2f} H/s  at {o.served:.1f} req/s of GET {path}")
    print(f"  lost            {100 * o.lost:8.2f} %")
    print(f"  latency median  {1000 * statistics.median(lat):8.2f} ms")
    print(f"  latency p99     {1000 * p99:8.2f} ms  ({len(lat)} requests)")
    n, cpus = len(lat), os.cpu_count() or 1
    print(
        f"  CPU per request {1000 * o.api_cpu / n:8.3f} ms in the miner's API thread, "
        f"{1000 * o.client_cpu / n:.3f} ms in the load generator"
    )
    share = (o.api_cpu + o.client_cpu) / (o.seconds * cpus)
    print(f"  API + load generator used {100 * share:.2f} % of the machine's {cpus} CPUs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["light", "fast"], default="light")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second")
    ap.add_argument("--path", default="/2/summary", help="what the load requests (/metrics)")
    ap.add_argument("--loops", default="c", help="c, python or c,python")
    opts = ap.parse_args()
    loops = [x.strip() for x in opts.loops.split(",") if x.strip()]
    outcomes = {
        loop: measure(opts.mode, opts.threads, opts.path, opts.rate, loop) for loop in loops
    }
    print(f"mode {opts.mode}, {opts.threads} hashing threads, {os.cpu_count()} logical CPUs")
    for loop, outcome in outcomes.items():
        report(loop, opts.path, outcome)


if __name__ == "__main__":
    main()
