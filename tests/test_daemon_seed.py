"""Solo mining across a RandomX seed switch on a real regtest monerod (issue 16 item 3).

The chain is fast-forwarded with ``generateblocks`` to just before the first switch (block
2113 is the first hashed with the hash of block 2048 as its key; templates announce it as
``next_seed_hash`` from height 2049); xminer then mines across it.  Difficulty 1: monerod
fast-forwards at about 15 blocks a second with it (at 20, two a second)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.config_support import pool_entry
from tests.monerod import Monerod, monerod
from tests.net_support import WALLET, light_miner, log_records, messages, run, running, wait_until
from tests.test_seed_switch import CounterWatch
from xminer.net import DaemonConnection, create_work_source

pytestmark = [
    pytest.mark.monerod,
    pytest.mark.skipif(shutil.which("monerod") is None, reason="monerod not installed (monero)"),
]
SWITCH_HEIGHT = 2113  # the first block keyed by block 2048's hash
START_HEIGHT = 2080  # templates from 2049 announce the next seed


def fast_forward(node: Monerod, height: int) -> None:
    """generateblocks in steps (one call of 2000 outlasts an RPC timeout)."""
    while (left := height - node.info()["height"]) > 0:
        node.rpc(
            "generateblocks",
            {"amount_of_blocks": min(left, 200), "wallet_address": WALLET},
            timeout=600,
        )


def test_mining_across_a_seed_switch_builds_ahead(tmp_path: Path) -> None:
    """The next seed's cache is built while the blocks before the switch are mined; monerod
    accepts the blocks after it (it checks their PoW with the new key); the hash counter
    does not stand still for a second across the switch."""
    with monerod(tmp_path, 1) as node:
        fast_forward(node, START_HEIGHT)
        tpl = node.rpc("get_block_template", {"wallet_address": WALLET, "reserve_size": 8})
        assert tpl["height"] == START_HEIGHT and tpl["next_seed_hash"]
        next_seed = bytes.fromhex(tpl["next_seed_hash"])
        assert (
            node.rpc("get_block_header_by_height", {"height": 2048})["block_header"]["hash"]
            == next_seed.hex()
        )

        async def body() -> None:
            pool = pool_entry(url=node.url, user=WALLET, daemon=True, daemon_poll_interval=500)
            source = create_work_source([pool], retries=2, retry_pause=0.5)
            miner = light_miner(source)
            watch = CounterWatch(miner)
            with log_records() as records:
                async with running(miner):
                    await wait_until(lambda: miner.job is not None, 60, "the first template")
                    watch.start()
                    await wait_until(
                        lambda: node.info()["height"] > SWITCH_HEIGHT + 2,
                        300,
                        "blocks past the switch",
                    )
                    watch.stop()
                    assert miner.rx.seed == next_seed
                    conn = source.active
                    assert isinstance(conn, DaemonConnection)
                    blocks = list(conn.blocks)
            switch = miner.state.dataset.last_switch
            assert switch is not None and switch.path == "ahead", switch
            assert switch.height == SWITCH_HEIGHT
            after = [(job, nonce) for job, nonce, _ in blocks if job.height >= SWITCH_HEIGHT]
            assert len(after) >= 2
            for job, nonce in after:
                assert job.seed_hash == next_seed
                header = node.rpc("get_block_header_by_height", {"height": job.height})
                assert header["block_header"]["nonce"] == nonce  # ours, on the main chain
            text = "\n".join(messages(records))
            assert f"next seed {next_seed.hex()[:16]}... announced: building" in text
            assert "built ahead, switched at once" in text
            assert watch.longest_stall() < 1.0, watch.longest_stall()

        run(body(), 600)
