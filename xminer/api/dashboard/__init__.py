"""The built-in dashboard: one static page at ``/`` with its script and style sheet.

The files hold no data, so they are served without the token; everything the page shows
comes from the API, which asks for the token as usual (the page prompts on 401).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

from xminer.api.http import ApiHandler

HERE = Path(__file__).resolve().parent
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/dashboard/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/dashboard/style.css": ("style.css", "text/css; charset=utf-8"),
}
DASHBOARD_ROUTE = r"/(?:dashboard/.*)?"  # what server.py sends here
# the page loads nothing from elsewhere and talks only to its own origin
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@functools.cache
def read(name: str) -> bytes:
    return (HERE / name).read_bytes()


class DashboardHandler(ApiHandler):
    """The page's files through the API's pipeline (OPTIONS, methods, CORS), token-free."""

    def _check_auth(self) -> None:
        return None

    def _routes(self) -> dict[tuple[str, str], Callable[[], Awaitable[None]]]:
        return {("GET", path): functools.partial(self._file, path) for path in FILES}

    async def _file(self, path: str) -> None:
        name, content_type = FILES[path]
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-cache")
        self.finish(read(name))


def dashboard_url(host: str, port: int) -> str:
    """Where a browser on this machine finds the page (a wildcard bind answers on loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
