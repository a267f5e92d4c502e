"""``xminer -o HOST:PORT -u WALLET --daemon`` end to end: the real command line as a process.

Against a regtest monerod the chain grows by blocks xminer logs (height and hash as monerod
has them); against a closed port it logs the failure and keeps retrying. SIGTERM exits 0.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from tests.monerod import free_port, monerod
from tests.net_support import WALLET, Xminer

pytestmark = [
    pytest.mark.monerod,
    pytest.mark.skipif(shutil.which("monerod") is None, reason="monerod not installed (monero)"),
]
DIFFICULTY = 50  # a block every few seconds in light mode on one thread
ACCEPTED = re.compile(
    r"block accepted \((\d+)/(\d+)\) diff (\d+) height (\d+) hash ([0-9a-f]{64}) \(\d+ ms\)"
)


def home_dir(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


def test_daemon_mode_grows_the_chain(tmp_path: Path) -> None:
    data = tmp_path / "monerod"
    data.mkdir()
    with monerod(data, DIFFICULTY) as node:
        start = node.info()
        assert start["nettype"] == "fakechain" and start["difficulty"] == DIFFICULTY
        miner = Xminer(
            home_dir(tmp_path),
            *("-o", node.url, "-u", WALLET, "--daemon", "--daemon-poll-interval=500"),
            *("--randomx-mode=light", "-t", "1"),
        )
        try:
            deadline = time.monotonic() + 240
            while True:  # 2 blocks more, and the tip is one xminer logged
                info = node.info()
                if info["height"] >= start["height"] + 2 and info["top_block_hash"] in miner.output:
                    break
                assert miner.proc.poll() is None, f"xminer exited early:\n{miner.output}"
                assert time.monotonic() < deadline, (
                    f"chain at {info['height']} (from {start['height']}):\n{miner.output}"
                )
                time.sleep(0.2)
        finally:
            code, out = miner.terminate()
        assert code == 0, out
        assert "Traceback" not in out, out
        assert f"use daemon {node.url} (127.0.0.1)" in out
        assert "SIGTERM received, exiting" in out
        blocks = {
            int(height): (int(diff), bhash) for *_, diff, height, bhash in ACCEPTED.findall(out)
        }
        assert len(blocks) >= 2, out
        assert all(rejected == "0" for _, rejected, *_ in ACCEPTED.findall(out)), out
        # every block the chain grew by is one xminer logged, with monerod's hash for it
        assert set(range(start["height"], info["height"])) <= blocks.keys(), out
        for height, (diff, bhash) in blocks.items():
            header = node.rpc("get_block_header_by_height", {"height": height})["block_header"]
            assert (header["hash"], header["difficulty"]) == (bhash, DIFFICULTY)
            assert diff == DIFFICULTY
        top = node.rpc("get_last_block_header")["block_header"]
        assert top["height"] >= info["height"] - 1


def test_daemon_mode_closed_port_retries(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    miner = Xminer(
        home_dir(tmp_path),
        *("-o", f"127.0.0.1:{port}", "-u", WALLET, "--daemon", "--randomx-mode=light"),
        *("-t", "1", "--retries=2", "--retry-pause=1"),
    )
    try:
        # two attempts, then (the only pool again) a third: it keeps trying
        miner.wait_for(rf"127\.0\.0\.1:{port}: get_block_template: .*refused", 3, 60)
    finally:
        code, out = miner.terminate()
    assert code == 0, out
    assert "Traceback" not in out, out
    assert re.search(r"\(attempt 2/2\)", out), out
    assert "block accepted" not in out and "use daemon" not in out
