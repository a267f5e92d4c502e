"""JSON-RPC 2.0 on /json_rpc: pause, resume, stop and start (XMRig has no start)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from xminer import jsonsafe

if TYPE_CHECKING:
    from xminer.api.host import ApiHost

PARSE_ERROR = (-32700, "Parse error")
INVALID_REQUEST = (-32600, "Invalid Request")
METHOD_NOT_FOUND = (-32601, "Method not found")


def _error(code: tuple[int, str], rpc_id: object = None) -> dict[str, Any]:
    return {"error": {"code": code[0], "message": code[1]}, "jsonrpc": "2.0", "id": rpc_id}


def _ok(rpc_id: object) -> dict[str, Any]:
    return {"result": {"status": "OK"}, "jsonrpc": "2.0", "id": rpc_id}


def _methods(host: ApiHost) -> dict[str, Callable[[], None]]:
    return {
        "pause": host.pause,
        "resume": host.resume,
        "stop": host.stop,
        "start": host.resume,  # xminer's own: hashing again after a stop, as resume does
    }


class Rpc:
    """Control calls run one at a time, off the event loop (stop joins hashing threads)."""

    def __init__(self, host: ApiHost) -> None:
        self.host = host
        self.lock = asyncio.Lock()

    async def handle(self, body: bytes) -> dict[str, Any]:
        request = parse(body)
        if "error" in request:
            return request
        action = _methods(self.host).get(request["method"])
        if action is None:
            return _error(METHOD_NOT_FOUND, request["id"])
        async with self.lock:
            await asyncio.get_running_loop().run_in_executor(None, action)
        return _ok(request["id"])


def parse(body: bytes) -> dict[str, Any]:
    """``{"method", "id"}`` of a valid request, or the error envelope to answer."""
    if not body.strip():
        return _error(INVALID_REQUEST)  # as XMRig: an empty body is no request, not bad JSON
    try:
        request = jsonsafe.loads(body)
    except jsonsafe.JsonError:  # malformed, or nested too deep (its id included)
        return _error(PARSE_ERROR)
    if not isinstance(request, dict):
        return _error(INVALID_REQUEST)
    rpc_id = request.get("id")
    method = request.get("method")
    if not isinstance(method, str) or not method:
        return _error(INVALID_REQUEST, rpc_id)
    return {"method": method, "id": rpc_id}
