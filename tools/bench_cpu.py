#!/usr/bin/env python3
"""xminer's CPU backend against a plain C loop over the same RandomX library, in one run.

Compiles tools/c/rx_loop.c, then for each thread count hashes for the same seconds with both,
and prints H/s and the ratio xminer/C; also times dataset initialisation both ways.

    python tools/bench_cpu.py --threads 1,2 --seconds 30

``--init-rounds N`` instead times the whole dataset initialisation as XMRig's log reports it
("dataset ready (N ms)": cache and dataset), each as a whole process, in turn N times: xminer
(generated C), xminer with XMINER_NATIVE=0 (the library's randomx_init_dataset) and, with
``--xmrig PATH``, XMRig as the yardstick.  Each xminer run gets an empty native cache, so the
per-seed compile is counted.

    python tools/bench_cpu.py --init-rounds 3 --init 2 --xmrig /path/to/xmrig
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xminer.backends.base import BackendContext
from xminer.backends.cpu import CpuBackend, plan_threads
from xminer.cpuinfo import cpu_info
from xminer.job import Job, JobSlot
from xminer.randomx import hugepages
from xminer.randomx.context import RandomXContext
from xminer.state import SharedState

C_SOURCE = Path(__file__).with_name("c") / "rx_loop.c"
SEED = bytes(32)


@dataclass
class Run:
    threads: int
    rate: float


class NullSink:
    def batch_done(self, *_: object) -> None:
        return None


def build_c_loop(workdir: Path) -> Path:
    exe = workdir / "rx_loop"
    cmd = ["cc", "-O2", "-o", str(exe), str(C_SOURCE), "-lrandomx", "-lpthread"]
    subprocess.run(cmd, check=True)
    return exe


def run_c(
    exe: Path, threads: list[int], seconds: float, init: int, large: bool
) -> tuple[int, list[Run]]:
    arg = ",".join(map(str, threads))
    out = subprocess.run(
        [str(exe), arg, str(seconds), str(init), "1" if large else "0"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    init_ms, runs = 0, []
    for line in out.splitlines():
        fields = dict(kv.split("=") for kv in line.split())
        if "init_ms" in fields:
            init_ms = int(float(fields["init_ms"]))
        else:
            runs.append(
                Run(int(fields["threads"]), int(fields["hashes"]) / float(fields["seconds"]))
            )
    return init_ms, runs


def run_xminer(threads: list[int], seconds: float, init: int, large: bool) -> tuple[int, list[Run]]:
    rx = RandomXContext("fast", init, large)
    started = time.monotonic()
    rx.prepare(SEED)
    init_ms = int((time.monotonic() - started) * 1000)
    runs = []
    job = Job("bench", bytes(76), SEED, target=0)
    for count in threads:
        state, slot = SharedState(), JobSlot()
        backend = CpuBackend(
            BackendContext(state, rx, slot, NullSink()), plan_threads(cpu_info(), count)
        )
        slot.set(job)
        backend.start()
        time.sleep(2.0)  # warm-up: VM creation, first batches
        before = [t.counter.latest() for t in backend.stats.threads]
        time.sleep(seconds)
        after = [t.counter.latest() for t in backend.stats.threads]
        backend.stop()
        rate = sum((n1 - n0) / (t1 - t0) for (t0, n0), (t1, n1) in zip(before, after, strict=True))
        runs.append(Run(count, rate))
    rx.release()
    return init_ms, runs


READY = re.compile(r"dataset ready \((\d+) ms\)")


def time_init(cmd: list[str], env: dict[str, str], timeout: float = 300.0) -> int:
    """Start ``cmd``, read its log up to "dataset ready (N ms)", stop it; N."""
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as proc:
        try:
            deadline = time.monotonic() + timeout
            assert proc.stdout is not None
            for line in proc.stdout:
                if found := READY.search(line):
                    return int(found.group(1))
                if time.monotonic() > deadline:
                    break
            raise RuntimeError(f"no 'dataset ready' from {cmd[0]}")
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def init_rounds(rounds: int, threads: int, xmrig: str | None) -> None:
    """The dataset initialisation of each contender, alternating, ``rounds`` times."""
    root = Path(__file__).resolve().parents[1]
    xminer = [sys.executable, "-m", "xminer", "--no-color", "--bench=1M", "-t", str(threads)]
    xminer += ["--randomx-mode=fast", "--randomx-init", str(threads)]
    contenders: dict[str, tuple[list[str], dict[str, str]]] = {
        "xminer": (xminer, {"PYTHONPATH": str(root)}),
        "xminer XMINER_NATIVE=0": (xminer, {"PYTHONPATH": str(root), "XMINER_NATIVE": "0"}),
    }
    if xmrig:
        cmd = [xmrig, "--bench=1M", "-t", str(threads), "--randomx-init", str(threads)]
        cmd += ["--no-color", "--randomx-no-rdmsr", "--randomx-wrmsr=-1", "--donate-level=0"]
        lib = str(Path(xmrig).resolve().parent / "lib")
        contenders["xmrig"] = (cmd, {"LD_LIBRARY_PATH": lib})
    times: dict[str, list[int]] = {name: [] for name in contenders}
    for round_no in range(rounds):
        for name, (cmd, extra) in contenders.items():
            with tempfile.TemporaryDirectory() as home:
                env = {**os.environ, "XDG_CACHE_HOME": home, **extra}
                times[name].append(time_init(cmd, env))
            print(f"round {round_no + 1}: {name} {times[name][-1]} ms", flush=True)
    for name, ms in times.items():
        print(f"{name}: median {statistics.median(ms) / 1000:.1f} s of {ms}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--init", type=int, default=0, help="dataset init threads (0 = all)")
    parser.add_argument("--no-huge-pages", action="store_true")
    parser.add_argument("--init-rounds", type=int, default=0, help="time only the dataset init")
    parser.add_argument("--xmrig", help="XMRig binary for --init-rounds (yardstick)")
    args = parser.parse_args()
    if args.init_rounds:
        init_rounds(args.init_rounds, args.init or cpu_info().threads, args.xmrig)
        return
    threads = [int(t) for t in args.threads.split(",")]
    init = args.init or cpu_info().threads
    large = not args.no_huge_pages
    if large:
        print(
            "huge pages:", hugepages.ensure(hugepages.pages_needed(True, max(threads) * 2)).message
        )
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_c_loop(Path(tmp))
        c_init, c_runs = run_c(exe, threads, args.seconds, init, large)
    x_init, x_runs = run_xminer(threads, args.seconds, init, large)
    print(
        f"dataset init ({init} threads): C {c_init} ms, xminer {x_init} ms, "
        f"ratio xminer/C {x_init / c_init:.3f}"
    )
    for c, x in zip(c_runs, x_runs, strict=True):
        print(
            f"{c.threads} thread(s), {args.seconds:.0f} s: C {c.rate:.1f} H/s, "
            f"xminer {x.rate:.1f} H/s, ratio xminer/C {x.rate / c.rate:.3f}"
        )


if __name__ == "__main__":
    main()
