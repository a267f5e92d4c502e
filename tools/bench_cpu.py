#!/usr/bin/env python3
"""xminer's CPU backend against a plain C loop over the same RandomX library, in one run.

Compiles tools/c/rx_loop.c, then for each thread count hashes for the same seconds with both,
and prints H/s and the ratio xminer/C; also times dataset initialisation both ways.

    python tools/bench_cpu.py --threads 1,2 --seconds 30
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--init", type=int, default=0, help="dataset init threads (0 = all)")
    parser.add_argument("--no-huge-pages", action="store_true")
    args = parser.parse_args()
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
