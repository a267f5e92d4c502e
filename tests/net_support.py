"""Helpers for the network tests: a real Miner in light mode, waiting, certificates."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import signal
import ssl
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.cli_support import spawn
from tests.config_support import miner_config, pool_entry
from xminer.miner import Miner, WorkSource
from xminer.net import create_work_source

if TYPE_CHECKING:
    from tools.testpool import TestPool

WALLET = (  # a mainnet address (regtest takes mainnet addresses)
    "46BAfz9Qe2ogkVbGrGcFcsVEfA5gSVZugYBJkEzRai1kbVYSxAtT1Ek333SXt"
    "LGECvK6oHkzUgTAF6o9tsCJYUiuChRQsH3"
)


def light_miner(source: WorkSource) -> Miner:
    return Miner(miner_config(1, "light"), source)


@contextlib.asynccontextmanager
async def running(miner: Miner) -> AsyncIterator[Miner]:
    task = asyncio.ensure_future(miner.run())
    try:
        yield miner
    finally:
        miner.shutdown()
        await asyncio.wait_for(task, 30)


@contextlib.asynccontextmanager
async def mining_at(
    pool: TestPool,
    make_miner: Callable[[WorkSource], Miner] = light_miner,
    first_share_s: float = 60,
    **source_options: Any,
) -> AsyncIterator[Miner]:
    """``pool`` started and a miner on it (light mode unless ``make_miner`` says otherwise),
    running from its first accepted share; on the way out the miner stops, then the pool."""
    await pool.start()
    try:
        source = create_work_source([pool_entry(url=pool.url)], **source_options)
        miner = make_miner(source)
        async with running(miner):
            first = "a first accepted share"
            await wait_until(lambda: miner.state.results.accepted >= 1, first_share_s, first)
            yield miner
    finally:
        await pool.stop()


async def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` every 0.1 s; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.1)


def run(coro: object, timeout: float = 120) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro, timeout)  # type: ignore[arg-type]

    asyncio.run(main())


def self_signed(tmp: Path, name: str = "pool") -> tuple[ssl.SSLContext, str]:
    """A server context with a fresh self-signed certificate and its SHA-256 fingerprint."""
    cert, key = tmp / f"{name}.crt", tmp / f"{name}.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx, hashlib.sha256(der).hexdigest()


@contextlib.contextmanager
def log_records(name: str = "xminer") -> Iterator[list[logging.LogRecord]]:
    """Every record of logger ``name`` (INFO and up) while the block runs, in order."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger, handler = logging.getLogger(name), Keep(logging.INFO)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def messages(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records]


class Xminer:
    """``python -m xminer ARGS`` with an empty HOME as its working directory (no config file
    is found there); its output is read into ``lines`` as it comes."""

    def __init__(self, home: Path, *args: str) -> None:
        self.proc = spawn(*args, home=home)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(re.findall(pattern, self.output)) < count:
            assert self.proc.poll() is None, f"xminer exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"no {count} x {pattern!r} in:\n{self.output}"
            time.sleep(0.2)

    def terminate(self) -> tuple[int, str]:
        """SIGTERM; the exit code and the whole output."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"xminer ignored SIGTERM for 30 s:\n{self.output}") from None
        self._reader.join(10)
        return code, self.output
