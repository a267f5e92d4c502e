"""Pools that misbehave (tools/testpool.py with faults on): hung pools, broken replies and
jobs, deep nesting, stopping with shares in flight, TLS closes; the API's connection uptime."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from tests.config_support import pool_entry
from tests.net_support import (
    light_miner,
    log_records,
    messages,
    mining_at,
    run,
    running,
    self_signed,
    wait_until,
)
from tools.testpool import TestPool
from xminer.api import start_api
from xminer.api.host import MinerHost
from xminer.config.model import Http
from xminer.net import StratumConnection, UpstreamError, create_work_source
from xminer.net.client import ClientOptions, PoolClient
from xminer.net.stats import ResultStats
from xminer.state import SharedState

DIFF = 10  # light mode: a share every second or so


def test_a_hung_pool_is_left_for_the_next() -> None:
    """A pool that stops answering (reads nothing, the connection stays open) is dropped after
    the response timeout, as XMRig does, and the next pool takes over."""

    async def body() -> None:
        hung, good = TestPool(difficulty=DIFF), TestPool(difficulty=DIFF)
        await hung.start()
        await good.start()
        pools = [pool_entry(url=hung.url), pool_entry(url=good.url)]
        source = create_work_source(
            pools, retries=1, retry_pause=0.2, connect_timeout=2, response_timeout=15
        )
        miner = light_miner(source)
        r = miner.state.results
        async with running(miner):
            await wait_until(lambda: hung.stats.accepted >= 1, 60, "a share at the first pool")
            hung.freeze()
            await wait_until(lambda: good.stats.accepted >= 1, 90, "a share at the second pool")
            assert miner.state.connection["pool"] == f"127.0.0.1:{good.port}"
        await hung.stop()
        await good.stop()
        assert any("no reply to share" in e for e in r.errors), r.errors
        assert source.switches[:2] == [f"127.0.0.1:{p.port}" for p in (hung, good)]

    run(body(), 240)


def test_broken_replies_and_jobs_are_refused() -> None:
    """``"error": {}`` and a status other than OK reject a share; a job with a height of 1e400
    is refused in one line and the job before it stays; a reply nested 1000 deep drops the
    connection (no RecursionError), which is then made again."""

    async def body() -> None:
        pool = TestPool(difficulty=DIFF)
        with log_records() as records:
            async with mining_at(pool, retries=5, retry_pause=0.2) as miner:
                r = miner.state.results
                for answer in ({"error": {}}, {"error": None, "result": {"status": "INVALID"}}):
                    pool.faults.answer = answer
                    rejected = r.rejected
                    await wait_until(lambda n=rejected: r.rejected > n, 60, f"a rejection {answer}")
                pool.faults.answer = None
                assert "status INVALID" in r.errors

                job = miner.job
                assert job is not None
                params: dict[str, Any] = {
                    "blob": job.blob.hex(),
                    "job_id": "bad",
                    "target": "e8030000",
                    "seed_hash": job.seed_hash.hex(),
                }
                text = json.dumps({"method": "job", "params": {**params, "height": 0}})
                await pool.send_garbage(text.replace('"height": 0', '"height": 1e400'))
                await wait_until(
                    lambda: any("height inf" in m for m in messages(records)), 30, "a bad job"
                )
                accepted = r.accepted
                await wait_until(lambda: r.accepted > accepted, 60, "a share after the bad job")
                assert miner.job is job and miner.state.connection["failures"] == 0

                await pool.send_garbage('{"id": 1, "result": ' + "[" * 1000 + "]" * 1000 + "}")
                await wait_until(lambda: miner.state.connection["failures"] == 1, 30, "a drop")
                accepted = r.accepted
                await wait_until(lambda: r.accepted > accepted, 60, "a share after reconnecting")
        assert r.accepted <= pool.stats.accepted  # the refusals answered above are not among them
        lines = messages(records)
        assert any("nested deeper than 64" in m for m in lines), lines
        assert not any("pool client failed" in m for m in lines), lines
        assert all(rec.exc_info is None for rec in records)
        assert len([m for m in lines if "height inf" in m]) == 1, lines

    run(body(), 240)


def test_stop_waits_for_the_replies_to_shares_in_flight() -> None:
    """Stopped while the pool still owes replies: they are waited for (bounded), so every
    share the pool took is counted here too and none is logged as lost."""

    async def body() -> None:
        pool = TestPool(difficulty=4 * DIFF)  # replies are answered in turn: no backlog
        pool.faults.delay = 0.2
        with log_records() as records:
            async with mining_at(pool, retries=2, retry_pause=0.2) as miner:
                r = miner.state.results
                await wait_until(
                    lambda: pool.stats.accepted > r.accepted,
                    60,
                    "a share the pool took and has not answered yet",
                )
        assert r.accepted == pool.stats.accepted >= 2
        assert not any("lost with the connection" in m for m in messages(records))

    run(body(), 180)


def test_tls_close_does_not_wait_for_a_hung_pool(tmp_path: Path) -> None:
    """Our close_notify is sent and the socket closed at once: a pool that never answers the
    close_notify does not hold the close (it was 2 s on every close)."""

    async def body() -> None:
        ctx, _ = self_signed(tmp_path)
        pool = TestPool(difficulty=DIFF, tls=ctx)
        await pool.start()
        stats = ResultStats(SharedState())
        conn = StratumConnection(pool_entry(url=pool.url), 0, 1, stats, lambda u, j: None, 10)
        await conn.open()
        serving = asyncio.ensure_future(conn.serve())
        await wait_until(lambda: len(pool.sessions) == 1, 30, "a login")
        pool.freeze()
        assert conn._writer is not None
        sock = conn._writer.transport.get_extra_info("socket")
        assert sock.fileno() >= 0
        await conn.close()
        assert sock.fileno() == -1  # closed when close() returns
        await asyncio.wait_for(serving, 10)

        # a keepalived the hung pool never answers: the connection drops itself, and the
        # close after that is a no-op (it raised AttributeError over TLS)
        settings = pool_entry(url=pool.url, keepalive=1)
        conn = StratumConnection(settings, 0, 2, stats, lambda u, j: None, 10, response_timeout=1)
        pool.freeze(False)
        await conn.open()
        pool.freeze()
        with pytest.raises(UpstreamError, match="no reply to keepalived within 1 s"):
            await asyncio.wait_for(conn.serve(), 30)
        await conn.close()
        await pool.stop()

    run(body(), 60)


def test_stop_ends_a_client_that_retries_without_pause() -> None:
    """A retry loop against a closed port that is given no pause at all neither spins nor
    ignores the stop (Python 3.11's wait_for could lose the cancellation)."""

    async def body() -> None:
        pool = pool_entry(url="127.0.0.1:1")
        client = PoolClient([pool], ClientOptions(retries=2, retry_pause=0))
        miner = light_miner(client)
        with log_records() as records:
            async with running(miner):
                await wait_until(
                    lambda: len([m for m in messages(records) if "refused" in m]) >= 4,
                    30,
                    "some refused attempts",
                )
            attempts = len([m for m in messages(records) if "refused" in m])
        # MIN_RETRY_PAUSE between attempts: nowhere near the thousands a spinning loop logs
        assert attempts < 50, attempts

    run(body(), 60)


def test_api_connection_uptime_and_avg_time() -> None:
    """/2/summary and /1/summary count connection.uptime and results.avg_time from the time the
    pool connection came up (they were 0 outside the benchmark)."""

    async def body() -> None:
        pool = TestPool(difficulty=DIFF)
        await pool.start()
        source = create_work_source([pool_entry(url=pool.url)], retries=2, retry_pause=0.2)
        miner = light_miner(source)
        api = start_api(MinerHost(miner), Http(enabled=True, port=0))
        http = AsyncHTTPClient(force_instance=True)
        summaries: dict[int, dict[str, Any]] = {}

        async def fetch(version: int) -> dict[str, Any]:
            reply = await http.fetch(f"http://127.0.0.1:{api.port}/{version}/summary")
            summaries[version] = json.loads(reply.body)
            return summaries[version]

        async with running(miner):
            await wait_until(lambda: miner.state.results.accepted >= 1, 60, "a share")
            for version in (1, 2):
                deadline = asyncio.get_running_loop().time() + 60
                while (await fetch(version))["connection"]["uptime"] < 1:
                    assert asyncio.get_running_loop().time() < deadline, summaries[version]
                    await asyncio.sleep(0.2)
                summary = summaries[version]
                assert summary["connection"]["uptime_ms"] >= 1000
                assert summary["connection"]["pool"] == f"127.0.0.1:{pool.port}"
                assert summary["results"]["avg_time_ms"] > 0
                assert summary["connection"]["avg_time_ms"] > 0
        http.close()
        await api.stop()
        await pool.stop()

    run(body(), 180)
