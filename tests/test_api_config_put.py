"""PUT /2/config against a miner wired as the CLI wires it: a ConfigManager over a real config
file, the same checks, and every change applied live (threads, pools, http)."""

from __future__ import annotations

import copy
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api_support import CAPTURES, JSON, TOKEN, Request, RunningMiner, auth, send
from tests.monerod import free_port
from tests.test_api import BAD_BODIES, FULL
from tools.testpool import TestPool
from xminer.api.config import shown_json
from xminer.app import check_runnable
from xminer.backends.cpu.threads import cpu_threads as planned_threads
from xminer.cli import build
from xminer.config import load
from xminer.config.manager import ConfigManager
from xminer.config.model import Api


@pytest.fixture
def rm(tmp_path: Path) -> Iterator[tuple[RunningMiner, Path]]:
    path = tmp_path / "config.json"
    # XMRig's config, with the api/http sections the API starts with (as the CLI does)
    doc = json.loads((CAPTURES / "2_config.json").read_text())
    doc["api"], doc["http"] = Api().to_json(), FULL.to_json()
    path.write_text(json.dumps(doc, indent=4))
    manager = ConfigManager(load(path), path, check=check_runnable, show=shown_json)
    with RunningMiner(FULL, manager=manager) as running:
        assert running.miner is not None and running.api is not None
        yield running, path


def put(running: RunningMiner, doc: dict[str, Any], port: int | None = None) -> int:
    body = json.dumps(doc).encode()
    reply = send(port or running.port, Request("PUT", "/2/config", {**auth(TOKEN), **JSON}, body))
    if reply.status == 204:
        assert reply.body == b""
    return reply.status


def cpu_threads(running: RunningMiner) -> int:
    cpu = next(b for b in running.get("/2/backends").json() if b["type"] == "cpu")
    return len(cpu.get("threads") or [])


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_put_leaves_config_and_file(rm: tuple[RunningMiner, Path], name: str) -> None:
    running, path = rm
    before, file_before = running.get("/2/config").body, path.read_bytes()
    reply = running.request(
        Request("PUT", "/2/config", {**auth(TOKEN), **JSON}, BAD_BODIES[name][0])
    )
    assert reply.status in (400, 413)
    assert reply.json()["status"] == reply.status
    assert running.get("/2/config").body == before
    assert path.read_bytes() == file_before
    assert not path.with_name(path.name + ".bak").exists()


def test_pool_that_makes_no_client_is_refused(rm: tuple[RunningMiner, Path]) -> None:
    running, path = rm
    doc = running.get("/2/config").json()
    doc["benchmark"] = None
    doc["pools"] = [{"url": "127.0.0.1:3333", "user": "w", "algo": "cn/r"}]
    before = path.read_bytes()
    reply = running.request(
        Request("PUT", "/2/config", {**auth(TOKEN), **JSON}, json.dumps(doc).encode())
    )
    assert reply.status == 400
    assert "pools[0].algo" in reply.json()["error"]
    assert path.read_bytes() == before


def test_good_put_is_applied_live_and_saved(rm: tuple[RunningMiner, Path]) -> None:
    running, path = rm
    assert running.miner is not None
    original = path.read_bytes()
    running.wait_hashing()
    assert cpu_threads(running) == 1
    doc = running.get("/2/config").json()
    doc["print-time"] = 20
    doc["cpu"]["rx"] = [-1, -1]
    port = running.port
    assert put(running, doc) == 204
    assert running.get("/2/config").json() == doc
    assert running.port == port  # http did not change: the listener stays
    saved = json.loads(path.read_text())
    assert saved["print-time"] == 20 and saved["cpu"]["rx"] == [-1, -1]
    assert path.with_name(path.name + ".bak").read_bytes() == original
    assert running.miner.config.print_time == 20
    running.wait_for(lambda: cpu_threads(running) == 2)  # the backend was built again
    running.wait_hashing()

    doc["cpu"]["enabled"] = False  # which backends run
    assert put(running, doc) == 204
    running.wait_for(lambda: cpu_threads(running) == 0)


def test_put_pools_moves_the_miner_to_them(rm: tuple[RunningMiner, Path]) -> None:
    running, _ = rm
    assert running.miner is not None
    pool = TestPool(difficulty=10)
    running.call(pool.start)
    try:
        doc = running.get("/2/config").json()
        doc["benchmark"] = None
        doc["pools"] = [{"url": pool.url, "user": "wallet1", "pass": "x"}]
        assert put(running, doc) == 204
        state = running.miner.state
        running.wait_for(lambda: state.connection.get("pool") == f"127.0.0.1:{pool.port}")
        running.wait_for(lambda: state.results.accepted >= 1, 240)
        assert pool.stats.logins[0]["login"] == "wallet1"
        summary = running.get("/2/summary").json()
        assert summary["connection"]["pool"] == f"127.0.0.1:{pool.port}"
        assert summary["results"]["shares_good"] >= 1
    finally:
        running.call(pool.stop)


def test_put_http_port_moves_the_listener(rm: tuple[RunningMiner, Path]) -> None:
    running, _ = rm
    old_port, new_port = running.port, free_port()
    doc = copy.deepcopy(running.get("/2/config").json())
    doc["http"]["port"] = new_port
    assert put(running, doc, old_port) == 204  # the reply arrives before the listener moves
    running.wait_for(lambda: running.port == new_port)
    reply = send(new_port, Request("GET", "/2/config", auth(TOKEN)))
    assert reply.status == 200 and reply.json()["http"]["port"] == new_port
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", old_port)) != 0  # nothing listens there any more


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [("port", None, "http.port"), ("host", "192.0.2.1", "http.host")],
    ids=["taken_port", "foreign_host"],
)
def test_put_http_address_it_cannot_listen_on_is_refused(
    rm: tuple[RunningMiner, Path], taken_port: int, key: str, value: object, named: str
) -> None:
    """Checked before the answer: 400 naming the key, the listener, config and file stay."""
    running, path = rm
    port, before, file_before = running.port, running.get("/2/config").body, path.read_bytes()
    doc = json.loads(before)
    doc["http"][key] = taken_port if value is None else value
    reply = running.request(
        Request("PUT", "/2/config", {**auth(TOKEN), **JSON}, json.dumps(doc).encode())
    )
    assert reply.status == 400
    assert reply.json()["error"].startswith(f"config: {named}: ")
    assert "cannot listen on" in reply.json()["error"]
    assert running.port == port and running.get("/2/config").body == before
    assert path.read_bytes() == file_before


def test_watched_edit_to_a_taken_port_keeps_the_listener(
    rm: tuple[RunningMiner, Path], taken_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    running, path = rm
    assert running.app is not None
    manager = running.app.manager
    port, before = running.port, running.get("/2/config").body
    doc = json.loads(path.read_text())
    doc["http"]["port"] = taken_port
    path.write_text(json.dumps(doc))

    async def reload() -> bool:
        return bool(manager.reload())

    with caplog.at_level(logging.INFO, logger="xminer"):
        assert running.call(reload) is False
    lines = [r.getMessage() for r in caplog.records if "http.port" in r.getMessage()]
    assert len(lines) == 1 and "the running configuration stays" in lines[0]
    assert running.port == port and running.get("/2/config").body == before


def test_command_line_threads_survive_a_dashboard_save(tmp_path: Path) -> None:
    """-t 1 shows in GET /1/config as the profile it overrides, so the document a dashboard
    sends back keeps one thread (it restarted with the automatic count)."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"autosave": False}))
    http = ["--http-host=127.0.0.1", "--http-port=0", f"--http-access-token={TOKEN}"]
    startup = build(["-c", str(path), "--bench=1M", "-t", "1", *http, "--http-no-restricted"])
    assert startup is not None
    manager = ConfigManager(startup.config, path, check=check_runnable, show=shown_json)
    with RunningMiner(FULL, manager=manager) as running:
        doc = running.get("/1/config").json()
        assert len(doc["cpu"]["rx"]) == 1
        reply = send(running.port, Request("PUT", "/1/config", {**auth(TOKEN), **JSON},
                                           json.dumps(doc).encode()))  # fmt: skip
        assert reply.status == 204
        assert len(planned_threads(manager.config)[0]) == 1
        assert running.get("/1/config").json()["cpu"]["rx"] == doc["cpu"]["rx"]
        running.wait_for(lambda: cpu_threads(running) == 1)


@pytest.mark.parametrize("log_file", ["/nonexistent/x.log", ".", "a\x00b"])
def test_put_log_file_that_cannot_be_opened_is_kept_with_a_warning(
    rm: tuple[RunningMiner, Path], log_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """As XMRig: accepted and saved; one line says the file cannot be opened; mining goes on."""
    running, path = rm
    doc = running.get("/2/config").json()
    doc["log-file"] = log_file
    assert put(running, doc) == 204
    assert json.loads(path.read_text())["log-file"] == log_file
    out = capsys.readouterr().out
    assert out.count("cannot open") == 1 and "Traceback" not in out
    assert running.get("/2/config").json()["log-file"] == log_file
    running.wait_hashing()
