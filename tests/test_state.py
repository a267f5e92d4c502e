"""Hashrate windows against a controlled clock: nulls before a window fills, exact rates after."""

from __future__ import annotations

import pytest

from xminer.state import HashCounter, SharedState, sum_rates


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_windows_fill_in_order() -> None:
    clock = Clock()
    counter = HashCounter(clock)
    assert counter.rates() == [None, None, None]
    for _ in range(11):  # 100 H/s, a sample a second, for 10 s
        counter.add(100)
        clock.now += 1
    # newest sample at t=10 (now=11): a sample older than 10 s exists? t=0 is 11 s old
    r10, r60, r15 = counter.rates()
    assert r10 == pytest.approx(100.0)
    assert r60 is None and r15 is None
    for _ in range(60):
        counter.add(100)
        clock.now += 1
    assert counter.rate(60) == pytest.approx(100.0)
    assert counter.rate(900) is None
    for _ in range(900):
        counter.add(300)
        clock.now += 1
    assert counter.rate(10) == pytest.approx(300.0)
    assert counter.rate(900) == pytest.approx(300.0, rel=0.01)
    assert counter.total == 71 * 100 + 900 * 300


def test_rate_changes_are_exact() -> None:
    clock = Clock()
    counter = HashCounter(clock)
    for i in range(30):
        counter.add(50 if i < 15 else 150)
        clock.now += 2
    # the last 10 s hold samples at t-9.., all at 150 per 2 s = 75 H/s
    assert counter.rate(10) == pytest.approx(75.0)


def test_sum_is_null_when_any_thread_is() -> None:
    assert sum_rates([[1.0, None, None], [2.0, 3.0, None]]) == [3.0, None, None]
    assert sum_rates([]) == [None, None, None]


def test_shared_state_totals_and_max() -> None:
    clock = Clock()
    state = SharedState(clock)
    cpu = state.backend("cpu")
    cpu.running = True
    from xminer.state import ThreadInfo

    cpu.threads = [ThreadInfo(0, state.new_counter()), ThreadInfo(1, state.new_counter())]
    for _ in range(12):
        for t in cpu.threads:
            t.counter.add(10)
        clock.now += 1
    total = state.total_hashrate()
    assert total[0] == pytest.approx(20.0)
    assert state.highest_total == pytest.approx(20.0)
    assert state.total_hashes == 240


def test_live_count_is_sampled_between_batches() -> None:
    """The C loop writes a thread's count while its batch runs; the miner's sampler (every
    500 ms) turns it into rates without waiting for the batch to end."""
    clock = Clock()
    state = SharedState(clock)
    from xminer.state import ThreadInfo

    cpu = state.backend("cpu")
    cpu.running = True
    cpu.threads = [ThreadInfo(0, state.new_counter())]
    counter = cpu.threads[0].counter
    for _ in range(23):  # 10 hashes a half second, no batch ends
        counter.live.value += 10
        state.sample()
        clock.now += 0.5
    assert counter.total == 230
    assert counter.rate(10) == pytest.approx(20.0)
    assert state.total_hashrate()[0] == pytest.approx(20.0)
