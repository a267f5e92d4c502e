"""tools/testpool.py as a program: raw stratum, RandomX share checks, the control socket."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.monerod import free_port
from xminer.job import target_from_hex
from xminer.randomx import hash_once
from xminer.randomx.scan import NONCE_OFFSET, hash_tail

ROOT = Path(__file__).resolve().parents[1]


class Line:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.file = self.sock.makefile("rwb")

    def send(self, msg: dict[str, Any]) -> None:
        self.file.write(json.dumps(msg).encode() + b"\n")
        self.file.flush()

    def recv(self) -> dict[str, Any]:
        line = self.file.readline()
        assert line, "connection closed"
        return json.loads(line)  # type: ignore[no-any-return]

    def command(self, text: str) -> str:
        self.file.write(text.encode() + b"\n")
        self.file.flush()
        return self.file.readline().decode().strip()


def start_pool(port: int, control: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            *(sys.executable, "tools/testpool.py", "--port", str(port)),
            *("--difficulty", "2", "--control", str(control)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while "control on" not in (proc.stdout.readline() or ""):
        assert proc.poll() is None and time.monotonic() < deadline, "testpool did not start"
    return proc


def share(job: dict[str, Any], start: int = 0) -> tuple[int, bytes]:
    """Find a nonce from ``start`` meeting the job's target (difficulty 2: a few hashes)."""
    blob = bytearray.fromhex(job["blob"])
    seed = bytes.fromhex(job["seed_hash"])
    target = target_from_hex(job["target"])
    for nonce in range(start, start + 64):
        blob[NONCE_OFFSET : NONCE_OFFSET + 4] = nonce.to_bytes(4, "little")
        digest = hash_once(seed, bytes(blob))
        if hash_tail(digest) < target:
            return nonce, digest
    raise AssertionError("no share in 64 hashes at difficulty 2")


def submit(line: Line, sid: str, job: dict[str, Any], nonce: int, digest: bytes, i: int) -> Any:
    params = {"id": sid, "job_id": job["job_id"], "nonce": nonce.to_bytes(4, "little").hex()}
    line.send({"id": i, "method": "submit", "params": {**params, "result": digest.hex()}})
    return line.recv()


def test_testpool_program() -> None:
    port, control = free_port(), free_port()
    proc = start_pool(port, control)
    try:
        miner, ctl = Line(port), Line(control)
        miner.send({"id": 1, "method": "login", "params": {"login": "w", "pass": "x"}})
        reply = miner.recv()
        sid, job = reply["result"]["id"], reply["result"]["job"]
        assert reply["result"]["status"] == "OK" and job["algo"] == "rx/0"
        assert len(bytes.fromhex(job["blob"])) == 76

        nonce, digest = share(job)
        assert submit(miner, sid, job, nonce, digest, 2)["result"] == {"status": "OK"}
        again = submit(miner, sid, job, nonce, digest, 3)
        assert again["error"]["message"] == "Duplicate share"
        wrong = submit(miner, sid, job, nonce + 1000, digest, 4)
        assert wrong["error"]["message"] == "Invalid PoW"
        bad_job = submit(miner, sid, {**job, "job_id": "nope"}, nonce, digest, 5)
        assert bad_job["error"]["message"] == "Invalid job id"

        assert ctl.command("reject Banned") == "ok"
        nonce2, digest2 = share(job, nonce + 1)
        assert submit(miner, sid, job, nonce2, digest2, 6)["error"]["message"] == "Banned"
        assert ctl.command("reject off") == "ok"

        assert ctl.command('answer {"error": {}, "result": null}') == "ok"  # any reply at all
        nonce3, digest3 = share(job, nonce2 + 1)
        assert submit(miner, sid, job, nonce3, digest3, 7) == {"error": {}, "result": None, "id": 7}
        assert ctl.command("answer off") == "ok"

        assert ctl.command("garbage not json at all") == "ok"
        assert miner.file.readline() == b"not json at all\n"

        proc.send_signal(signal.SIGUSR1)  # a new seed, pushed
        pushed = miner.recv()
        assert pushed["method"] == "job" and pushed["params"]["seed_hash"] != job["seed_hash"]

        stats = json.loads(ctl.command("stats"))
        assert (stats["accepted"], stats["rejected"], stats["duplicates"]) == (1, 4, 1)
        assert ctl.command("bogus") == "unknown command 'bogus'"

        assert ctl.command("drop 1") == "ok"
        params = {"id": sid, "job_id": job["job_id"], "nonce": "00000000", "result": "00" * 32}
        miner.send({"id": 9, "method": "submit", "params": params})
        assert miner.file.readline() == b""  # dropped in the middle of the share, no reply
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert proc.returncode == 0
