"""pause-on-battery (Linux): pause while the machine runs on battery, resume on mains."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xminer.console.controls import Controls

log = logging.getLogger("xminer")
POWER_SUPPLY = Path("/sys/class/power_supply")


def on_battery(root: Path = POWER_SUPPLY) -> bool:
    """True when a mains supply exists and none of them is online (so: on battery).

    Machines without a mains supply entry (servers, containers) are never "on battery".
    """
    mains: list[bool] = []
    for supply in sorted(root.glob("*")):
        try:
            if (supply / "type").read_text().strip() != "Mains":
                continue
            mains.append((supply / "online").read_text().strip() == "1")
        except OSError:
            continue
    return bool(mains) and not any(mains)


async def watch_battery(
    controls: Controls, interval: float = 5.0, root: Path = POWER_SUPPLY
) -> None:
    """Pause the miner while on battery and resume it on mains; runs until cancelled."""
    paused_by_us = False
    while True:
        battery = on_battery(root)
        if battery and not paused_by_us and not controls.miner.state.paused:
            log.info("on battery power")
            controls.pause()
            paused_by_us = True
        elif not battery and paused_by_us:
            log.info("on AC power")
            controls.resume()
            paused_by_us = False
        await asyncio.sleep(interval)
