"""Helpers for the network tests: a real Miner in light mode, waiting, certificates."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from xminer.backends.cpu import CpuThread
from xminer.miner import Miner, MinerSettings, WorkSource

WALLET = (  # a mainnet address (regtest takes mainnet addresses)
    "46BAfz9Qe2ogkVbGrGcFcsVEfA5gSVZugYBJkEzRai1kbVYSxAtT1Ek333SXt"
    "LGECvK6oHkzUgTAF6o9tsCJYUiuChRQsH3"
)


def light_miner(source: WorkSource) -> Miner:
    settings = MinerSettings(
        randomx_mode="light", cpu_threads=[CpuThread()], print_time=0, huge_pages=False
    )
    return Miner(settings, source)


@contextlib.asynccontextmanager
async def running(miner: Miner) -> AsyncIterator[Miner]:
    task = asyncio.ensure_future(miner.run())
    try:
        yield miner
    finally:
        miner.shutdown()
        await asyncio.wait_for(task, 30)


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
