"""Pool URLs, settings validation, job parsing and the block rule (no network)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.config_support import pool_entry
from tests.net_support import WALLET
from xminer.config.url import parse_url
from xminer.job import MAX_TARGET
from xminer.net import UpstreamError, create_work_source
from xminer.net.daemon import block_found, share_target
from xminer.net.stratum import parse_job

JOB = {
    "blob": "10" * 76,
    "job_id": "7",
    "target": "37894100",
    "algo": "rx/0",
    "height": 1001,
    "seed_hash": "31" * 32,
}


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "daemon"),
    [
        ("pool.example.com:3333", "pool.example.com", 3333, False, False),
        ("stratum+tcp://127.0.0.1:3333", "127.0.0.1", 3333, False, False),
        ("stratum+ssl://pool.example.com:443/", "pool.example.com", 443, True, False),
        ("daemon+http://127.0.0.1:18081", "127.0.0.1", 18081, False, True),
        ("[::1]:3333", "::1", 3333, False, False),
    ],
)
def test_parse_url(url: str, host: str, port: int, tls: bool, daemon: bool) -> None:
    parsed = parse_url(url)
    assert (parsed.host, parsed.port, parsed.tls, parsed.daemon) == (host, port, tls, daemon)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("pool.example.com", "missing port"),
        ("stratum+tcp://pool.example.com:", "missing port"),
        ("pool:abc", "port 'abc' is not a number"),
        ("pool:70000", "port 70000 is out of range 1..65535"),
        ("pool:0", "port 0 is out of range"),
        ("http2://pool:3333", 'unknown scheme "http2://"'),
        ("stratum+tls://pool:3333", 'unknown scheme "stratum+tls://"'),  # as XMRig
        ("stratum+tcp//pool:3333", 'missing "://"'),
        (":3333", "missing host"),
        ("pool:3333/path", "no path"),
        ("po ol:3333", "whitespace"),
        ("", "empty"),
    ],
)
def test_bad_url_is_one_line(url: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        pool_entry(url=url).check("pools[0]")
    text = str(err.value)
    assert text.startswith(f'pools[0].url: "{url}": ')
    assert message in text
    assert "\n" not in text


def test_create_work_source_names_the_pool() -> None:
    pools = [pool_entry(url="a:1"), pool_entry(url="b")]
    with pytest.raises(ValueError, match=r'^pools\[1\]\.url: "b": missing port: expected'):
        create_work_source(pools)


def test_daemon_needs_a_wallet() -> None:
    with pytest.raises(ValueError, match=r"pools\[0\]\.user: .*not a Monero address"):
        create_work_source([pool_entry(url="127.0.0.1:18081", user="x", daemon=True)])
    bad = WALLET[:-1] + "0"  # 0 is not base58
    with pytest.raises(ValueError, match="base58"):
        create_work_source([pool_entry(url="127.0.0.1:18081", user=bad, daemon=True)])
    source = create_work_source([pool_entry(url="127.0.0.1:18081", user=WALLET, daemon=True)])
    assert source.pools[0].use_daemon


def test_disabled_pools_skipped_and_all_disabled_refused() -> None:
    source = create_work_source(
        [pool_entry(url="a:1", enabled=False), pool_entry(url="b:2")], retries=2
    )
    assert [p.url for p in source.pools] == ["b:2"]
    with pytest.raises(ValueError, match="no enabled pool"):
        create_work_source([pool_entry(url="a:1", enabled=False)])


def test_fingerprint_normalised_and_checked() -> None:
    fp = "AB:" * 31 + "CD"
    pool = pool_entry(url="a:1", tls_fingerprint=fp)
    pool.check()
    assert pool.fingerprint == "ab" * 31 + "cd"
    assert pool.use_tls
    with pytest.raises(ValueError, match="tls-fingerprint"):
        pool_entry(url="a:1", tls_fingerprint="1234").check()


def test_keepalive_values() -> None:
    assert pool_entry(url="a:1", keepalive=True).keepalive_seconds == 60
    assert pool_entry(url="a:1", keepalive=False).keepalive_seconds == 0
    assert pool_entry(url="a:1", keepalive=5).keepalive_seconds == 5
    source = create_work_source([pool_entry(url="a:1")], keepalive=True)
    assert source.pools[0].keepalive_seconds == 60


def test_job_with_4_and_8_byte_targets() -> None:
    four = parse_job(JOB, False, "p", 1)
    assert four.target == MAX_TARGET // (0xFFFFFFFF // 0x00418937)
    assert (four.height, four.algo, four.seed_hash) == (1001, "rx/0", b"1" * 32)
    assert four.extra["conn"] == 1
    eight = parse_job(
        {**JOB, "target": (MAX_TARGET // 1000).to_bytes(8, "little").hex()}, True, "p", 2
    )
    assert eight.difficulty == 1000
    assert eight.nicehash


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": "00000000"}, "target is zero"),
        ({"target": "123456"}, "4 or 8 bytes"),
        ({"blob": "zz"}, "invalid job"),
        ({"blob": "10" * 20}, "blob of 20 bytes"),
        ({"algo": "cn/r"}, "unsupported algo cn/r"),
        ({"seed_hash": "00"}, "seed_hash"),
        ({"job_id": ""}, "empty job_id"),
    ],
)
def test_broken_jobs_refused(change: dict[str, str], message: str) -> None:
    with pytest.raises(UpstreamError, match=message):
        parse_job({**JOB, **change}, False, "p", 1)
    with pytest.raises(UpstreamError):
        parse_job(["not", "an", "object"], False, "p", 1)


@given(st.binary(min_size=32, max_size=32), st.integers(1, 1 << 100))
def test_every_block_meets_the_share_target(digest: bytes, difficulty: int) -> None:
    """The backends' 64-bit filter never drops a hash that meets the 128-bit block rule."""
    tail = int.from_bytes(digest[24:32], "little")
    if block_found(digest, difficulty):
        assert tail < share_target(difficulty) or share_target(difficulty) == MAX_TARGET


def test_block_rule() -> None:
    assert block_found(b"\xff" * 32, 1)
    assert not block_found(b"\xff" * 32, 2)
    assert block_found((1 << 254).to_bytes(32, "little"), 3)
    assert not block_found((1 << 255).to_bytes(32, "little"), 2)


@pytest.mark.parametrize("name", ["pool.json", "failover-tls.json", "solo.json"])
def test_examples_load(name: str) -> None:
    import json
    from pathlib import Path

    from xminer.config.model import Config

    body = json.loads((Path(__file__).parents[1] / "examples" / name).read_text())
    config = Config.from_json(body)
    source = create_work_source(config.pools, config.retries, config.retry_pause)
    assert source.pools
    if name == "solo.json":
        assert source.pools[0].use_daemon and source.pools[0].daemon_poll_interval == 1000
    if name == "failover-tls.json":
        assert len(source.pools) == 2 and all(p.use_tls for p in source.pools)


def test_one_parser_for_the_config_and_the_clients() -> None:
    """The model refuses what the clients would (XMRig's schemes only), naming the key, and
    ``sni`` is off unless the entry asks for it (XMRig's default)."""
    from xminer.config.errors import ConfigError
    from xminer.config.model import Config

    with pytest.raises(ConfigError, match=r'pools\[0\]\.url: "stratum\+tls://a:1": unknown'):
        Config.from_json({"pools": [{"url": "stratum+tls://a:1", "user": "x"}]})
    [entry] = Config.from_json({"pools": [{"url": "STRATUM+SSL://a:1", "user": "x"}]}).pools
    assert entry.use_tls and not entry.sni and entry.address == "a:1"
    assert pool_entry(url="a:1").sni is False


@given(st.text(max_size=60))
def test_any_url_parses_or_gives_a_value_error(text: str) -> None:
    try:
        parsed = parse_url(text)
    except ValueError as exc:
        assert "\n" not in str(exc)
    else:
        assert 1 <= parsed.port <= 65535 and parsed.host
