"""The config model: XMRig's captured configs round-trip, key order, profiles, pools."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from xminer.app import make_work_source
from xminer.backends.cpu.threads import config_algo, cpu_threads
from xminer.config import Config, ConfigError, load, parse
from xminer.config.profiles import CpuProfile, find_profile, parse_profile
from xminer.cpuinfo import CpuInfo

CAPTURES = Path(__file__).resolve().parent / "fixtures" / "xmrig-api"
CAPTURED = [
    "1_config.json",
    "2_config.json",
    "2_config_after_put.json",
    "poolmode/p_2_config.json",
    "poolmode/p_ocl_platform0_2_config.json",
]
INFO = CpuInfo("test cpu", 6, 1, 1, l3=8 * 2**20, cores=4, threads=4)


@pytest.mark.parametrize("name", CAPTURED)
def test_captured_config_round_trips(name: str) -> None:
    raw = json.loads((CAPTURES / name).read_text())
    config = load(CAPTURES / name)
    out = config.to_json()
    assert out == raw
    assert json.dumps(out) == json.dumps(raw)  # same key order everywhere
    assert Config.from_json(out).to_json() == raw


def test_captured_values_are_typed() -> None:
    config = load(CAPTURES / "poolmode" / "p_ocl_platform0_2_config.json")
    assert config.http.port == 44444 and config.http.restricted is False
    assert config.randomx.mode == "light" and config.opencl.platform == 0
    endpoint = config.pools[0].endpoint
    assert config.pools[0].url == "127.0.0.1:3333" and (endpoint.host, endpoint.port) == (
        "127.0.0.1",
        3333,
    )
    assert config.benchmark is None and config.donate_level == 1


def test_default_config_has_xmrig_key_order() -> None:
    keys = list(Config().to_json())
    assert keys[:11] == [
        "api", "http", "autosave", "background", "colors", "title",
        "randomx", "cpu", "opencl", "cuda", "log-file",
    ]  # fmt: skip
    assert keys[11:16] == ["donate-level", "donate-over-proxy", "pools", "retries", "retry-pause"]
    assert keys[-3:] == ["watch", "pause-on-battery", "pause-on-active"]
    assert Config().to_json()["cpu"]["max-threads-hint"] == 100


def test_benchmark_section_replaces_pool_keys_in_get_but_file_keeps_both() -> None:
    body = {"pools": [{"url": "a.example:3333", "user": "w"}], "benchmark": {"size": "1M"}}
    config = parse(body)
    assert "pools" not in config.to_json() and "benchmark" in config.to_json()
    saved = config.to_file_json()
    assert saved["pools"][0]["url"] == "a.example:3333" and saved["benchmark"]["size"] == "1M"


def test_unknown_keys_are_kept_in_place_and_warned_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.json"
    body = {"http": {"port": 1, "shiny": 2}, "zzz-new": [1, {"a": None}], "_comment": "hi"}
    path.write_text(json.dumps(body))
    caplog.set_level(logging.WARNING, logger="xminer.config")
    monkeypatch.setattr(logging.getLogger("xminer"), "propagate", True)
    for _ in range(2):
        config = load(path)
    out = config.to_json()
    assert out["http"]["shiny"] == 2 and out["zzz-new"] == [1, {"a": None}]
    assert out["_comment"] == "hi"
    warnings = [r.getMessage() for r in caplog.records]
    assert sum('"http.shiny"' in w for w in warnings) == 1
    assert sum('"zzz-new"' in w for w in warnings) == 1
    assert not any("_comment" in w for w in warnings)


PROFILES = {
    "rx": [0, 1],
    "rx/wow": [[2, 0], [1, 3]],
    "rx/arq": "rx/wow",
    "cn/0": False,
    "cn": {"intensity": 2, "threads": 3, "affinity": 5},
    "*": [-1],
}


@pytest.mark.parametrize(
    ("algo", "expected"),
    [
        ("rx/0", [(0, 1), (1, 1)]),  # family
        ("rx/wow", [(0, 2), (3, 1)]),  # exact, [intensity, affinity] pairs
        ("rx/arq", [(0, 2), (3, 1)]),  # alias
        ("cn/0", []),  # false: disabled
        ("cn/r", [(0, 2), (2, 2), (0, 2)]),  # object: mask 0b101 over 3 threads
        ("kawpow", [(-1, 1)]),  # "*"
    ],
)
def test_profile_lookup(algo: str, expected: list[tuple[int, int]]) -> None:
    profiles = {k: parse_profile(v, k) for k, v in PROFILES.items()}
    found = find_profile(profiles, algo)
    assert found is not None
    assert [(t.affinity, t.intensity) for t in found.resolve(4, 2)] == expected


def test_no_profile_is_none_and_threads_are_generated() -> None:
    assert find_profile({"cn": parse_profile([0], "cn")}, "rx/0") is None
    config = parse({"cpu": {"cn": [0]}})
    threads, generated = cpu_threads(config, INFO)
    assert [t.affinity for t in threads] == [0, 1, 2, 3] and generated


def test_cli_override_beats_profiles() -> None:
    config = parse({"cpu": {"rx": [0, 1]}})
    config.cpu.override = CpuProfile({"threads": 1}, count=1)
    assert len(cpu_threads(config, INFO)[0]) == 1


@pytest.mark.parametrize(
    ("body", "path", "expected"),
    [
        ({"pools": [{"url": "ok:1", "user": "w"}, {"url": "stratum+tcp//x", "user": "w"}]},
         "pools[1].url", 'missing "://"'),
        ({"pools": [{"url": "host", "user": "w"}]}, "pools[0].url", "host:port"),
        ({"pools": [{"url": "host:99999", "user": "w"}]}, "pools[0].url", "1..65535"),
        ({"pools": [{"url": "http://h:1", "user": "w"}]}, "pools[0].url", "scheme"),
        ({"pools": [{"url": "h:1", "user": ""}]}, "pools[0].user", "non-empty"),
        ({"pools": [{"url": "h:1"}]}, "pools[0].user", "wallet"),
        ({"pools": {"url": "h:1"}}, "pools", "list"),
        ({"cpu": {"priority": 9}}, "cpu.priority", "0..5"),
        ({"cpu": {"rx": [[1, 2, 3]]}}, "cpu.rx[0]", "intensity"),
        ({"cpu": {"rx": 7}}, "cpu.rx", "thread profile"),
        ({"randomx": {"mode": "turbo"}}, "randomx.mode", '"light"'),
        ({"http": {"port": "80"}}, "http.port", "integer"),
        ({"benchmark": {"size": "3Q"}}, "benchmark.size", "size"),
        ({"dns": {"ip_version": 5}}, "dns.ip_version", "0, 4 or 6"),
        ({"print-time": True}, "print-time", "integer"),
        ({"cuda": {"rx": [{"index": 0, "threads": 2048}]}}, "cuda.rx[0].threads", "1..1024"),
        ({"cuda": {"rx": [{"index": 0, "bfactor": 13}]}}, "cuda.rx[0].bfactor", "0..12"),
        ({"cuda": {"rx": [{"index": 0, "dataset_host": 1}]}}, "cuda.rx[0].dataset_host", "true"),
        ({"cuda": {"rx": [7]}}, "cuda.rx[0]", "thread object"),
        ({"cuda": {"bfactor-hint": 20}}, "cuda.bfactor-hint", "0..12"),
        ({"opencl": {"rx": [{"index": -1}]}}, "opencl.rx[0].index", ">= 0"),
        ({"opencl": {"rx": [{"index": 0, "bfactor": "6"}]}}, "opencl.rx[0].bfactor", "0..12"),
    ],
)  # fmt: skip
def test_errors_name_path_value_and_expectation(body: dict, path: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(body, "config.json")
    message = str(info.value)
    assert message.startswith(f"config.json: {path}: "), message
    assert expected in message and "\n" not in message


def test_empty_body_is_refused_but_empty_file_is_fine() -> None:
    with pytest.raises(ConfigError):
        parse({})
    assert parse({}, allow_empty=True).print_time == 60


def test_work_source() -> None:
    config = parse({"benchmark": {"size": "250K"}, "randomx": {"mode": "light"}, "colors": False})
    assert config.benchmark is not None and config.benchmark.size_hashes == 250_000
    assert type(make_work_source(config)).__name__ == "BenchmarkSource"
    pools = parse({"pools": [{"url": "h:1", "user": "w", "algo": "rx/wow"}]})
    assert config_algo(pools) == "rx/wow"
    with pytest.raises(ValueError, match=r"pools\[0\]\.algo"):
        make_work_source(pools)  # the stratum client mines rx/0 only
    pool = parse({"pools": [{"url": "127.0.0.1:3333", "user": "w"}]})
    assert type(make_work_source(pool)).__name__ == "PoolClient"
    disabled = parse({"pools": [{"url": "127.0.0.1:3333", "user": "w", "enabled": False}]})
    assert make_work_source(disabled) is None


def test_example_config_loads_and_is_xmrig_shaped() -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "config.json"
    raw = json.loads(path.read_text())
    config = load(path)
    assert config.to_json() == raw
    assert config.pools[0].user and config.cpu.profile("rx/arq") is not None
