"""Seed switches (issue 16 items 3-5): the next seed built ahead, the light-mode bridge, the
old stop-and-rebuild with ``randomx.seed-ahead`` off; what /2/summary tells of the last one.

Light mode where the path allows (a second cache only); the bridge exists in fast mode alone,
so one test builds a 2 GiB dataset (skipped without the memory)."""

from __future__ import annotations

import asyncio
import time

import psutil
import pytest

from tests.config_support import miner_config
from tests.net_support import log_records, messages, mining_at, run, wait_until
from tools.testpool import TestPool
from xminer.api.views import seed_switch
from xminer.miner import Miner, WorkSource
from xminer.randomx.context import DATASET_BYTES

DIFF = 10  # light mode: a share every second or so
NEXT = bytes(range(32))


class CounterWatch:
    """Samples the miner's total hash count every 0.1 s: the longest time it stood still."""

    def __init__(self, miner: Miner) -> None:
        self.miner = miner
        self.samples: list[tuple[float, int]] = []
        self._task: asyncio.Future[None] | None = None

    async def _run(self) -> None:
        while True:
            self.samples.append((time.monotonic(), self.miner.state.total_hashes))
            await asyncio.sleep(0.1)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def longest_stall(self) -> float:
        longest, since, last = 0.0, self.samples[0][0], self.samples[0][1]
        for at, total in self.samples[1:]:
            if total != last:
                since, last = at, total
            longest = max(longest, at - since)
        return longest


async def shares_after(
    pool: TestPool, miner: Miner, seed: bytes, count: int, timeout: float
) -> None:
    """Wait for ``count`` shares of jobs with ``seed`` that the pool checked and accepted."""

    def mining_it() -> bool:
        return miner.job is not None and miner.job.seed_hash == seed

    await wait_until(mining_it, timeout, "a job of the new seed")
    await asyncio.sleep(1)  # shares of the old seed still in flight are answered
    before = pool.stats.accepted
    await wait_until(lambda: pool.stats.accepted >= before + count, timeout, f"{count} shares")
    assert pool.seed == seed


def without_seed_ahead(source: WorkSource) -> Miner:
    return Miner(miner_config(1, "light", seed_ahead=False), source)


def fast_miner(source: WorkSource) -> Miner:
    return Miner(miner_config(1, "fast"), source)


def test_announced_seed_is_built_ahead_and_switched_at_once() -> None:
    """A pool announces next_seed_hash: its cache is built while mining goes on, the switch
    takes it at once, and shares of the new seed (checked by the pool) are accepted."""

    async def body() -> None:
        pool = TestPool(difficulty=DIFF)
        with log_records() as records:
            async with mining_at(pool, retries=2) as miner:
                assert seed_switch(miner.state.dataset.last_switch) is None
                await pool.announce_seed(NEXT)
                await wait_until(lambda: miner.rx.ahead_seed == NEXT, 60, "the cache built ahead")
                await pool.set_seed(NEXT)
                await shares_after(pool, miner, NEXT, 2, 90)
                switch = miner.state.dataset.last_switch
                assert switch is not None and switch.path == "ahead" and switch.done
                assert miner.rx.seed == NEXT and miner.rx.ahead_seed is None
        assert pool.stats.rejected == 0
        text = "\n".join(messages(records))
        assert "announced: building its cache ahead" in text
        assert "built ahead, switched at once (the next seed was announced)" in text

    run(body(), 240)


def test_seed_ahead_off_stops_and_rebuilds() -> None:
    """``randomx.seed-ahead`` false: the announcement is ignored, the switch rebuilds."""

    async def body() -> None:
        pool = TestPool(difficulty=DIFF)
        async with mining_at(pool, without_seed_ahead, retries=2) as miner:
            await pool.announce_seed(NEXT)
            await pool.set_seed(NEXT)
            await shares_after(pool, miner, NEXT, 1, 90)
            switch = miner.state.dataset.last_switch
            assert switch is not None and switch.path == "rebuild"
            assert switch.reason == "randomx.seed-ahead is off"
            assert seed_switch(switch) == {
                "path": "rebuild",
                "built_ahead": False,
                "reason": "randomx.seed-ahead is off",
                "height": switch.height,
                "idle": round(switch.idle_s, 3),
                "light": 0.0,
                "done": True,
            }

    run(body(), 240)


def test_unannounced_switch_in_light_mode_rebuilds_the_cache() -> None:
    """No next_seed_hash, light mode: the new cache is built at the switch (logged why)."""

    async def body() -> None:
        pool = TestPool(difficulty=DIFF)
        with log_records() as records:
            async with mining_at(pool, retries=2) as miner:
                await pool.set_seed(NEXT)
                await shares_after(pool, miner, NEXT, 1, 90)
        switch = miner.state.dataset.last_switch
        assert switch is not None and switch.path == "rebuild"
        assert "light mode: the new cache is built at the switch" in "\n".join(messages(records))

    run(body(), 240)


FAST_MEMORY = DATASET_BYTES + 2 * 1024**3


@pytest.mark.slow
@pytest.mark.skipif(
    psutil.virtual_memory().available < FAST_MEMORY, reason="fast mode needs 2 GiB free"
)
def test_unannounced_switch_in_fast_mode_bridges_in_light_mode() -> None:
    """Fast mode, a seed switch without next_seed_hash: the new cache at once, every thread
    hashes the new seed in light mode (the pool accepts its shares) while the dataset is
    built, then fast mode again; the hash counters do not stand still across the switch."""

    async def body() -> None:
        pool = TestPool(difficulty=DIFF)
        with log_records() as records:
            async with mining_at(pool, fast_miner, 600, retries=2) as miner:
                watch = CounterWatch(miner)
                watch.start()
                await pool.set_seed(NEXT)
                await wait_until(lambda: miner.rx.bridging, 60, "the light-mode bridge")
                await shares_after(pool, miner, NEXT, 1, 300)
                await wait_until(
                    lambda: not miner.rx.bridging and miner.state.dataset.ready, 900, "fast mode"
                )
                accepted = pool.stats.accepted
                await wait_until(lambda: pool.stats.accepted > accepted, 300, "a fast share")
                watch.stop()
        assert pool.stats.rejected == 0
        switch = miner.state.dataset.last_switch
        assert switch is not None and switch.path == "light" and switch.done
        assert switch.reason == "the next seed was not announced" and switch.light_s > 0
        text = "\n".join(messages(records))
        assert "hashing in light mode until its dataset is built" in text
        assert "fast mode again after" in text
        assert " failed " not in text  # no thread tripped over the change of VM
        assert watch.longest_stall() < switch.light_s  # hashed while the dataset was built

    run(body(), 1800)


def test_seed_ahead_config_key() -> None:
    """``randomx.seed-ahead``: on unless false; not written back when not given; a bad value
    is refused naming the key."""
    from xminer.config.errors import ConfigError
    from xminer.config.model import Config

    assert Miner(Config.from_json({})).seed_ahead is True
    off = Config.from_json({"randomx": {"seed-ahead": False}})
    assert Miner(off).seed_ahead is False
    assert off.to_json()["randomx"]["seed-ahead"] is False
    assert "seed-ahead" not in Config.from_json({}).to_json()["randomx"]
    with pytest.raises(ConfigError, match="seed-ahead"):
        Config.from_json({"randomx": {"seed-ahead": "yes"}})


def test_console_tells_the_last_switch() -> None:
    """The 'h' key's table ends with the last seed switch (nothing before the first)."""
    from xminer.console.keys import hashrate_lines
    from xminer.state import SeedSwitch, SharedState

    state = SharedState()
    assert not any(tag == "rx" for tag, _ in hashrate_lines(state))
    state.dataset.last_switch = SeedSwitch("light", "the next seed was not announced", 2113)
    state.dataset.last_switch.idle_s = 0.8
    assert hashrate_lines(state)[-1] == (
        "rx",
        "last seed switch at height 2113: light-mode bridge, 0.80 s idle, still in light mode "
        "(the next seed was not announced)",
    )
    state.dataset.last_switch.light_s, state.dataset.last_switch.done = 41.25, True
    assert "0.80 s idle, 41.2 s in light mode" in hashrate_lines(state)[-1][1]


def test_next_seed_hash_of_a_pool_job() -> None:
    """A job's next_seed_hash is read when it is 32 bytes of hex, else ignored (it only lets
    the next dataset be built early: a broken one does not refuse the job)."""
    from xminer.net.stratum import parse_job

    job = {"blob": "0" * 152, "job_id": "1", "target": "ffffff00", "seed_hash": "11" * 32}
    assert parse_job(job, False, "p", 1).next_seed_hash == b""
    announced = parse_job({**job, "next_seed_hash": NEXT.hex()}, False, "p", 1)
    assert announced.next_seed_hash == NEXT
    for broken in ("zz" * 32, "11" * 31, 7, None, ""):
        assert parse_job({**job, "next_seed_hash": broken}, False, "p", 1).next_seed_hash == b""
