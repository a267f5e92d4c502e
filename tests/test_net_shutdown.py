"""xminer as a program: SIGTERM ends it in every state of its pool connection, and a
retry-pause of 0 (which spun a core and ignored SIGTERM) is refused in one line."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.cli_support import ROOT, spawn, stop_process
from tests.monerod import free_port
from tests.net_support import Xminer

DIFF = 10


def refused(home: Path, *args: str) -> tuple[int, str]:
    """Exit code and output of an xminer that must refuse to start (killed if it runs)."""
    proc = spawn(*args, home=home)
    try:
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # it ran (and before the fix, ignored SIGTERM): SIGKILL
            proc.kill()
            proc.wait()
    return proc.returncode, out


def test_retry_pause_0_is_refused(tmp_path: Path) -> None:
    code, out = refused(tmp_path, "-o", "127.0.0.1:1", "-u", "x", "--retry-pause", "0")
    assert code == 2, out
    assert out.strip().splitlines() == ['xminer: --retry-pause: "0": expected an integer 1..3600']

    config = tmp_path / "config.json"
    config.write_text('{"pools": [{"url": "127.0.0.1:1", "user": "x"}], "retry-pause": 0}')
    code, out = refused(tmp_path, "-c", str(config))
    assert code == 1, out
    assert out.strip().splitlines() == [
        "xminer: config.json: retry-pause: 0: expected an integer 1..3600"
    ]


class PoolProcess:
    """tools/testpool.py as a program with its control socket."""

    def __init__(self) -> None:
        self.port, self.control = free_port(), free_port()
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "tools/testpool.py", "--port", str(self.port)),
                *("--difficulty", str(DIFF), "--control", str(self.control)),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        while "control on" not in (self.proc.stdout.readline() or ""):
            assert self.proc.poll() is None and time.monotonic() < deadline, "no testpool"

    def command(self, text: str) -> str:
        import socket

        with socket.create_connection(("127.0.0.1", self.control), timeout=20) as sock:
            sock.sendall(text.encode() + b"\n")
            return sock.makefile().readline().strip()

    def stop(self) -> None:
        stop_process(self.proc, 20)


def home(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


def test_sigterm_ends_the_miner_in_every_pool_state(tmp_path: Path) -> None:
    """Mining at a pool that then hangs (shares unanswered), logging in to a hung pool, and
    retrying a closed port at the shortest pause: SIGTERM ends each, exit code 0."""
    pool = PoolProcess()
    common = ("--randomx-mode=light", "-t", "1", "--retry-pause=1", "--print-time=0")
    miners: list[Xminer] = []
    try:
        mining = Xminer(home(tmp_path, "a"), "-o", f"127.0.0.1:{pool.port}", "-u", "a", *common)
        miners.append(mining)
        mining.wait_for(r"accepted \(2/0\)", 1, 120)
        assert pool.command("freeze on") == "ok"
        login = Xminer(home(tmp_path, "b"), "-o", f"127.0.0.1:{pool.port}", "-u", "b", *common)
        miners.append(login)
        closed = Xminer(home(tmp_path, "c"), "-o", f"127.0.0.1:{free_port()}", "-u", "c", *common)
        miners.append(closed)
        closed.wait_for(r"connection refused \(attempt 2/5\)", 1, 60)
        login.wait_for(r"use profile", 1, 60)  # up and connecting
        for miner in miners:
            code, out = miner.terminate()  # asserts that it ends (generous limit)
            assert code == 0, out
            assert "SIGTERM received, exiting" in out, out
            assert "Traceback" not in out and "not stopped within" not in out, out
    finally:
        for miner in miners:
            if miner.proc.poll() is None:
                miner.proc.kill()
                miner.proc.wait()
        pool.stop()
