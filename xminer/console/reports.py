"""The periodic reports on the console: the speed line every ``print-time`` seconds and the
GPU health lines every ``health-print-time`` seconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from xminer.console.log import fmt_rate
from xminer.state import SharedState

log = logging.getLogger("xminer.miner")


def speed_line(state: SharedState) -> str:
    """XMRig's ``speed 10s/60s/15m 1234.5 1230.1 n/a H/s max 1301.2 H/s``."""
    rates = state.total_hashrate()
    return "speed 10s/60s/15m {} {} {} H/s max {} H/s".format(
        *(fmt_rate(r) for r in rates), fmt_rate(state.highest_total or None)
    )


def print_speed(state: SharedState) -> None:
    log.info("%s", speed_line(state))


def print_health(lines: list[str]) -> None:
    """The GPU devices' sensor readings (NVML), when any GPU backend has them."""
    for line in lines:
        log.info("%s", line)


async def every(
    finished: asyncio.Event, period: Callable[[], int], report: Callable[[], None]
) -> None:
    """report() every period() seconds, 0: never, until ``finished``; the period is read
    again each round, as a config reload (watch, PUT) may change it."""
    while not finished.is_set():
        interval = period()
        try:
            await asyncio.wait_for(finished.wait(), interval if interval > 0 else 1.0)
        except TimeoutError:
            if period() > 0:
                report()
