"""The HTTP API against a running miner (benchmark, light mode), over loopback: XMRig's shapes
and status codes, JSON-RPC control, config PUT safety, CORS, and the OpenAPI schemas."""

from __future__ import annotations

import csv
import dataclasses
import json
import socket
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from tests.api_support import (
    CAPTURES,
    JSON,
    OPENAPI,
    TOKEN,
    Reply,
    Request,
    RunningMiner,
    auth,
    load_capture,
    send,
    shape_diff,
)
from xminer.config.model import Api, Http

pytestmark = pytest.mark.timeout(300)

FULL = Http(enabled=True, port=0, access_token=TOKEN, restricted=False)
SETUPS = {
    ".": FULL,
    "poolmode": FULL,
    "restricted": Http(enabled=True, port=0, access_token=TOKEN, restricted=True),
    "notoken": Http(enabled=True, port=0, access_token=None, restricted=True),
    "notoken_norestricted": Http(enabled=True, port=0, access_token=None, restricted=False),
}
# where xminer is right and XMRig is not (README.md, The HTTP API); / is xminer's dashboard
CORRECTIONS = {
    "2_summary_query": 200,
    "rpc_ct_charset": 200,
    "method_head_summary": 200,
    "root_path": 200,
}
DOC = json.loads(OPENAPI.read_text())


@pytest.fixture(scope="module")
def rm() -> Iterator[RunningMiner]:
    with RunningMiner(FULL) as running:
        running.wait_hashing()
        yield running


def validate(body: Any, schema: str) -> None:
    doc = {"$ref": f"#/components/schemas/{schema}", "components": DOC["components"]}
    jsonschema.Draft202012Validator(doc).validate(body)


def has_config_manager(rm: RunningMiner) -> bool:
    return rm.app is not None


# ---- shapes ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "capture", "schema"),
    [
        ("/2/summary", "2_summary", "Summary"),
        ("/1/summary", "1_summary", "SummaryV1"),
        ("/api.json", "api_json", "SummaryV1"),
        ("/2/backends", "2_backends", "Backends"),
        ("/2/dmi", "2_dmi", "Dmi"),
    ],
)
def test_shape_matches_xmrig(rm: RunningMiner, path: str, capture: str, schema: str) -> None:
    reply = rm.get(path)
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    validate(body, schema)
    validate(load_capture(capture), schema)
    assert shape_diff(body, load_capture(capture)) == []


def test_summary_numbers_are_real(rm: RunningMiner) -> None:
    import os

    import psutil

    s: dict[str, Any] = {}

    def rated() -> bool:  # the 10 s window is full: a sample older than 10 s, two in it
        nonlocal s
        s = rm.get("/2/summary").json()
        return s["hashrate"]["total"][0] is not None

    rm.wait_for(rated, 240)
    assert s["resources"]["hardware_concurrency"] == os.cpu_count()
    assert s["resources"]["memory"]["total"] == psutil.virtual_memory().total
    assert 0 < s["resources"]["memory"]["resident_set_memory"] < s["resources"]["memory"]["total"]
    assert s["connection"]["pool"] == "benchmark:3333"
    assert s["results"]["diff_current"] == 2**64 - 1
    assert s["connection"]["uptime"] >= 1
    assert len(s["id"]) in (0, 16)
    assert s["hashrate"]["highest"] >= s["hashrate"]["total"][0] > 0
    backends = rm.get("/2/backends").json()
    cpu = backends[0]
    assert cpu["enabled"] and len(cpu["threads"]) == 1 and cpu["memory"] == 2 * 1024 * 1024
    assert [b["type"] for b in backends] == ["cpu", "opencl", "cuda"]
    v1 = rm.get("/1/summary").json()
    assert len(v1["hashrate"]["threads"]) == 1


def test_api_id_and_worker_id_from_settings(rm: RunningMiner) -> None:
    assert rm.api is not None
    old = rm.api.api
    rm.rebind(rm.api.http, Api(id="cafe", worker_id="rig-$XM_T"))
    try:
        import os

        os.environ["XM_T"] = "7"
        s = rm.get("/2/summary").json()
    finally:
        rm.rebind(rm.api.http, old)
    assert s["id"] == "cafe"
    assert s["worker_id"] in ("rig-7", "rig-$XM_T")


# ---- status matrices ---------------------------------------------------------------------
def status_rows() -> list[tuple[str, dict[str, str]]]:
    rows = []
    for setup in SETUPS:
        with (CAPTURES / setup / "STATUS.tsv").open() as f:
            rows += [(setup, row) for row in csv.DictReader(f, delimiter="\t")]
    return rows


def request_for(row: dict[str, str]) -> Request:
    notes, method = row["request_notes"], row["method"]
    headers: dict[str, str] = {}
    if "wrong token" in notes or "Bearer WRONG" in notes:
        headers["Authorization"] = "Bearer WRONG"
    elif "SECRXT" in notes:
        headers["Authorization"] = "Bearer SECRXT"
    elif "no Bearer prefix" in notes:
        headers["Authorization"] = TOKEN
    elif "lowercase" in notes:
        headers["Authorization"] = f"bearer {TOKEN}"
    elif right_token(row):
        headers["Authorization"] = f"Bearer {TOKEN}"
    if method not in ("GET", "OPTIONS") and "no content-type" not in notes:
        headers["Content-Type"] = "application/json"
    if "charset" in notes:
        headers["Content-Type"] = "application/json; charset=utf-8"
    return Request(method, row["path"], headers, body_for(row))


def right_token(row: dict[str, str]) -> bool:
    notes = row["request_notes"]
    if any(s in notes for s in ("Bearer SECRET", "right token", "after")):
        return True
    if "no auth" in notes or "no token" in notes:
        return False
    return row["name"].startswith(("p_", "full_", "2_", "rpc_", "put_"))


def body_for(row: dict[str, str]) -> bytes | None:
    notes, name = row["request_notes"], row["name"]
    if row["method"] in ("GET", "OPTIONS", "HEAD", "PATCH", "TRACE", "DELETE"):
        return None
    if "malformed" in notes:
        return b'{"method": "pause",'
    if "empty body" in notes:
        return b""
    if "array" in notes:
        return b'[{"method": "pause"}]'
    if "no method" in notes:
        return b'{"id": 7}'
    if "unknown method" in notes:
        return b'{"method": "foo", "id": 8}'
    for method in ("pause", "resume", "stop", "start"):
        if method in name:
            return json.dumps({"method": method, "id": 1}).encode()
    return b"{}"


def expected(row: dict[str, str]) -> int:
    return CORRECTIONS.get(row["name"], int(row["http_code"]))


@pytest.fixture
def restore(rm: RunningMiner) -> Iterator[None]:
    assert rm.api is not None
    http, api = rm.api.http, rm.api.api
    yield
    rm.rebind(http, api)
    rm.rpc("start")


@pytest.mark.usefixtures("restore")
def test_status_matrix(rm: RunningMiner) -> None:
    """Every request of every STATUS.tsv, in order, gives XMRig's code (or the correction)."""
    wrong = []
    current = None
    for setup, row in status_rows():
        if SETUPS[setup] != current:
            rm.rebind(SETUPS[setup])
            current = SETUPS[setup]
        if row["name"] == "put_config_valid":
            continue  # needs the config manager: test_put_valid_config
        reply = rm.request(request_for(row))
        if reply.status != expected(row):
            wrong.append(f"{setup}/{row['name']}: {reply.status} != {expected(row)}")
        assert_cors(reply)
    assert wrong == []


def assert_cors(reply: Reply) -> None:
    assert reply.headers["access-control-allow-origin"] == "*"
    assert reply.headers["access-control-allow-methods"] == "GET, PUT, POST, DELETE"
    assert reply.headers["access-control-allow-headers"] == "Authorization, Content-Type"


@pytest.mark.parametrize(
    ("req", "status", "error"),
    [
        (Request("GET", "/2/summary"), 401, "UNAUTHORIZED"),
        (Request("GET", "/2/summary", auth("WRONG")), 403, "FORBIDDEN"),
        (Request("GET", "/1/threads", auth(TOKEN)), 404, "NOT_FOUND"),
        (Request("PATCH", "/2/summary"), 405, "METHOD_NOT_ALLOWED"),
        (Request("POST", "/json_rpc", auth(TOKEN), b"{}"), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (Request("PUT", "/2/config", {**auth(TOKEN), **JSON}, b"{}"), 400, "BAD_REQUEST"),
    ],
)
def test_error_bodies(rm: RunningMiner, req: Request, status: int, error: str) -> None:
    reply = rm.request(req)
    assert reply.status == status
    assert reply.json() == {"status": status, "error": error}
    assert_cors(reply)


def test_options_has_cors_and_no_body(rm: RunningMiner) -> None:
    reply = rm.request(Request("OPTIONS", "/json_rpc"))
    assert (reply.status, reply.body) == (200, b"")
    assert_cors(reply)


def test_head_is_get_without_body(rm: RunningMiner) -> None:
    reply = rm.request(Request("HEAD", "/2/summary", auth(TOKEN)))
    assert reply.status == 200 and reply.body == b""
    assert int(reply.headers["content-length"]) > 1000


@pytest.mark.usefixtures("restore")
def test_restricted_summary_says_so(rm: RunningMiner) -> None:
    rm.rebind(SETUPS["restricted"])
    assert rm.get("/2/summary").json()["restricted"] is True
    assert rm.get("/2/config").status == 403


# ---- JSON-RPC ----------------------------------------------------------------------------
NOT_FOUND = {"code": -32601, "message": "Method not found"}


@pytest.mark.parametrize(
    ("body", "reply"),
    [
        (b"{", {"error": {"code": -32700, "message": "Parse error"}, "id": None}),
        (b"", {"error": {"code": -32600, "message": "Invalid Request"}, "id": None}),
        (b"[]", {"error": {"code": -32600, "message": "Invalid Request"}, "id": None}),
        (b'{"id": 7}', {"error": {"code": -32600, "message": "Invalid Request"}, "id": 7}),
        (b'{"method": "foo", "id": "x"}', {"error": NOT_FOUND, "id": "x"}),
    ],
)
def test_rpc_errors(rm: RunningMiner, body: bytes, reply: dict[str, Any]) -> None:
    got = rm.request(Request("POST", "/json_rpc", {**auth(TOKEN), **JSON}, body))
    assert got.status == 200
    payload = got.json()
    assert list(payload) == [next(iter(reply)), "jsonrpc", "id"]
    assert payload == {**reply, "jsonrpc": "2.0"}


def total(rm: RunningMiner) -> list[float | None]:
    return rm.get("/2/summary").json()["hashrate"]["total"]


def test_pause_resume(rm: RunningMiner) -> None:
    reply = rm.rpc("pause", rpc_id=1).json()
    assert reply == {"result": {"status": "OK"}, "jsonrpc": "2.0", "id": 1}
    assert rm.get("/2/summary").json()["paused"] is True
    rm.wait_for(lambda: total(rm)[0] == 0.0)  # idle samples: 10 s after the pause
    paused = rm.get("/2/backends").json()[0]
    assert "threads" in paused  # threads stay allocated while paused, as in XMRig
    assert shape_diff(rm.get("/2/backends").json(), load_capture("2_backends_paused")) == []
    rm.rpc("resume")
    assert rm.get("/2/summary").json()["paused"] is False
    rm.wait_hashing()


def test_stop_then_start(rm: RunningMiner) -> None:
    assert rm.rpc("stop").json()["result"] == {"status": "OK"}
    summary = rm.get("/2/summary").json()
    assert summary["hashrate"]["total"] == [0.0, 0.0, 0.0]
    assert summary["paused"] is False  # XMRig: stop is not a pause
    backends = rm.get("/2/backends").json()
    assert shape_diff(backends, load_capture("2_backends_after_stop")) == []
    assert rm.rpc("start").json()["result"] == {"status": "OK"}
    rm.wait_for(lambda: "threads" in rm.get("/2/backends").json()[0])
    rm.wait_hashing()


# ---- config ------------------------------------------------------------------------------
BAD_BODIES = {
    "malformed": (b'{"http": ', False),
    "empty_object": (b"{}", False),
    "array": (b"[1, 2]", False),
    "ten_megabytes": (b'{"x": "' + b"a" * 10_000_000 + b'"}', False),
    "wrong_types": (b'{"http": {"port": "eighty"}, "cpu": {"enabled": "yes"}}', True),
    "unknown_algorithm": (b'{"benchmark": {"size": "1M", "algo": "rx/nope"}}', True),
    "negative_threads": (b'{"cpu": {"rx": [-5, -7], "max-threads-hint": -1}}', True),
}


@pytest.mark.parametrize("name", [n for n, (_, typed) in BAD_BODIES.items() if not typed])
def test_bad_put_changes_nothing(rm: RunningMiner, name: str) -> None:
    """Bodies refused before any config is read (the rest: tests/test_api_config_put.py)."""
    before = rm.get("/2/config").body
    reply = rm.request(Request("PUT", "/2/config", {**auth(TOKEN), **JSON}, BAD_BODIES[name][0]))
    assert reply.status in (400, 413)
    assert reply.json()["status"] == reply.status
    assert rm.get("/2/config").body == before


def test_put_without_config_manager_is_not_applied(rm: RunningMiner) -> None:
    if has_config_manager(rm):
        pytest.skip("this miner has a config manager")
    before = rm.get("/2/config").body
    reply = rm.request(Request("PUT", "/2/config", {**auth(TOKEN), **JSON}, before))
    assert reply.status == 501
    assert rm.get("/2/config").body == before


@pytest.mark.usefixtures("restore")
def test_rebind_moves_the_listener(rm: RunningMiner) -> None:
    assert rm.api is not None
    old_port = rm.port
    rm.rebind(dataclasses.replace(FULL, host="127.0.0.1", port=0), Api(id="x"))
    assert rm.port == old_port  # same host and port (0): the listener stays, settings change
    assert rm.get("/2/summary").json()["id"] == "x"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        new_port = s.getsockname()[1]
    rm.rebind(dataclasses.replace(FULL, port=new_port))
    assert rm.port == new_port
    assert rm.get("/2/summary").status == 200
    with pytest.raises(ConnectionRefusedError):
        send(old_port, Request("GET", "/2/summary", auth(TOKEN)))
