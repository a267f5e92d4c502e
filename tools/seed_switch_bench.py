"""Hashes done in the 60 s around a RandomX seed switch, per switch path (issue 16).

Runs a real fast-mode miner against tools/testpool.py (in this process, 127.0.0.1) once per
path: ``ahead`` (the pool announces the next seed; once it is built ahead, as it is within the
64 blocks monerod announces it for, the window opens and the switch comes 30 s later),
``light`` (no announcement: the light-mode bridge) and ``off`` (randomx.seed-ahead
false: stop and rebuild, as XMRig).  Prints the hashes of each window and their ratio to
``off``.  Needs 2 GiB free per dataset (4.5 GiB for ``ahead``).

    python tools/seed_switch_bench.py [--threads 2] [--paths ahead,light,off] [--half 30]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.testpool import TestPool
from xminer.config.model import Config, Pool
from xminer.miner import Miner
from xminer.net import create_work_source


async def window(path: str, threads: int, half: float) -> tuple[int, str]:
    """Hashes in [switch - half, switch + half] on one path; the last switch's summary."""
    pool = TestPool(difficulty=10**6)  # about no shares: hashing alone counts
    await pool.start()
    config = Config.from_json(
        {
            "randomx": {"mode": "fast", "seed-ahead": path != "off"},
            "cpu": {"huge-pages": False, "rx": [-1] * threads},
            "print-time": 0,
        }
    )
    pools = [Pool(url=pool.url, user="x")]
    miner = Miner(config, create_work_source(pools, retries=2))
    task = asyncio.ensure_future(miner.run())
    try:
        while not (miner.state.dataset.ready and miner.state.total_hashes > 0):
            await asyncio.sleep(0.2)
        await asyncio.sleep(5)  # every thread hashing
        seed = secrets.token_bytes(32)
        if path == "ahead":
            await pool.announce_seed(seed)
            while miner.rx.ahead_seed != seed:
                await asyncio.sleep(0.2)
            await asyncio.sleep(5)  # the build's threads have ended
        start = miner.state.total_hashes
        await asyncio.sleep(half)
        before = miner.state.total_hashes - start
        await pool.set_seed(seed)
        await asyncio.sleep(half)
        done = miner.state.total_hashes - start
        sw = miner.state.dataset.last_switch
        what = f"{sw.path} idle {sw.idle_s:.2f} s light {sw.light_s:.1f} s" if sw else "building"
        return done, f"{before} before the switch, {done - before} after; {what}"
    finally:
        miner.shutdown()
        await asyncio.wait_for(task, 60)
        await pool.stop()


async def main(args: argparse.Namespace) -> None:
    results = {}
    for path in args.paths.split(","):
        began = time.monotonic()
        hashes, what = await window(path, args.threads, args.half)
        results[path] = hashes
        took = time.monotonic() - began
        print(f"{path:6s} {hashes:8d} hashes in {2 * args.half:g} s ({what}; run {took:.0f} s)")
    base = results.get("off")
    if base:
        for path, hashes in results.items():
            print(f"{path:6s} / off = {hashes / base:.2f}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--paths", default="ahead,light,off")
    p.add_argument("--half", type=float, default=30.0, help="seconds each side of the switch")
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(p.parse_args()))
