"""The stratum client with a real Miner (light mode, one thread) against tools/testpool.py."""

from __future__ import annotations

from pathlib import Path

from tests.config_support import pool_entry
from tests.net_support import light_miner, run, running, self_signed, wait_until
from tools.testpool import TestPool
from xminer.net import create_work_source

DIFF = 10  # light mode does ~25 H/s per thread here: a share every ~0.4 s


def test_shares_state_and_every_fault() -> None:
    async def body() -> None:
        pool = TestPool(difficulty=DIFF)
        await pool.start()
        settings = pool_entry(url=pool.url, user="wallet1", rig_id="rig7", keepalive=1)
        source = create_work_source([settings], retries=3, retry_pause=0.2, response_timeout=15)
        miner = light_miner(source)
        r = miner.state.results
        async with running(miner):
            await wait_until(lambda: r.accepted >= 3, 60, "3 accepted shares")
            login = pool.stats.logins[0]
            assert login["agent"].startswith("xminer/0.1.0 (Linux ")
            assert (login["login"], login["rigid"], login["algo"]) == ("wallet1", "rig7", ["rx/0"])
            conn = miner.state.connection
            assert conn["pool"] == f"127.0.0.1:{pool.port}"
            assert (conn["ip"], conn["diff"], conn["failures"], conn["tls"]) == (
                "127.0.0.1",
                DIFF,
                0,
                None,
            )
            assert r.hashes_total == DIFF * r.accepted
            assert r.best == sorted(r.best, reverse=True) and r.best[0] >= DIFF
            # keepalived goes out only on a line quiet for a second: with a share every ~0.4 s
            # it may never be, so the miner pauses until the pool has seen one
            miner.pause()
            await wait_until(lambda: pool.stats.keepalives >= 1, 30, "a keepalived")
            miner.resume()

            async def reconnected(failures: int) -> None:
                await wait_until(
                    lambda: (
                        miner.state.connection["failures"] == failures
                        and miner.state.connection["uptime_ms"] != 0
                    ),
                    30,
                    f"reconnect #{failures}",
                )
                accepted = r.accepted
                await wait_until(lambda: r.accepted > accepted, 30, "a share after reconnecting")

            # a garbage line: logged, disconnected, reconnected
            await pool.send_garbage()
            await reconnected(1)
            assert any("invalid JSON from the pool" in e for e in r.errors)

            # the pool drops the connection in the middle of a share
            pool.drop_next_submit()
            await reconnected(2)
            assert pool.stats.dropped == 1

            # rejected shares are counted with the reason
            pool.faults.reject = "Low difficulty share"
            await wait_until(lambda: r.rejected >= 1, 30, "a rejected share")
            pool.faults.reject = None
            assert "Low difficulty share" in r.errors
            assert miner.state.connection["rejected"] == r.rejected

            # replies withheld: after response_timeout the pool counts as gone (as in XMRig)
            pool.faults.withhold = True
            await wait_until(
                lambda: any("no reply to share" in e for e in r.errors), 30, "a response timeout"
            )
            pool.faults.withhold = False
            await reconnected(3)
            accepted = r.accepted
            pool.faults.delay = 0.5
            await wait_until(lambda: r.accepted > accepted, 30, "a share with a delayed reply")
            pool.faults.delay = 0

            # a new seed: the miner rebuilds its cache and mines on with it
            seed = bytes(range(32))
            await pool.set_seed(seed)
            accepted = pool.stats.accepted
            await wait_until(
                lambda: miner.rx.seed == seed and pool.stats.accepted > accepted,
                60,
                "a share with the new seed",
            )
            assert miner.state.connection["failures"] == 3
        await pool.stop()
        assert pool.stats.duplicates == 0 and pool.stats.invalid == 0
        assert len(set(pool.stats.submits)) == len(pool.stats.submits)

    run(body(), 240)


def test_same_job_again_is_not_submitted_twice() -> None:
    """After a reconnect the pool resends the same job: shares found again are not resent."""

    async def body() -> None:
        pool = TestPool(difficulty=DIFF, unique_blobs=False)
        await pool.start()
        source = create_work_source([pool_entry(url=pool.url)], retries=3, retry_pause=0.2)
        miner = light_miner(source)
        async with running(miner):
            await wait_until(lambda: pool.stats.accepted >= 2, 60, "2 accepted shares")
            await pool.kick()
            await wait_until(lambda: source.duplicates >= 1, 60, "a share found again")
        await pool.stop()
        assert pool.stats.duplicates == 0
        pairs = [(job, nonce) for _, job, nonce in pool.stats.submits]
        assert len(set(pairs)) == len(pairs)
        assert len(pool.stats.logins) == 2

    run(body())


def test_failover_to_the_next_pool_and_back() -> None:
    async def body() -> None:
        first, second = TestPool(difficulty=DIFF), TestPool(difficulty=DIFF)
        await first.start()
        await second.start()
        pools = [
            pool_entry(url=first.url),
            pool_entry(url="127.0.0.1:1", enabled=False),
            pool_entry(url=second.url),
        ]
        source = create_work_source(pools, retries=2, retry_pause=0.3)
        miner = light_miner(source)
        async with running(miner):
            await wait_until(lambda: first.stats.accepted >= 1, 60, "a share at the first pool")
            await first.down()
            await wait_until(lambda: second.stats.accepted >= 1, 60, "a share at the second")
            assert miner.state.connection["pool"] == f"127.0.0.1:{second.port}"
            accepted = first.stats.accepted
            await first.up()
            await wait_until(lambda: first.stats.accepted > accepted, 60, "back at the first")
        await first.stop()
        await second.stop()
        names = [f"127.0.0.1:{p.port}" for p in (first, second, first)]
        assert source.switches == names
        assert miner.state.connection["failures"] == 1  # only the lost connection counts

    run(body())


def test_login_without_reply_times_out_and_fails_over() -> None:
    async def body() -> None:
        silent, good = TestPool(difficulty=DIFF), TestPool(difficulty=DIFF)
        silent.faults.withhold_login = True
        await silent.start()
        await good.start()
        pools = [pool_entry(url=silent.url), pool_entry(url=good.url)]
        source = create_work_source(pools, retries=2, retry_pause=0.1, connect_timeout=1)
        miner = light_miner(source)
        async with running(miner):
            await wait_until(lambda: good.stats.accepted >= 1, 60, "a share at the good pool")
        await silent.stop()
        await good.stop()
        assert len(silent.stats.logins) >= 2
        assert any("no answer within 1 s" in e for e in miner.state.results.errors)

    run(body())


def test_tls_fingerprint_pinned_and_mismatch_refused(tmp_path: Path) -> None:
    async def body() -> None:
        ctx_a, fp_a = self_signed(tmp_path, "a")
        ctx_b, fp_b = self_signed(tmp_path, "b")
        wrong, right = TestPool(difficulty=DIFF, tls=ctx_a), TestPool(difficulty=DIFF, tls=ctx_b)
        await wrong.start()
        await right.start()
        assert right.url.startswith("stratum+ssl://")
        pools = [
            pool_entry(url=wrong.url, tls_fingerprint=fp_b),  # pinned to another certificate
            pool_entry(url=right.url, tls_fingerprint=fp_b.upper()),
        ]
        source = create_work_source(pools, retries=1, retry_pause=0.2)
        miner = light_miner(source)
        async with running(miner):
            await wait_until(lambda: right.stats.accepted >= 1, 60, "a share over TLS")
            conn = miner.state.connection
            assert str(conn["tls"]).startswith("TLSv1.")
            assert conn["tls-fingerprint"] == fp_b
        await wrong.stop()
        await right.stop()
        assert wrong.stats.logins == []  # refused before logging in
        message = f"TLS fingerprint mismatch: pool certificate is {fp_a}, expected {fp_b}"
        assert any(message in e for e in miner.state.results.errors)

    run(body())


def test_nicehash_and_8_byte_targets() -> None:
    async def body() -> None:
        pool = TestPool(difficulty=DIFF, nicehash=True, target_bytes=8)
        await pool.start()
        source = create_work_source([pool_entry(url=pool.url)], retries=2, retry_pause=0.2)
        miner = light_miner(source)
        async with running(miner):
            await wait_until(lambda: pool.stats.accepted >= 2, 60, "2 accepted shares")
            assert miner.job is not None and miner.job.nicehash
        await pool.stop()
        assert pool.stats.rejected == 0 and len(pool.stats.logins) == 1
        assert {nonce >> 24 for _, _, nonce in pool.stats.submits} == {37}

    run(body())
