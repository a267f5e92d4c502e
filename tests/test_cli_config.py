"""The command line over the config file: one-line errors, exit codes, overrides, search path."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import run, spawn
from tests.test_bench_cli import wait_for

GOOD = {"pools": [{"url": "pool.example:3333", "user": "wallet"}], "print-time": 30}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No config.json of the developer's: cwd and HOME are empty temporary folders."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    yield work


def write(path: Path, text: str) -> tuple[bytes, int]:
    path.write_text(text)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    return path.read_bytes(), path.stat().st_mtime_ns


BAD_FILES = [
    ('{"pools": [', "config.json: invalid JSON: Expecting value: line 1 column 12"),
    ("[1, 2]", "config.json: [1, 2]: expected a JSON object"),
    (
        '{"pools": [{"url": "a:1", "user": "w"}, {"url": "stratum+tcp//x", "user": "w"}]}',
        'config.json: pools[1].url: "stratum+tcp//x": missing "://"',
    ),
    ('{"cpu": {"priority": 9}}', "config.json: cpu.priority: 9: expected an integer 0..5"),
    ('{"http": {"port": -1}}', "config.json: http.port: -1: expected an integer 0..65535"),
    ('{"cpu": {"rx": "nope", "enabled": 1}}', "config.json: cpu.enabled: 1: expected true"),
    ('{"autosave": true, "cpu": {"rx": 5}}', "config.json: cpu.rx: 5: expected a thread profile"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
@pytest.mark.parametrize("extra", [[], ["--dry-run"], ["--bench=1M"]])
def test_bad_file_is_one_line_exit_1_and_untouched(
    isolated: Path, capsys: pytest.CaptureFixture[str], text: str, message: str, extra: list[str]
) -> None:
    path = isolated / "config.json"
    before = write(path, text)
    assert run(*extra) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"xminer: {message}"), err
    assert err.count("\n") == 1
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert not (isolated / "config.json.bak").exists()


def test_missing_file_given_with_c(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-c", "nowhere.json") == 1
    assert capsys.readouterr().err.startswith("xminer: nowhere.json: cannot read")


BAD_OPTIONS = [
    (["-t", "abc"], '--threads: "abc": expected an integer 1..1024'),
    (["--threads=0"], "--threads: "),
    (["--foo"], "--foo: no such option"),
    (["extra"], "extra: unexpected argument"),
    (["--http-port", "70000"], "--http-port: "),
    (["-o", "stratum+tcp//x", "-u", "w"], '--url: "stratum+tcp//x": missing "://"'),
    (["-o", "host:0"], "--url: "),
    (["-u", "wallet"], "--user: give a pool first with -o/--url"),
    (["-o", "h:1", "-u", ""], '--user: "": expected a non-empty string'),
    (["-O", "nocolon"], "--userpass: "),
    (["--bench=3Q"], '--bench: "3Q": expected a size'),
    (["--randomx-mode", "turbo"], "--randomx-mode: "),
    (["--cpu-affinity=zz"], "--cpu-affinity: "),
    (["--print-time"], "--print-time: needs a value"),
    (["--no-cpu=1"], "--no-cpu: takes no value"),
    (["--bench=1K"], "nothing to mine"),
    ([], "nothing to mine"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_OPTIONS)
def test_bad_option_is_one_line_exit_2_file_untouched(
    isolated: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    path = isolated / "config.json"
    before = write(path, json.dumps({"print-time": 5}))
    if message == "nothing to mine" and argv:
        argv = ["--bench=1K", "-o", "h:1", "--print-config"]  # bench + pool is fine ...
        assert run(*argv) == 0
        argv = []  # ... and neither is not
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert f"xminer: {message}" in err and err.count("\n") == 1, err
    assert run(*argv, "--dry-run") == 1  # --dry-run: 0 or 1
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_dry_run_valid(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / "config.json").write_text(json.dumps(GOOD))
    assert run("--dry-run", "--no-color") == 0
    assert "configuration OK" in capsys.readouterr().out


def test_dry_run_checks_the_pools(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Solo mining needs a real address: --dry-run says so, as a run would."""
    assert run("-o", "127.0.0.1:18081", "-u", "WALLET", "--daemon", "--dry-run") == 1
    err = capsys.readouterr().err
    assert "pools[0].user" in err and "not a Monero address" in err and err.count("\n") == 1


def test_print_config_applies_options_over_the_file(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "config.json").write_text(json.dumps(GOOD))
    argv = ["-o", "a:1", "-u", "w1", "-k", "-o", "stratum+ssl://b:2", "-O", "w2:secret"]
    argv += ["--http-port", "4000", "--print-time=7", "--no-color", "--print-config"]
    assert run(*argv) == 0
    out = capsys.readouterr().out
    config = json.loads(out[out.index("{") :])
    assert [(p["url"], p["user"], p["pass"]) for p in config["pools"]] == [
        ("a:1", "w1", "x"),
        ("stratum+ssl://b:2", "w2", "secret"),
    ]
    assert config["pools"][0]["keepalive"] is True and config["pools"][1]["keepalive"] is False
    assert config["http"]["port"] == 4000 and config["http"]["enabled"] is True
    assert config["print-time"] == 7 and config["colors"] is False


def test_options_without_o_change_the_files_last_pool(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "config.json").write_text(json.dumps(GOOD))
    assert run("-u", "other", "--rig-id", "r1", "--print-config") == 0
    out = capsys.readouterr().out
    pool = json.loads(out[out.index("{") :])["pools"][0]
    assert (pool["url"], pool["user"], pool["rig-id"]) == ("pool.example:3333", "other", "r1")


def test_unimplemented_option_is_accepted_with_one_line(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--bench=1M", "--asm", "intel", "--asm=ryzen", "--stress", "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.count("--asm: accepted, but xminer does not implement it") == 1
    assert "--stress: accepted" in out


def test_every_xmrig_option_name_is_known() -> None:
    from xminer.config.options import TABLE

    known = set(TABLE.index())
    help_file = Path(__file__).resolve().parent / "fixtures" / "xmrig-api" / "xmrig-help.txt"
    wanted: set[str] = set()
    for line in help_file.read_text().splitlines():
        match = re.match(r"^\s+(?:(-\w), )?(--[\w-]+)", line)
        if match:
            wanted.update(n for n in match.groups() if n)
    assert len(wanted) > 100
    assert wanted - known == set()


def test_search_path_order(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = Path(os.environ["HOME"])
    (home / ".config").mkdir()
    (home / ".config" / "xmrig.json").write_text('{"print-time": 11}')
    (home / ".xmrig.json").write_text('{"print-time": 12}')

    def print_time() -> int:
        assert run("--bench=1M", "--print-config") == 0
        out = capsys.readouterr().out
        return int(json.loads(out[out.index("{") :])["print-time"])

    assert print_time() == 12
    (home / ".xminer.json").write_text('{"print-time": 13}')
    assert print_time() == 13
    (isolated / "config.json").write_text('{"print-time": 14}')
    assert print_time() == 14
    assert run("-c", str(home / ".config" / "xmrig.json"), "--bench=1M", "--print-config") == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :])["print-time"] == 11


def make_fifo(path: Path) -> str:
    os.mkfifo(path)
    return str(path)


def make_loop(path: Path) -> str:
    os.symlink(path.with_name("loop-b"), path)
    os.symlink(path, path.with_name("loop-b"))
    return str(path)


def make_large(path: Path) -> str:
    with path.open("wb") as f:
        f.truncate(17 * 2**20)  # sparse: no disk used
    return str(path)


def make_text(text: str) -> Any:
    def make(path: Path) -> str:
        path.write_text(text)
        return str(path)

    return make


def make_dir(path: Path) -> str:
    path.mkdir()
    return str(path)


UNREADABLE = [
    ("fifo", make_fifo, "cannot read: not a regular file"),
    ("dev_zero", lambda _: "/dev/zero", "cannot read: not a regular file"),
    ("symlink_loop", make_loop, "cannot read: Too many levels of symbolic links"),
    ("directory", make_dir, "cannot read: Is a directory"),
    ("over_16_mib", make_large, "cannot read: larger than 16 MiB"),
    ("deep", make_text('{"x": ' + "[" * 1000 + "]" * 1000 + "}"), "JSON nested deeper than 64"),
    ("digits", make_text('{"print-time": ' + "9" * 5000 + "}"), "invalid JSON: Exceeds the limit"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("make", "message"), [u[1:] for u in UNREADABLE], ids=[u[0] for u in UNREADABLE]
)
@pytest.mark.parametrize("extra", [[], ["--dry-run"]])
def test_config_that_cannot_be_read_is_one_line(
    isolated: Path, capsys: pytest.CaptureFixture[str], make: Any, message: str, extra: list[str]
) -> None:
    """Only a regular file of at most 16 MiB is read; never a traceback, never a wait."""
    path = make(isolated / "c.json")
    assert run("-c", path, "--bench=1M", *extra) == 1
    err = capsys.readouterr().err
    name = "c.json" if path.startswith(str(isolated)) else path
    assert err.startswith(f"xminer: {name}: {message}"), err
    assert err.count("\n") == 1


BAD_LOG_FILES = ["logs/x.log", "/nonexistent/x.log", ".", "a\x00b"]


@pytest.mark.parametrize("log_file", BAD_LOG_FILES)
def test_log_file_that_cannot_be_opened_is_one_line(
    isolated: Path, capsys: pytest.CaptureFixture[str], log_file: str
) -> None:
    """XMRig goes on without the file; a NUL can come only from a config file."""
    (isolated / "config.json").write_text(json.dumps({"log-file": log_file}))
    assert run("--bench=1M", "--print-config") == 0
    out = capsys.readouterr().out
    assert "Traceback" not in out
    warning = [line for line in out.splitlines() if "cannot open" in line]
    assert len(warning) == 1 and "logging to the console only" in warning[0]
    assert json.loads(out[out.index("{") :])["log-file"] == log_file


@pytest.mark.parametrize("log_file", [*BAD_LOG_FILES, "good.log"])
def test_dry_run_opens_no_log_file(
    isolated: Path, capsys: pytest.CaptureFixture[str], log_file: str
) -> None:
    (isolated / "config.json").write_text(json.dumps({"log-file": log_file}))
    assert run("--bench=1M", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "configuration OK" in out and "cannot open" not in out
    assert sorted(p.name for p in isolated.iterdir()) == ["config.json"]


@pytest.mark.timeout(300)
def test_miner_runs_without_a_log_file_it_cannot_open_and_stops_on_sighup(
    tmp_path: Path,
) -> None:
    """The warning, then the miner starts; SIGHUP stops it cleanly (exit 0), as XMRig."""
    proc = spawn("--bench=10M", "--randomx-mode=light", "-t", "1", "--log-file",
                 str(tmp_path / "no" / "x.log"), home=tmp_path)  # fmt: skip
    try:
        lines = wait_for(proc, r"COMMANDS", 120)
        proc.send_signal(signal.SIGHUP)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = "".join(lines) + out
    assert proc.returncode == 0, out
    assert out.count("cannot open: No such file or directory") == 1
    assert "SIGHUP received, exiting" in out and "Traceback" not in out
