"""Keyboard commands as XMRig has them: h hashrate, p pause, r resume, s results,
c connection, e GPU health.  Only when stdin is a terminal; the terminal is put in cbreak mode
(keys arrive one by one, Ctrl-C still sends SIGINT) and restored on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from xminer.backends.view import HashrateRow, view_for
from xminer.console.controls import Controls
from xminer.console.log import fmt_rate
from xminer.console.reports import speed_line
from xminer.state import SeedSwitch, SharedState

if TYPE_CHECKING:
    from xminer.miner import Miner

log = logging.getLogger("xminer")


def hashrate_lines(state: SharedState) -> list[tuple[str, str]]:
    """(tag, line) pairs: XMRig's per-thread table for each backend, then the total."""
    lines: list[tuple[str, str]] = []
    for name, backend in list(state.backends.items()):
        if not backend.threads:
            continue
        view = view_for(name)
        lines.append((name, f"| {view.hashrate_unit} | AFFINITY | 10s H/s | 60s H/s | 15m H/s |"))
        lines += [(name, _thread_row(row)) for row in view.hashrate_rows(backend)]
    total = state.total_hashrate()
    if not lines:
        lines.append(("miner", "no threads are hashing"))
    lines.append(
        (
            "miner",
            f"|     - |        - | {fmt_rate(total[0]):>7} | {fmt_rate(total[1]):>7} "
            f"| {fmt_rate(total[2]):>7} |",
        )
    )
    lines.append(("miner", speed_line(state)))
    switch = state.dataset.last_switch
    if switch is not None:
        lines.append(("rx", seed_switch_line(switch)))
    return lines


def _thread_row(row: HashrateRow) -> str:
    affinity = str(row.affinity) if row.affinity >= 0 else "-1"
    r = row.rates
    return (
        f"| {row.index:>5} | {affinity:>8} | {fmt_rate(r[0]):>7} "
        f"| {fmt_rate(r[1]):>7} | {fmt_rate(r[2]):>7} |"
    )


def seed_switch_line(switch: SeedSwitch) -> str:
    """The last RandomX seed switch: its path, seconds idle and in light mode, and why."""
    path = {"ahead": "built ahead", "light": "light-mode bridge", "rebuild": "rebuilt"}
    light = f"{switch.light_s:.1f} s" if switch.done else "still"
    return (
        f"last seed switch at height {switch.height}: {path[switch.path]}, "
        f"{switch.idle_s:.2f} s idle, {light} in light mode ({switch.reason})"
    )


def results_lines(state: SharedState) -> list[str]:
    r = state.results
    total = r.accepted + r.rejected
    lines = [
        f"RESULTS accepted {r.accepted} rejected {r.rejected} stale {r.stale} "
        f"invalid {r.invalid} ({total} total), pool-side hashes {r.hashes_total}"
    ]
    if r.latencies_ms:
        avg = sum(r.latencies_ms) / len(r.latencies_ms)
        lines.append(f"avg result time {avg:.0f} ms")
    best = [str(b) for b in r.best if b]
    lines.append("top difficulties: " + (" ".join(best) if best else "none yet"))
    return lines


def connection_lines(state: SharedState) -> list[str]:
    conn = state.connection
    if not conn:
        return ["CONNECTION not connected"]
    pool = conn.get("pool", "-")
    parts = [f"CONNECTION pool {pool}"]
    for key in ("ip", "tls", "algo", "diff", "ping", "uptime", "failures"):
        if conn.get(key) is not None:
            parts.append(f"{key} {conn[key]}")
    if state.algo and "algo" not in conn:
        parts.append(f"algo {state.algo}")
    return [", ".join(parts)]


def health_lines(state: SharedState, miner: Miner | None = None, sensed: bool = False) -> list[str]:
    """XMRig's health report: a line per GPU device of the running GPU backends, e.g.
    ``HEALTH cuda #0 0000:01:00.0 NVIDIA H100 250W 65C 1755/1593 MHz fan0:30%``.

    ``sensed``: only the devices with a sensor reading (the periodic report), else every
    device, "no sensor data" where there is none (the e key).
    """
    lines: list[str] = []
    gpus = [
        b for name, b in list(state.backends.items())
        if view_for(name).reports_health
        and (b.running or (miner is not None and name in miner.backends))
    ]  # fmt: skip
    for backend in gpus:
        lines += view_for(backend.name).health_lines(backend, sensed)
    if not gpus and not sensed:
        return ["HEALTH no GPU backends are running"]
    return lines


def _emit(lines: list[str], tag: str = "miner") -> None:
    logger = log if tag == "miner" else logging.getLogger(f"xminer.{tag}")
    for line in lines:
        logger.info("%s", line)


def handle_key(controls: Controls, key: str) -> bool:
    """Run one command; False for keys that mean nothing (ignored)."""
    key = key.lower()
    miner = controls.miner
    state = miner.state
    if key == "h":
        for tag, line in hashrate_lines(state):
            _emit([line], tag)
    elif key == "p":
        controls.pause()
    elif key == "r":
        controls.resume()
    elif key == "s":
        _emit(results_lines(state))
    elif key == "c":
        _emit(connection_lines(state), "net")
    elif key == "e":
        _emit(health_lines(state, miner))
    else:
        return False
    return True


class Keyboard:
    """Reads single keys from a terminal on the event loop and runs them."""

    def __init__(self, fd: int, on_key: Callable[[str], Any]) -> None:
        self.fd = fd
        self.on_key = on_key
        self._saved: list[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        import termios
        import tty

        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd, termios.TCSANOW)
        self._loop = loop
        loop.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 64)
        except OSError:
            data = b""
        if not data:
            self.stop()
            return
        for char in data.decode(errors="ignore"):
            self.on_key(char)

    def stop(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self.fd)
            self._loop = None
        if self._saved is not None:
            import termios

            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None


def start_keyboard(controls: Controls, stream: Any = None) -> Keyboard | None:
    """Keyboard commands for ``controls`` (the App) when ``stream`` (stdin) is a terminal;
    call on the loop.

    Returns the Keyboard (call ``stop()`` to restore the terminal) or None when not a tty.
    """
    stream = stream if stream is not None else sys.stdin
    try:
        if not stream.isatty():
            return None
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return None
    keyboard = Keyboard(fd, lambda key: handle_key(controls, key))
    try:
        keyboard.start(asyncio.get_running_loop())
    except Exception as exc:  # termios refusing is not worth failing the miner
        log.debug("keyboard commands unavailable: %s", exc)
        keyboard.stop()
        return None
    return keyboard
