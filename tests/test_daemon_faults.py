"""Daemon mode against broken replies a real monerod never sends (so a scripted daemon on
127.0.0.1 sends them): short blobs, non-hex difficulty, NaN, a height of 1e400, deep nesting,
an error code that is not a number.  Each is refused in one line; mining goes on."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from tests.config_support import pool_entry
from tests.net_support import WALLET, light_miner, log_records, messages, run, running, wait_until
from xminer.net import create_work_source

SEED = "11" * 32


def template(height: int, prev: str) -> dict[str, Any]:
    return {
        "blockhashing_blob": "10" + "00" * 75,
        "blocktemplate_blob": "10" + "00" * 99,
        "seed_hash": SEED,
        "height": height,
        "difficulty": 100000,
        "wide_difficulty": "0x186a0",
        "prev_hash": prev * 32,
        "status": "OK",
    }


def reply(result: dict[str, Any]) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": 0, "result": result})


class ScriptedDaemon:
    """Answers every JSON-RPC call with ``body`` (text, so that it can be anything)."""

    def __init__(self) -> None:
        self.body = reply(template(10, "aa"))
        daemon = self

        class Rpc(tornado.web.RequestHandler):
            def post(self) -> None:
                self.set_header("Content-Type", "application/json")
                self.write(daemon.body)

        self.sockets = bind_sockets(0, "127.0.0.1")
        self.port = self.sockets[0].getsockname()[1]
        self.server = HTTPServer(tornado.web.Application([("/json_rpc", Rpc)]))

    def start(self) -> None:
        self.server.add_sockets(self.sockets)

    def stop(self) -> None:
        self.server.stop()


def broken_templates() -> Iterator[tuple[str, str]]:
    """(what the log line says, the reply): each a new tip, so the client takes it up."""
    short = template(11, "b1") | {"blockhashing_blob": "10" * 42}
    yield "blob of 42 bytes", reply(short)
    yield "wide_difficulty 'zz' is not hex", reply(template(11, "b2") | {"wide_difficulty": "zz"})
    nan = reply(template(11, "b3") | {"wide_difficulty": "", "difficulty": 7})
    yield "NaN is not JSON", nan.replace('"difficulty": 7', '"difficulty": NaN')
    huge = reply(template(11, "b4"))
    yield "height inf", huge.replace('"height": 11', '"height": 1e400')
    yield "nested deeper than 64", '{"id": 0, "result": ' + "[" * 1000 + "]" * 1000 + "}"
    yield "no blockhashing_blob", reply({"status": "OK"})


def refused(records: list[logging.LogRecord], said: str) -> int:
    """How many lines say a template was refused for ``said`` while mining went on."""
    return len([m for m in messages(records) if said in m and "ignored" in m])


def test_broken_templates_are_refused_and_mining_goes_on() -> None:
    async def body() -> None:
        daemon = ScriptedDaemon()
        short = template(10, "aa") | {"blockhashing_blob": "10" * 42}
        daemon.body = reply(short)  # the first template already broken: the attempt fails
        daemon.start()
        pool = pool_entry(
            url=f"127.0.0.1:{daemon.port}", user=WALLET, daemon=True, daemon_poll_interval=100
        )
        source = create_work_source([pool], retries=1, retry_pause=0.2)
        miner = light_miner(source)
        r = miner.state.results
        with log_records() as records:
            async with running(miner):
                await wait_until(lambda: any("blob of 42" in e for e in r.errors), 30, "refusal")
                daemon.body = reply(template(10, "aa"))
                await wait_until(lambda: miner.job is not None, 60, "the first good template")
                good, conn = miner.job, source.active
                for said, text in broken_templates():
                    daemon.body = text
                    await wait_until(lambda s=said: refused(records, s) == 1, 30, said)
                    assert miner.job is good and source.active is conn, said
                assert miner.state.connection["failures"] == 0

                # the daemon answers with an error whose code is not a number: the connection
                # counts as lost (one line) and is made again once the daemon is good again
                daemon.body = json.dumps({"id": 0, "error": {"code": "abc", "message": "Busy"}})
                await wait_until(lambda: miner.state.connection["failures"] == 1, 30, "a drop")
                daemon.body = reply(template(12, "cc"))
                await wait_until(
                    lambda: miner.job is not None and miner.job.height == 12, 30, "a new template"
                )
        daemon.stop()
        lines = messages(records)
        assert all(rec.exc_info is None for rec in records), lines
        assert not any("pool client failed" in m for m in lines), lines
        assert any("Busy (code 0)" in m for m in lines), lines
        for said, _ in broken_templates():  # one line each, though polled every 100 ms
            assert refused(records, said) == 1, (said, lines)

    run(body(), 180)
