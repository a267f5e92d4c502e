"""Solo mining against a real regtest monerod: blocks it accepts, a wrong nonce it refuses."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.config_support import pool_entry
from tests.monerod import Monerod, monerod
from tests.net_support import WALLET, light_miner, run, running, wait_until
from xminer.config.model import Pool
from xminer.job import Job
from xminer.net import DaemonConnection, block_found, create_work_source
from xminer.randomx.scan import NONCE_OFFSET

pytestmark = [
    pytest.mark.monerod,
    pytest.mark.skipif(shutil.which("monerod") is None, reason="monerod not installed (monero)"),
]
DIFFICULTY = 20  # a wrong nonce then fails (at 1 every hash is a block)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monerod]:
    with monerod(Path(tmp_path_factory.mktemp("monerod")), DIFFICULTY) as n:
        yield n


def daemon_pool(node: Monerod, **kw: object) -> Pool:
    return pool_entry(url=node.url, user=WALLET, daemon=True, daemon_poll_interval=500, **kw)  # type: ignore[arg-type]


def settled_info(node: Monerod) -> dict[str, Any]:
    """The node's info once no block has come for a second: a block the miner sent as it
    stopped may still land (a stop waits for replies to shares in flight for 1 s only)."""
    info = node.info()
    for _ in range(30):
        time.sleep(1.0)
        again = node.info()
        if again["height"] == info["height"]:
            return again
        info = again
    raise AssertionError(f"blocks still arriving 30 s after the miner stopped: {info}")


def test_mines_blocks_monerod_accepts(node: Monerod) -> None:
    start = node.info()
    assert start["nettype"] == "fakechain" and start["difficulty"] == DIFFICULTY

    async def body() -> None:
        source = create_work_source([daemon_pool(node)], retries=2, retry_pause=0.5)
        miner = light_miner(source)
        r = miner.state.results
        async with running(miner):
            await wait_until(lambda: r.accepted >= 2, 120, "2 blocks")
            conn = source.active
            assert isinstance(conn, DaemonConnection)
            # a new template right after a block: the miner works on the next height
            await wait_until(
                lambda: miner.job is not None and miner.job.height == node.info()["height"],
                30,
                "a job for the next height",
            )
        info = settled_info(node)
        assert info["height"] >= start["height"] + 2
        assert r.rejected == 0 and len(conn.blocks) == r.accepted
        assert r.hashes_total == DIFFICULTY * r.accepted
        assert miner.state.connection["pool"] == node.url
        for job, nonce, digest in conn.blocks:
            header = node.rpc("get_block_header_by_height", {"height": job.height})
            assert header["block_header"]["nonce"] == nonce  # our block is on the main chain
            # monerod's own PoW of the block we built is the hash we mined, and meets the rule
            pow_hex = node.rpc(
                "calc_pow",
                {
                    "major_version": job.blob[0],
                    "height": job.height,
                    "block_blob": job.blob_with_nonce(nonce).hex(),
                    "seed_hash": job.seed_hash.hex(),
                },
            )
            assert bytes.fromhex(pow_hex) == digest
            assert block_found(digest, DIFFICULTY)
        top = node.rpc("get_last_block_header")["block_header"]
        assert top["hash"] == info["top_block_hash"] and top["height"] == info["height"] - 1

    run(body(), 180)


def test_wrong_nonce_is_refused_and_counted(node: Monerod) -> None:
    async def body() -> None:
        source = create_work_source([daemon_pool(node)], retries=1, retry_pause=0.5)
        miner = light_miner(source)
        async with running(miner):
            await wait_until(lambda: source.active is not None, 30, "a template")
            miner.stop_mining()  # nothing else may change the chain now
            conn = source.active
            assert isinstance(conn, DaemonConnection) and conn.job is not None
            job = conn.job
            before = node.info()
            nonce = bad_nonce(node, job)
            accepted = await conn.submit_block(job, nonce)
            after = node.info()
            r = miner.state.results
            assert not accepted
            assert r.rejected == 1 and r.accepted == 0
            assert any("Block not accepted" in e for e in r.errors), r.errors
            assert (after["height"], after["top_block_hash"]) == (
                before["height"],
                before["top_block_hash"],
            )

    run(body(), 120)


def bad_nonce(node: Monerod, job: Job) -> int:
    """A nonce whose PoW (as monerod computes it) misses the block difficulty."""
    for nonce in range(1000, 1100):
        blob = bytearray(job.blob)
        blob[NONCE_OFFSET : NONCE_OFFSET + 4] = nonce.to_bytes(4, "little")
        digest = node.rpc(
            "calc_pow",
            {
                "major_version": blob[0],
                "height": job.height,
                "block_blob": blob.hex(),
                "seed_hash": job.seed_hash.hex(),
            },
        )
        if not block_found(bytes.fromhex(digest), job.block_difficulty):
            return nonce
    raise AssertionError("no failing nonce among 100")
