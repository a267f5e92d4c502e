"""What the pool client drives: one connection to a pool or a daemon."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import platform
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable

from xminer.job import Job, Result
from xminer.net.settings import PoolSettings
from xminer.net.stats import ResultStats
from xminer.version import APP_NAME, __version__

log = logging.getLogger("xminer.net")


class UpstreamError(Exception):
    """The connection failed or broke; the message says why, in one line."""


def user_agent() -> str:
    py = platform.python_version()
    return f"{APP_NAME}/{__version__} ({platform.system()} {platform.machine()}) python/{py}"


JobCallback = Callable[["Upstream", Job], None]


class Upstream(ABC):
    """One connection attempt: ``open`` (log in, first job), ``serve`` until lost, ``close``."""

    kind = "pool"

    def __init__(
        self,
        settings: PoolSettings,
        index: int,
        serial: int,
        stats: ResultStats,
        on_job: JobCallback,
        timeout: float,
    ) -> None:
        self.settings = settings
        self.url = settings.parsed
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
    async def close(self) -> None: ...

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
