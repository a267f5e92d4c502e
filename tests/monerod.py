"""A private regtest monerod on 127.0.0.1 for the daemon-mode tests."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.cli_support import stop_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Monerod:
    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"127.0.0.1:{port}"

    def rpc(self, method: str, params: Any = None, timeout: float = 10) -> Any:
        body = {"jsonrpc": "2.0", "id": 0, "method": method, "params": params or {}}
        req = urllib.request.Request(
            f"http://{self.url}/json_rpc",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            reply = json.loads(resp.read())
        if reply.get("error"):
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def info(self) -> dict[str, Any]:
        return self.rpc("get_info")  # type: ignore[no-any-return]


@contextmanager
def monerod(data_dir: Path, difficulty: int) -> Iterator[Monerod]:
    binary = shutil.which("monerod")
    assert binary is not None
    rpc, p2p, zmq = free_port(), free_port(), free_port()
    cmd = [
        *(binary, "--regtest", "--offline", "--fixed-difficulty", str(difficulty)),
        *("--data-dir", str(data_dir), "--rpc-bind-ip", "127.0.0.1", "--rpc-bind-port", str(rpc)),
        *("--p2p-bind-ip", "127.0.0.1", "--p2p-bind-port", str(p2p)),
        *("--zmq-rpc-bind-ip", "127.0.0.1", "--zmq-rpc-bind-port", str(zmq)),
        *("--non-interactive", "--no-igd", "--check-updates", "disabled"),
        *("--disable-dns-checkpoints", "--log-level", "0"),
    ]
    log = (data_dir / "monerod.out").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    node = Monerod(proc, rpc)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if node.info().get("status") == "OK":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"monerod did not start, see {data_dir / 'monerod.out'}")
            time.sleep(0.3)
        yield node
    finally:
        stop_process(proc, 30)
        log.close()
