"""XMRig's request pipeline on one Tornado handler, so that the order of checks (and so every
status code) is XMRig's: OPTIONS, favicon, method, token, restricted/content type, route.

Three deliberate corrections (README.md, The HTTP API): the query string is ignored when routing, a
``charset`` parameter on ``application/json`` is accepted, and HEAD is answered as GET without
a body.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

import tornado.httputil
import tornado.web

from xminer.api import config as config_api
from xminer.api.jsonfmt import dumps

if TYPE_CHECKING:
    import asyncio

    from xminer.api.host import ApiHost
    from xminer.api.rpc import Rpc
    from xminer.api.views import Views
    from xminer.config.model import Api, Http

log = logging.getLogger("xminer.api")

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, PUT, POST, DELETE",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
}
KNOWN_METHODS = ("DELETE", "GET", "HEAD", "POST", "PUT")
MAX_BODY = 1024 * 1024  # larger config bodies are refused with 413
MAX_LOGGED = 200  # characters of a failed request's URL (or user agent) the log shows
BODY_TTL = 0.5  # seconds a built GET body is served again


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


class ApiService(Protocol):
    """What the handlers use of the API server (``server.ApiServer``): its host, sections,
    views, body cache, JSON-RPC and the lock that serialises config PUTs."""

    host: ApiHost
    http: Http
    api: Api
    views: Views
    bodies: BodyCache
    rpc: Rpc
    config_lock: asyncio.Lock


class ApiError(tornado.web.HTTPError):
    """An error reply; ``detail`` replaces the status name in the body (XMRig's parse errors)."""

    def __init__(self, status: int, detail: str | None = None) -> None:
        super().__init__(status)
        self.detail = detail


def error_body(status: int, reason: str | None = None) -> dict[str, Any]:
    name = HTTPStatus(status).name
    if reason and reason != name:
        return {"error": reason, "status": status}  # XMRig: a parser message comes first
    return {"status": status, "error": name}


def error_reply(
    status: int,
) -> tuple[tornado.httputil.ResponseStartLine, tornado.httputil.HTTPHeaders, bytes]:
    """A whole error reply (status line, headers, body) for code that runs before a handler."""
    body = dumps(error_body(status)).encode()
    headers = tornado.httputil.HTTPHeaders(
        {**CORS, "Content-Type": "application/json", "Content-Length": str(len(body))}
    )
    reason = HTTPStatus(status).phrase
    return tornado.httputil.ResponseStartLine("HTTP/1.1", status, reason), headers, body


def shorten(text: str) -> str:
    """A URL or header as the log shows it: at most MAX_LOGGED characters (a probe may send
    60 KB of them)."""
    if len(text) <= MAX_LOGGED:
        return text
    return f"{text[:MAX_LOGGED]}... ({len(text)} characters)"


def is_json(content_type: str | None) -> bool:
    """``application/json``, parameters such as charset allowed (XMRig wants it bare)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def log_request(handler: tornado.web.RequestHandler) -> None:
    """XMRig logs only the failed requests: ip, method, url, status, time, user agent."""
    status = handler.get_status()
    if status < 400:
        return
    r = handler.request
    log.info(
        "%s %s %s %d %dms %r",
        r.remote_ip,
        r.method,
        shorten(r.uri or ""),
        status,
        int(1000 * r.request_time()),
        shorten(r.headers.get("User-Agent", "")),
    )


class ApiHandler(tornado.web.RequestHandler):
    """Every path and every method lands here; ``_route`` picks the endpoint."""

    SUPPORTED_METHODS = (*KNOWN_METHODS, "OPTIONS")  # others: Tornado answers 405 (write_error)

    def initialize(self, server: ApiService) -> None:
        self.server = server

    def set_default_headers(self) -> None:
        for key, value in CORS.items():
            self.set_header(key, value)
        self.clear_header("Server")
        self.clear_header("Content-Type")

    def compute_etag(self) -> None:
        return None

    # ---- replies -----------------------------------------------------------------------
    def reply(self, status: int, body: object = None) -> None:
        self.reply_json(status, None if body is None else dumps(body))

    def reply_json(self, status: int, text: str | None) -> None:
        self.set_status(status)
        if text is not None:
            self.set_header("Content-Type", "application/json")
            self.write(text)  # Tornado drops it for HEAD, keeping Content-Length
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        reason = exc.detail if isinstance(exc, ApiError) else None
        for key, value in CORS.items():
            self.set_header(key, value)
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(error_body(status_code, reason)))

    # ---- pipeline ----------------------------------------------------------------------
    async def prepare(self) -> None:
        method = self.request.method or ""
        if method == "OPTIONS":
            self.reply(200)
            return
        if method == "GET" and self.request.path == "/favicon.ico":
            self.reply(404)
            return
        if method not in KNOWN_METHODS:
            raise ApiError(405)
        self._check_auth()
        if method not in ("GET", "HEAD"):
            if self.server.http.restricted:
                raise ApiError(403)
            if not is_json(self.request.headers.get("Content-Type")):
                raise ApiError(415)
            if len(self.request.body) > MAX_BODY:
                raise ApiError(413)
        await self._route(method)

    def _check_auth(self) -> None:
        settings = self.server.http
        header = self.request.headers.get("Authorization")
        if header is None:
            if settings.auth_required:
                raise ApiError(401)
            return
        token = settings.access_token
        if token is None:
            raise ApiError(401)
        if not hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
            raise ApiError(403)

    async def _route(self, method: str) -> None:
        path = self.request.path  # without the query string (XMRig: 404)
        verb = "GET" if method == "HEAD" else method
        handler = self._routes().get((verb, path))
        if handler is None:
            raise ApiError(404)
        await handler()

    def _routes(self) -> dict[tuple[str, str], Callable[[], Awaitable[None]]]:
        return {
            ("GET", "/2/summary"): lambda: self._get(
                "summary2", lambda: self.server.views.summary(2)
            ),
            ("GET", "/1/summary"): lambda: self._get(
                "summary1", lambda: self.server.views.summary(1)
            ),
            ("GET", "/api.json"): lambda: self._get(
                "summary1", lambda: self.server.views.summary(1)
            ),
            ("GET", "/2/backends"): lambda: self._get("backends", self.server.views.backends),
            ("GET", "/2/dmi"): lambda: self._get("dmi", self.server.views.dmi),
            ("GET", "/1/config"): self._get_config,
            ("GET", "/2/config"): self._get_config,
            ("PUT", "/1/config"): self._put_config,
            ("PUT", "/2/config"): self._put_config,
            ("POST", "/1/config"): self._put_config,
            ("POST", "/2/config"): self._put_config,
            ("POST", "/json_rpc"): self._json_rpc,
        }

    async def _get(self, key: str, build: Callable[[], object]) -> None:
        self.reply_json(200, self.server.bodies.get(key, lambda: dumps(build())))

    async def _get_config(self) -> None:
        if self.server.http.restricted:
            raise ApiError(403)
        self.reply(200, config_api.current(self.server.host, self.server.http, self.server.api))

    async def _put_config(self) -> None:
        self.server.bodies.clear()
        async with self.server.config_lock:
            outcome = config_api.put(self.server.host, self.request.body)
        if outcome.status != 204:
            raise ApiError(outcome.status, outcome.error)
        self.reply(204)  # the listeners of the config manager moved the API if http changed

    async def _json_rpc(self) -> None:
        reply = await self.server.rpc.handle(self.request.body)
        self.server.bodies.clear()  # pause, resume, stop, start show at once
        self.reply(200, reply)

    # Tornado calls the verb method after prepare() unless prepare finished the request
    async def get(self) -> None:  # pragma: no cover - prepare always finishes
        pass

    head = post = put = delete = options = get
