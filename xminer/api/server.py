"""The API server: a Tornado HTTPServer on the miner's event loop, rebindable at run time."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import socket
from collections.abc import Awaitable

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web

from xminer.api.dashboard import DASHBOARD_ROUTE, DashboardHandler
from xminer.api.host import ApiHost
from xminer.api.http import ApiHandler, BodyCache, error_reply, log_request, shorten
from xminer.api.machine import MachineInfo
from xminer.api.metrics import Metrics, MetricsHandler
from xminer.api.rpc import Rpc
from xminer.api.views import Views
from xminer.config.model import Api, Http

log = logging.getLogger("xminer.api")
RETIRE_GRACE = 2.0  # seconds an old listener's connections live on after a rebind
MAX_HTTP_BODY = 16 * 1024 * 1024  # larger bodies are drained unread (413); the handler: > 1 MiB
MAX_DRAIN = 256 * 1024 * 1024  # a body declared larger gets its 413 at once (connection closed)
IDLE_TIMEOUT = 30.0  # seconds a connection may sit between requests or send its headers in
BODY_TIMEOUT = 60.0  # seconds a request may take to send its body


def bind(host: str, port: int) -> list[socket.socket]:
    """``::`` listens on IPv6 and IPv4, ``0.0.0.0`` on IPv4; port 0 takes one free port."""
    if host == "::":  # Tornado makes IPv6 sockets V6ONLY: bind both families instead
        return tornado.netutil.bind_sockets(port, None, family=socket.AF_UNSPEC)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return tornado.netutil.bind_sockets(port, host, family=family)


class OversizeGuard(tornado.httputil.HTTPMessageDelegate):
    """A request whose body is over MAX_HTTP_BODY (declared, or counted as chunks arrive)
    never reaches the handler: the rest of its body is read and dropped (a client still
    sending would otherwise be reset before it reads the reply), then 413 is the answer.
    Any other request passes through untouched."""

    def __init__(
        self,
        delegate: tornado.httputil.HTTPMessageDelegate,
        conn: tornado.httputil.HTTPConnection,
    ) -> None:
        self.delegate = delegate
        self.conn = conn
        self.start_line: tornado.httputil.RequestStartLine | None = None
        self.received = 0
        self.refused = False
        self.passed_on = False  # the delegate saw the headers

    def headers_received(
        self,
        start_line: tornado.httputil.RequestStartLine | tornado.httputil.ResponseStartLine,
        headers: tornado.httputil.HTTPHeaders,
    ) -> Awaitable[None] | None:
        assert isinstance(start_line, tornado.httputil.RequestStartLine)
        self.start_line = start_line
        length = headers.get("Content-Length", "")
        declared = int(length) if length.isdigit() else 0
        if declared > MAX_DRAIN:
            self.refused = True
            self.finish()  # no draining that much: the connection closes after the reply
            return None
        # Tornado's own limit would answer a bare 400: drain up to MAX_DRAIN instead
        self.conn.set_max_body_size(MAX_DRAIN)  # type: ignore[attr-defined]
        if declared > MAX_HTTP_BODY:
            self.refused = True
            return None
        self.passed_on = True
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        self.received += len(chunk)
        if self.received > MAX_HTTP_BODY:
            self.refused = True  # a chunked body grew too large: what the handler got is dropped
        return None if self.refused else self.delegate.data_received(chunk)

    def finish(self) -> None:
        if not self.refused:
            self.delegate.finish()
            return
        assert self.start_line is not None
        log.info("%s %s 413 (body over %d MiB)", self.start_line.method,
                 shorten(self.start_line.path), MAX_HTTP_BODY // 2**20)  # fmt: skip
        start_line, headers, body = error_reply(413)
        self.conn.write_headers(start_line, headers, body)
        self.conn.finish()

    def on_connection_close(self) -> None:
        if self.passed_on:
            self.delegate.on_connection_close()


class ApiHttpServer(tornado.httpserver.HTTPServer):
    """Tornado's server with the OversizeGuard in front of every request."""

    def start_request(
        self, server_conn: object, request_conn: tornado.httputil.HTTPConnection
    ) -> tornado.httputil.HTTPMessageDelegate:
        return OversizeGuard(super().start_request(server_conn, request_conn), request_conn)


class ApiServer:
    """``port`` is the port actually bound; ``stop()`` and ``rebind(settings)`` are awaitable."""

    def __init__(self, host: ApiHost, http: Http, api: Api, machine: MachineInfo) -> None:
        self.host = host  # the miner, its controls and its config manager
        miner = self.miner = host.miner
        self.machine = machine
        self.http = http  # the config's http section the API runs with
        self.api = api  # and its api section (instance and worker ids)
        self.views = Views(miner, http, api, machine)
        self.bodies = BodyCache()
        self.rpc = Rpc(host)
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
        self._reserved: tuple[tuple[str, int], list[socket.socket]] | None = None
        self.port = 0

    def listen(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve on ``sockets`` (bound already), else on a fresh bind of the http address."""
        sockets = sockets or bind(self.http.host, self.http.port)
        http = ApiHttpServer(
            self.app,
            max_body_size=MAX_HTTP_BODY,
            idle_connection_timeout=IDLE_TIMEOUT,  # also bounds the time to send the headers
            body_timeout=BODY_TIMEOUT,
            xheaders=False,
        )
        http.add_sockets(sockets)
        self._http = http
        self.port = sockets[0].getsockname()[1]
        log.info("HTTP API %s:%d", self.http.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close every connection (the miner is stopping)."""
        self._release()
        http, self._http = self._http, None
        servers = ([http] if http is not None else []) + list(self._retired)
        self._retired.clear()
        for server in servers:
            server.stop()
            await server.close_all_connections()

    def stays(self, settings: Http) -> bool:
        """Whether ``settings`` keep the listener where it is (same host and port)."""
        same = (self.http.host, self.http.port) == (settings.host, settings.port)
        return same and settings.enabled and self._http is not None

    def reserve(self, settings: Http) -> None:
        """Bind now the address ``settings`` would move the API to, and keep the sockets for
        the rebind that follows; OSError when it cannot be bound (nothing changes then).

        The current port on another host cannot be tried while it is held: that move binds
        when it happens, and the API goes back to where it was if it fails."""
        if not settings.enabled or self.stays(settings):
            return
        if self._http is not None and settings.port == self.port:
            return
        address = (settings.host, settings.port)
        if self._reserved is not None and self._reserved[0] == address:
            return
        sockets = bind(*address)
        self._release()
        self._reserved = (address, sockets)

    def _release(self) -> None:
        if self._reserved is not None:
            for sock in self._reserved[1]:
                sock.close()
            self._reserved = None

    def _bind_for(self, settings: Http) -> list[socket.socket]:
        """The reserved sockets for ``settings``' address, else a fresh bind (OSError)."""
        reserved, self._reserved = self._reserved, None
        if reserved is not None and reserved[0] == (settings.host, settings.port):
            return reserved[1]
        if reserved is not None:
            for sock in reserved[1]:
                sock.close()
        return bind(settings.host, settings.port)

    async def rebind(self, settings: Http, api: Api | None = None) -> None:
        """Apply new http/api sections; the listener moves only when host or port changed.
        An address that cannot be bound is logged and the API stays where it was."""
        old = self.http
        if api is not None:
            self.api = api
        self.views = Views(self.miner, settings, self.api, self.machine)
        self.bodies.clear()
        if self.stays(settings):
            self.http = settings
            return
        if not settings.enabled:
            self.http = settings
            self._retire()
            log.info("HTTP API disabled")
            return
        if self._http is not None and settings.port == self.port:
            self._retire()  # the port it holds, on another host: free it first
        try:
            sockets = self._bind_for(settings)
        except OSError as exc:
            self._cannot_move(old, settings, exc)
            return
        self._retire()
        self.http = settings
        self.listen(sockets)

    def _cannot_move(self, old: Http, new: Http, exc: OSError) -> None:
        """Keep the old address (listening again if it was freed for the move), with the rest
        of the new settings (token, restricted, ids)."""
        where = f"on {old.host}:{self.port}" if old.enabled else "off"
        log.error("HTTP API cannot listen on %s:%d: %s (it stays %s)",
                  new.host, new.port, exc.strerror or exc, where)  # fmt: skip
        self.http = dataclasses.replace(new, host=old.host, port=old.port, enabled=old.enabled)
        self.views = Views(self.miner, self.http, self.api, self.machine)
        if self._http is None and old.enabled:
            try:
                self.listen(bind(old.host, self.port))
            except OSError as again:
                log.error("HTTP API cannot listen on %s:%d again: %s",
                          old.host, self.port, again.strerror or again)  # fmt: skip

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

    def schedule_rebind(self, settings: Http, api: Api) -> None:
        """Rebind after the current reply went out (a PUT /2/config that changed http)."""
        loop = asyncio.get_running_loop()
        loop.call_soon(lambda: asyncio.ensure_future(self.rebind(settings, api)))


def check_move(server: ApiServer | None, settings: Http) -> None:
    """Before a new config is accepted: ValueError naming ``http.host`` or ``http.port`` when
    the API could not listen where ``settings`` put it (the address is kept bound for the
    move when it can)."""
    if server is None:
        return
    try:
        server.reserve(settings)
    except OSError as exc:
        host_errors = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)
        host = isinstance(exc, socket.gaierror) or exc.errno in host_errors
        key, value = ("http.host", settings.host) if host else ("http.port", settings.port)
        reason = exc.strerror or str(exc)
        raise ValueError(
            f"{key}: {value}: cannot listen on {settings.host}:{settings.port}: {reason}"
        ) from None


def start_api(host: ApiHost, http: Http, api: Api | None = None) -> ApiServer:
    """Listen now (on the running loop); OSError if the bind fails.  Whoever starts it stops
    it (``await server.stop()``) when the miner has stopped."""
    server = ApiServer(host, http, api or Api(), MachineInfo.probe())
    server.listen()
    return server
