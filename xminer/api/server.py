"""The API server: a Tornado HTTPServer on the miner's event loop, rebindable at run time."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import tornado.httpserver
import tornado.netutil
import tornado.web

from xminer.api.dashboard import DASHBOARD_ROUTE, DashboardHandler
from xminer.api.http import ApiHandler, log_request
from xminer.api.machine import MachineInfo
from xminer.api.metrics import Metrics, MetricsHandler
from xminer.api.rpc import Rpc
from xminer.api.settings import ApiSettings
from xminer.api.views import Views

if TYPE_CHECKING:
    from xminer.miner import Miner

log = logging.getLogger("xminer.api")
BODY_TTL = 0.5  # seconds a built GET body is served again
RETIRE_GRACE = 2.0  # seconds an old listener's connections live on after a rebind
MAX_HTTP_BODY = 16 * 1024 * 1024  # Tornado drops larger requests; the handler refuses > 1 MiB


def bind(host: str, port: int) -> list[socket.socket]:
    """``::`` listens on IPv6 and IPv4, ``0.0.0.0`` on IPv4; port 0 takes one free port."""
    if host == "::":  # Tornado makes IPv6 sockets V6ONLY: bind both families instead
        return tornado.netutil.bind_sockets(port, None, family=socket.AF_UNSPEC)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return tornado.netutil.bind_sockets(port, host, family=family)


class BodyCache:
    """Encoded GET bodies, each built at most once per ``ttl`` seconds: a dashboard polling
    many times a second costs the miner one build, not one per request."""

    def __init__(self, ttl: float = BODY_TTL) -> None:
        self.ttl = ttl
        self._bodies: dict[str, tuple[float, str]] = {}

    def get(self, key: str, build: Callable[[], str]) -> str:
        now = time.monotonic()
        hit = self._bodies.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        body = build()
        self._bodies[key] = (now, body)
        return body

    def clear(self) -> None:
        self._bodies.clear()


class ApiServer:
    """``port`` is the port actually bound; ``stop()`` and ``rebind(settings)`` are awaitable."""

    def __init__(self, miner: Miner, settings: ApiSettings, machine: MachineInfo) -> None:
        self.miner = miner
        self.machine = machine
        self.settings = settings
        self.views = Views(miner, settings, machine)
        self.bodies = BodyCache()
        self.rpc = Rpc(miner)
        self.config_lock = asyncio.Lock()
        self.app = tornado.web.Application(
            [
                (r"/metrics", MetricsHandler, {"server": self, "metrics": Metrics(miner)}),
                (DASHBOARD_ROUTE, DashboardHandler, {"server": self}),
                (r".*", ApiHandler, {"server": self}),
            ],
            log_function=log_request,
        )
        self._http: tornado.httpserver.HTTPServer | None = None
        self._retired: set[tornado.httpserver.HTTPServer] = set()
        self._closing: set[asyncio.Future[None]] = set()
        self.port = 0

    def listen(self) -> None:
        sockets = bind(self.settings.host, self.settings.port)
        http = tornado.httpserver.HTTPServer(self.app, max_body_size=MAX_HTTP_BODY, xheaders=False)
        http.add_sockets(sockets)
        self._http = http
        self.port = sockets[0].getsockname()[1]
        log.info("HTTP API %s:%d", self.settings.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close every connection (the miner is stopping)."""
        http, self._http = self._http, None
        servers = ([http] if http is not None else []) + list(self._retired)
        self._retired.clear()
        for server in servers:
            server.stop()
            await server.close_all_connections()

    async def rebind(self, settings: ApiSettings) -> None:
        """Apply new http/api settings; the listener moves only when host or port changed."""
        old = self.settings
        self.settings = settings
        self.views = Views(self.miner, settings, self.machine)
        self.bodies.clear()
        same = (old.host, old.port) == (settings.host, settings.port) and settings.enabled
        if same and self._http is not None:
            return
        self._retire()
        if settings.enabled:
            self.listen()
        else:
            log.info("HTTP API disabled")

    def _retire(self) -> None:
        """Stop the old listener at once; its open connections (the client whose PUT moved
        the API among them) get RETIRE_GRACE seconds to read their replies."""
        http, self._http = self._http, None
        if http is None:
            return
        http.stop()
        self._retired.add(http)

        def close() -> None:
            if http in self._retired:  # else stop() closed it already
                self._retired.discard(http)
                task = asyncio.ensure_future(http.close_all_connections())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

        asyncio.get_running_loop().call_later(RETIRE_GRACE, close)

    def schedule_rebind(self, settings: ApiSettings) -> None:
        """Rebind after the current reply went out (a PUT /2/config that changed http)."""
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.rebind(settings)))


def start_api(miner: Miner, settings: ApiSettings) -> ApiServer:
    """Listen now (on the running loop) and stop with the miner; OSError if the bind fails."""
    server = ApiServer(miner, settings, MachineInfo.probe())
    server.listen()
    miner.api = server
    miner.hooks_on_stop.append(server.stop)
    return server
