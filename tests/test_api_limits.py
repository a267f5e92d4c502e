"""What the API bounds: nesting depth, body size (413), slow clients (timeouts), logged URL
length, and a move to an address it cannot listen on (the listener stays)."""

from __future__ import annotations

import dataclasses
import http.client
import json
import logging
import socket
import time
from collections.abc import Iterator
from http import HTTPStatus

import pytest

from tests.api_support import JSON, TOKEN, Request, RunningMiner, auth, send
from xminer.api import ApiServer
from xminer.api import server as api_server
from xminer.api.host import MinerHost
from xminer.api.machine import MachineInfo
from xminer.config.model import Api, Http
from xminer.jsonsafe import MAX_DEPTH

pytestmark = pytest.mark.timeout(300)

FULL = Http(enabled=True, port=0, access_token=TOKEN, restricted=False)
PARSE_ERROR = {"code": -32700, "message": "Parse error"}
BEARER = f"Authorization: Bearer {TOKEN}"
SHORT = 1.0  # the timeouts of the server under test (seconds)


@pytest.fixture(scope="module")
def rm() -> Iterator[RunningMiner]:
    with RunningMiner(FULL) as running:
        yield running


@pytest.fixture
def short_port(rm: RunningMiner) -> Iterator[int]:
    """A second API server on the same miner, its idle and body timeouts SHORT."""
    assert rm.miner is not None
    server = ApiServer(MinerHost(rm.miner), FULL, Api(), MachineInfo.probe())

    async def listen() -> None:
        server.listen()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api_server, "IDLE_TIMEOUT", SHORT)
        patch.setattr(api_server, "BODY_TIMEOUT", SHORT)
        rm.call(listen)
    yield server.port
    rm.call(server.stop)


def nested(levels: int, inner: str = "1") -> bytes:
    return ("[" * levels + inner + "]" * levels).encode()


def put(rm: RunningMiner, body: bytes) -> tuple[int, dict[str, object]]:
    reply = rm.request(Request("PUT", "/2/config", {**auth(TOKEN), **JSON}, body))
    return reply.status, reply.json()


def rpc(rm: RunningMiner, body: bytes) -> tuple[int, dict[str, object]]:
    reply = rm.request(Request("POST", "/json_rpc", {**auth(TOKEN), **JSON}, body))
    return reply.status, reply.json()


# ---- nesting depth -----------------------------------------------------------------------
@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 1000, 100_000])
def test_deep_config_body_is_400(rm: RunningMiner, levels: int) -> None:
    before = rm.get("/2/config").body
    status, body = put(rm, b'{"x": ' + nested(levels) + b"}")
    assert (status, body["status"]) == (400, 400)
    assert "nested deeper than 64" in str(body["error"])
    assert rm.get("/2/config").body == before


@pytest.mark.parametrize(
    "body",
    [
        nested(1000),
        b'{"method": "pause", "id": ' + nested(1000) + b"}",
        b'{"method": ' + nested(5000, '"pause"') + b', "id": 1}',
    ],
    ids=["body", "id", "method"],
)
def test_deep_rpc_is_a_parse_error(rm: RunningMiner, body: bytes) -> None:
    status, reply = rpc(rm, body)
    assert status == 200
    assert reply == {
        "error": {"code": -32700, "message": "Parse error"},
        "jsonrpc": "2.0",
        "id": None,
    }
    assert rm.get("/2/summary").json()["paused"] is False


def test_rpc_id_at_the_depth_limit_is_echoed(rm: RunningMiner) -> None:
    rpc_id = json.loads(nested(MAX_DEPTH - 1))
    status, reply = rpc(rm, json.dumps({"method": "foo", "id": rpc_id}).encode())
    assert (status, reply["id"]) == (200, rpc_id)


# ---- body size ---------------------------------------------------------------------------
@pytest.mark.parametrize("size", [2 * 2**20, 17 * 2**20])
def test_large_body_answers_413(rm: RunningMiner, size: int) -> None:
    """Over 1 MiB: 413 from the handler; over 16 MiB the body is read and dropped unkept."""
    before = rm.get("/2/config").body
    body = b'{"x": "' + b"a" * (size - 9) + b'"}'
    reply = rm.request(Request("PUT", "/2/config", {**auth(TOKEN), **JSON}, body))
    assert reply.status == 413
    assert reply.json() == {"status": 413, "error": HTTPStatus(413).name}
    assert reply.headers["access-control-allow-origin"] == "*"
    assert rm.get("/2/config").body == before


@pytest.mark.parametrize("size", [2 * 2**20, 17 * 2**20])
def test_large_chunked_body_answers_413(rm: RunningMiner, size: int) -> None:
    before = rm.get("/2/config").body
    chunks = [b'{"x": "'] + [b"a" * 2**16] * (size // 2**16) + [b'"}']
    conn = http.client.HTTPConnection("127.0.0.1", rm.port, timeout=60)
    try:
        conn.request("PUT", "/2/config", body=iter(chunks), encode_chunked=True,
                     headers={**auth(TOKEN), **JSON, "Transfer-Encoding": "chunked"})  # fmt: skip
        reply = conn.getresponse()
        assert reply.status == 413
        assert json.loads(reply.read()) == {"status": 413, "error": HTTPStatus(413).name}
    finally:
        conn.close()
    assert rm.get("/2/config").body == before


def test_connection_serves_again_after_a_drained_413(rm: RunningMiner) -> None:
    conn = socket.create_connection(("127.0.0.1", rm.port), timeout=60)
    with conn:
        size = 17 * 2**20
        head = (
            f"PUT /2/config HTTP/1.1\r\nHost: x\r\n{BEARER}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
        )
        conn.sendall(head.encode() + b" " * size)
        conn.sendall(
            f"GET /2/summary HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
        )
        replies = b""
        while replies.count(b"HTTP/1.1 ") < 2 or not replies.rstrip().endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            replies += chunk
    assert replies.startswith(b"HTTP/1.1 413 ")
    assert b"HTTP/1.1 200 OK" in replies


# ---- slow clients ------------------------------------------------------------------------
def closed_by_server(conn: socket.socket) -> bool:
    """Reads until the server closes (True) or 60 s pass without that (False)."""
    conn.settimeout(60)
    try:
        while conn.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


@pytest.mark.parametrize(
    "partial",
    [
        b"",
        b"GET /2/summary HTTP/1.1\r\nHost: x\r\n",
        b"PUT /2/config HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{",
    ],
    ids=["idle", "headers", "body"],
)
def test_slow_client_is_dropped(short_port: int, partial: bytes) -> None:
    with socket.create_connection(("127.0.0.1", short_port), timeout=60) as conn:
        conn.sendall(partial)
        assert closed_by_server(conn)
    assert send(short_port, Request("GET", "/2/summary", auth(TOKEN))).status == 200


# ---- logs --------------------------------------------------------------------------------
def test_failed_request_logs_a_short_url(
    rm: RunningMiner, caplog: pytest.LogCaptureFixture
) -> None:
    long_path = "/" + "a" * 60_000
    with caplog.at_level(logging.INFO, logger="xminer.api"):
        reply = rm.request(Request("GET", long_path, {**auth(TOKEN), "User-Agent": "u" * 5000}))
        assert reply.status == 404
        deadline = time.monotonic() + 30
        while not any(" 404 " in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "no log line for the 404"
            time.sleep(0.1)
    line = next(r.getMessage() for r in caplog.records if " 404 " in r.getMessage())
    assert "(60001 characters)" in line and "(5000 characters)" in line
    assert len(line) < 600


# ---- moving the listener -----------------------------------------------------------------
def test_rebind_to_a_taken_port_keeps_the_listener(
    rm: RunningMiner, taken_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The move is tried when it happens (no PUT checked it first): one line, no task error."""
    old_port = rm.port
    assert rm.api is not None
    before = rm.api.http
    with caplog.at_level(logging.INFO, logger="xminer.api"):
        rm.rebind(dataclasses.replace(FULL, port=taken_port), Api(id="moved"))
    try:
        assert rm.port == old_port
        assert send(old_port, Request("GET", "/2/summary", auth(TOKEN))).json()["id"] == "moved"
        lines = [r.getMessage() for r in caplog.records if "cannot listen" in r.getMessage()]
        assert lines == [
            f"HTTP API cannot listen on 127.0.0.1:{taken_port}: Address already in use "
            f"(it stays on 127.0.0.1:{old_port})"
        ]
    finally:
        rm.rebind(before)


def test_rebind_to_a_foreign_address_keeps_the_listener(rm: RunningMiner) -> None:
    old_port = rm.port
    assert rm.api is not None
    before = rm.api.http
    rm.rebind(dataclasses.replace(FULL, host="192.0.2.1"))  # TEST-NET-1: not ours
    try:
        assert rm.port == old_port and rm.api.http.host == "127.0.0.1"
        assert rm.get("/2/summary").status == 200
    finally:
        rm.rebind(before)
