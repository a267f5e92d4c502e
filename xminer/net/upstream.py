"""What the pool client drives: one connection to a pool or a daemon."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import platform
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from xminer.config.model import Pool
from xminer.job import NICEHASH_BYTE, Job, Result
from xminer.net.stats import ResultStats
from xminer.version import APP_NAME, __version__

log = logging.getLogger("xminer.net")
MAX_BLOB = 512  # bytes; Monero's hashing blobs are 76 + a few
MAX_HEIGHT = 1 << 63


def blob_problem(blob: bytes) -> str | None:
    """Why a hashing blob cannot be mined (the nonce is bytes 39..42), or None when it can."""
    if len(blob) < NICEHASH_BYTE + 1 or len(blob) > MAX_BLOB:
        return f"blob of {len(blob)} bytes (must be {NICEHASH_BYTE + 1}..{MAX_BLOB})"
    return None


class UpstreamError(Exception):
    """The connection failed or broke; the message says why, in one line."""


def user_agent() -> str:
    py = platform.python_version()
    return f"{APP_NAME}/{__version__} ({platform.system()} {platform.machine()}) python/{py}"


def parse_height(value: Any) -> int:
    """A job's ``height``: a whole number 0..2^63 (absent or null: 0); ``ValueError`` if not."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"height {str(value)[:32]!r} is not a number")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise ValueError(f"height {value!r} is not a whole number")
    if not 0 <= value < MAX_HEIGHT:
        raise ValueError(f"height {value!r} is out of range")
    return int(value)


JobCallback = Callable[["Upstream", Job], None]


class Upstream(ABC):
    """One connection attempt: ``open`` (log in, first job), ``serve`` until lost, ``close``."""

    kind = "pool"

    def __init__(
        self,
        settings: Pool,
        index: int,
        serial: int,
        stats: ResultStats,
        on_job: JobCallback,
        timeout: float,
    ) -> None:
        self.settings = settings
        self.url = settings.endpoint
        self.index = index
        self.serial = serial
        self.stats = stats
        self.on_job = on_job
        self.timeout = timeout
        self.job: Job | None = None
        self.ip: str | None = None
        self.tls_version: str | None = None
        self.fingerprint: str | None = None
        self.closed = False

    @property
    def name(self) -> str:
        return self.url.address

    @abstractmethod
    async def open(self) -> None:
        """Connect and log in; ``self.job`` holds the first job. Raises ``UpstreamError``."""

    @abstractmethod
    async def serve(self) -> None:
        """Run until the connection is lost (raises ``UpstreamError``) or closed (returns)."""

    @abstractmethod
    async def submit(self, result: Result) -> None:
        """Send a share or block; never waits for the reply."""

    @abstractmethod
    async def close(self) -> None:
        """Close now (bounded); ``serve`` then returns. Safe to call more than once."""

    async def settle(self, timeout: float) -> None:
        """Before a stop: wait at most ``timeout`` s for replies to results in flight."""
        return None

    def owns(self, job: Job) -> bool:
        return job.extra.get("conn") == self.serial

    def accept_job(self, job: Job) -> None:
        self.job = job
        self.on_job(self, job)


async def resolve(host: str) -> str | None:
    """The address ``connection.ip`` reports."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    return str(infos[0][4][0]) if infos else None
