"""The curl examples of README.md (The HTTP API), run verbatim against the miner."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api_support import Request, send
from tests.test_bench_cli import wait_for

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOC = README.split("\n## The HTTP API\n", 1)[1].split("\n## ", 1)[0]
EXAMPLES = re.findall(r"```sh\n(.*?)```", DOC, re.S)
START = re.search(r"`(xminer --bench[^`]*)`", DOC)

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl"),
]


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def miner() -> Iterator[subprocess.Popen[str]]:
    assert START is not None, "README.md (The HTTP API) names no start command"
    if not port_free(18080):
        pytest.skip("port 18080 is in use")
    # the documented command, in light mode on one thread to spare the CI machine
    args = [*START.group(1).split()[1:], "--randomx-mode=light", "-t", "1", "--no-color"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "xminer", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        wait_for(proc, r"HTTP API 127\.0\.0\.1:18080", 60)
        yield proc
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def run(example: str, cwd: Path) -> str:
    done = subprocess.run(
        ["bash", "-e", "-c", example], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def split_json(text: str) -> list[object]:
    decoder, out, i = json.JSONDecoder(), [], 0
    while i < len(text.strip()):
        value, i = decoder.raw_decode(text, i)
        out.append(value)
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def test_three_examples_documented() -> None:
    assert len(EXAMPLES) == 3


def test_summary_example(miner: subprocess.Popen[str], tmp_path: Path) -> None:
    summary = json.loads(run(EXAMPLES[0], tmp_path))
    assert summary["kind"] == "miner" and "hashrate" in summary


def test_pause_resume_example(miner: subprocess.Popen[str], tmp_path: Path) -> None:
    replies = split_json(run(EXAMPLES[1], tmp_path))
    assert replies == [
        {"result": {"status": "OK"}, "jsonrpc": "2.0", "id": 1},
        {"result": {"status": "OK"}, "jsonrpc": "2.0", "id": 2},
    ]


def test_put_config_example(miner: subprocess.Popen[str], tmp_path: Path) -> None:
    out = run(EXAMPLES[2], tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["print-time"] == 20 and config["http"]["port"] == 18080
    status = out.strip().splitlines()[-1]
    try:
        import xminer.config  # noqa: F401
    except ImportError:
        assert status == "501"  # no config manager yet: nothing can be applied
        return
    assert status == "204"
    headers = {"Authorization": "Bearer SECRET"}
    now = send(18080, Request("GET", "/2/config", headers)).json()
    assert now["print-time"] == 20
