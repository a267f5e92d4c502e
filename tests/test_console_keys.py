"""Keyboard commands through a pseudo-terminal, log file, battery detection, title."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

from xminer.console.log import set_title, setup_logging
from xminer.console.power import on_battery

ROOT = Path(__file__).resolve().parents[1]
KEYS = [
    ("h", r"\| CPU # \| AFFINITY \| 10s H/s \| 60s H/s \| 15m H/s \|\r?\n.*\|\s+0 \|"),
    ("s", r"RESULTS accepted 0 rejected 0"),
    ("c", r"CONNECTION pool benchmark:3333"),
    ("e", r"HEALTH no GPU backends"),
    ("p", r"paused, press 'r' to resume"),
    ("r", r"resumed"),
    ("H", r"speed 10s/60s/15m"),
]


def spawn(tmp_path: Path, *extra: str) -> pexpect.spawn:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    argv = ["-m", "xminer", "--bench=1M", "--randomx-mode=light", "-t", "1", "--print-time", "0"]
    return pexpect.spawn(
        sys.executable,
        [*argv, *extra],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )


@pytest.mark.timeout(120)
def test_each_key_prints_its_report_then_ctrl_c_exits_0(tmp_path: Path) -> None:
    log_file = tmp_path / "xminer.log"
    child = spawn(tmp_path, "--log-file", str(log_file), "--title", "rig-7")
    try:
        child.expect("start benchmark")
        for key, pattern in KEYS:
            child.send(key)
            child.expect(pattern)
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    text = log_file.read_text()
    assert "| CPU # | AFFINITY |" in text and "RESULTS accepted" in text
    assert "\x1b" not in text  # the log file is plain


@pytest.mark.timeout(120)
def test_terminal_is_restored_on_exit(tmp_path: Path) -> None:
    """Under a pty the child sets cbreak; after it exits a shell in the same pty echoes again."""
    script = (
        "import subprocess, sys, termios, signal, time\n"
        "before = termios.tcgetattr(0)\n"
        "p = subprocess.Popen([sys.executable] + sys.argv[1:])\n"
        "time.sleep(0.5)\n"
        "while termios.tcgetattr(0) == before and p.poll() is None: time.sleep(0.05)\n"
        "print('CBREAK', termios.tcgetattr(0)[3] & termios.ICANON == 0, flush=True)\n"
        "p.send_signal(signal.SIGINT); p.wait()\n"
        "print('RESTORED', termios.tcgetattr(0) == before, p.returncode, flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    args = ["-c", script, "-m", "xminer", "--bench=1M", "--randomx-mode=light", "-t", "1"]
    child = pexpect.spawn(sys.executable, args, env=env, cwd=str(tmp_path), encoding="utf-8")
    try:
        child.expect(r"CBREAK (\w+)", timeout=60)
        assert child.match.group(1) == "True"
        child.expect(r"RESTORED (\w+) (-?\d+)", timeout=60)
        assert child.match.groups() == ("True", "0")
    finally:
        child.close(force=True)


def test_no_keyboard_without_a_terminal() -> None:
    import io

    from xminer.console.keys import start_keyboard

    assert start_keyboard(object(), io.StringIO()) is None  # type: ignore[arg-type]


def supply(root: Path, name: str, kind: str, online: str | None) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "type").write_text(kind + "\n")
    if online is not None:
        (root / name / "online").write_text(online + "\n")


def test_on_battery(tmp_path: Path) -> None:
    assert on_battery(tmp_path) is False  # no supplies: a server
    supply(tmp_path, "BAT0", "Battery", None)
    supply(tmp_path, "AC", "Mains", "1")
    assert on_battery(tmp_path) is False
    (tmp_path / "AC" / "online").write_text("0\n")
    assert on_battery(tmp_path) is True
    supply(tmp_path, "AC2", "Mains", "1")
    assert on_battery(tmp_path) is False


def test_title_only_on_a_terminal() -> None:
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    assert set_title("rig", tty) is True and tty.getvalue() == "\x1b]0;rig\x07"
    assert set_title("rig", io.StringIO()) is False


def test_no_color_and_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    setup_logging(color=False, verbose=True)
    logging.getLogger("xminer.cpu").debug("detail")
    out = capsys.readouterr().out
    assert re.search(r"\]  cpu +detail", out) and "\x1b" not in out
    setup_logging(color=True)
    logging.getLogger("xminer.cpu").debug("hidden")
    logging.getLogger("xminer.cpu").info("shown")
    out = capsys.readouterr().out
    logging.getLogger("xminer").handlers.clear()
    assert "hidden" not in out and "\x1b[" in out
