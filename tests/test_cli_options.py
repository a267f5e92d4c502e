"""The command line read by click: XMRig's order semantics, grouped --help, one-line errors and
every kind of value check in the option table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import run
from xminer.config.options import TABLE, OptionError, Overrides, apply, parse_argv

XMRIG_SECTIONS = [
    "Network:",
    "CPU backend:",
    "OpenCL backend:",
    "CUDA backend:",
    "API:",
    "TLS:",
    "Logging:",
    "Misc:",
]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No config.json of the developer's: cwd and HOME are empty temporary folders."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def applied(*argv: str) -> Overrides:
    return apply(parse_argv(list(argv)), {})


def pools(*argv: str) -> list[dict[str, Any]]:
    return applied(*argv).body["pools"]


def test_pool_options_go_to_the_last_url_given() -> None:
    assert pools("-o", "a:1", "-o", "b:2", "-u", "Y") == [
        {"url": "a:1", "user": "x"},
        {"url": "b:2", "user": "Y"},
    ]
    assert [p["user"] for p in pools("-o", "a:1", "-u", "X", "-o", "b:2", "-u", "Y")] == ["X", "Y"]


def test_repeated_flags_follow_their_pool() -> None:
    got = pools("-o", "a:1", "-k", "-o", "b:2", "--tls", "-o", "c:3", "--keepalive")
    assert [(p.get("keepalive"), p.get("tls")) for p in got] == [
        (True, None),
        (None, True),
        (True, None),
    ]


@pytest.mark.parametrize("argv", [["-t2"], ["-t", "2"], ["--threads=2"], ["--threads", "2"]])
def test_value_forms(argv: list[str]) -> None:
    assert applied(*argv).threads == 2


def test_last_value_wins_for_a_plain_key() -> None:
    assert applied("--print-time=5", "-t", "1", "--print-time", "9").body["print-time"] == 9


def test_help_is_grouped_as_xmrig_and_lists_every_option_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("--help") == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: xminer [OPTIONS]\n")
    lines = out.splitlines()
    assert [line for line in lines if re.match(r"^\w[\w ]*:$", line)] == XMRIG_SECTIONS
    listed: list[str] = []
    section = ""
    sections: dict[str, str] = {}
    for line in lines:
        if line in XMRIG_SECTIONS:
            section = line.removesuffix(":")
        match = re.match(r"^\s+(?:-\w, )?(--[\w-]+)", line)
        if match:
            listed.append(match.group(1))
            sections[match.group(1)] = section
    assert sorted(listed) == sorted(opt.long for opt in TABLE.options)  # each exactly once
    assert {opt.long: opt.group for opt in TABLE.options} == sections
    assert run("-h") == 0 and capsys.readouterr().out == out


CLICK_ERRORS = [
    (["--foo"], "--foo: no such option (see --help)"),
    (["-z"], "-z: no such option (see --help)"),
    (["--bench=1M", "--foo=1"], "--foo: no such option (see --help)"),
    (["--print-time"], "--print-time: needs a value (N)"),
    (["-o"], "--url: needs a value (URL)"),
    (["--bench=1M", "-c"], "--config: needs a value (FILE)"),
    (["--no-cpu=1"], "--no-cpu: takes no value"),
    (["--", "x"], "x: unexpected argument (options start with - or --)"),
    (["--bench=1M", "extra"], "extra: unexpected argument (options start with - or --)"),
]


@pytest.mark.parametrize(("argv", "message"), CLICK_ERRORS)
def test_click_errors_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(*argv) == 2
    captured = capsys.readouterr()
    assert captured.err == f"xminer: {message}\n"
    assert "Usage" not in captured.out + captured.err


# (argv, where the value lands, the value) -- one row or more per kind of check in the table
GOOD = [
    (["--print-time=0x10"], "print-time", 16),
    (["-o", "h:1", "--daemon-poll-interval", "250"], "pools[0].daemon-poll-interval", 250),
    (["--api-id="], "api.id", ""),
    (["--opencl-devices=0,2"], "opencl.devices-hint", "0,2"),
    (["--bench=250K"], "benchmark.size", "250K"),
    (["--cpu-affinity=0x3"], "affinity", 3),
    (["--opencl-platform=1"], "opencl.platform", 1),
    (["--opencl-platform=Portable"], "opencl.platform", "Portable"),
    (["--randomx-mode=light"], "randomx.mode", "light"),
    (["--asm=none"], "cpu.asm", False),
    (["--asm=ryzen"], "cpu.asm", "ryzen"),
    (["--randomx-wrmsr=-1"], "randomx.wrmsr", False),
    (["--randomx-wrmsr=6"], "randomx.wrmsr", 6),
    (["-o", "h:1", "-O", "w:p:q"], "pools[0]", {"url": "h:1", "user": "w", "pass": "p:q"}),
]

BAD = [
    (["-t", "abc"], '--threads: "abc": expected an integer 1..1024'),
    (["--threads=1025"], '--threads: "1025": expected an integer 1..1024'),
    (["--daemon-poll-interval=0"], '--daemon-poll-interval: "0": expected an integer'),
    (["--opencl-devices= "], '--opencl-devices: " ": expected a non-empty value'),
    (["--bench=3Q"], '--bench: "3Q": expected a size such as 1M or 250K'),
    (["--cpu-affinity=-2"], '--cpu-affinity: "-2": expected a CPU mask such as 0x3'),
    (["--opencl-platform="], '--opencl-platform: "": expected a non-empty value'),
    (["--randomx-mode=turbo"], '--randomx-mode: "turbo": expected "auto", "fast" or "light"'),
    (["--asm=arm"], '--asm: "arm": expected one of auto, none, intel, ryzen, bulldozer'),
    (["--randomx-wrmsr=-2"], '--randomx-wrmsr: "-2": expected an integer'),
    (["-O", "nocolon"], '--userpass: "nocolon": expected USER:PASSWORD'),
]


def lookup(overrides: Overrides, where: str) -> Any:
    if where in ("threads", "affinity"):
        return getattr(overrides, where)
    node: Any = overrides.body
    for key in where.split("."):
        name, _, index = key.partition("[")
        node = node[name]
        if index:
            node = node[int(index.rstrip("]"))]
    return node


@pytest.mark.parametrize(("argv", "where", "value"), GOOD)
def test_check_accepts(argv: list[str], where: str, value: Any) -> None:
    assert lookup(applied(*argv), where) == value


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_check_refuses_with_one_line_naming_the_option(argv: list[str], message: str) -> None:
    with pytest.raises(OptionError) as info:
        parse_argv(argv)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def check_kinds(argv: list[str]) -> set[str]:
    """The kinds of check (the table's convert functions) of the options in ``argv``."""
    index = TABLE.index()
    options = [index.get(arg.split("=")[0]) for arg in argv if arg.startswith("-")]
    return {o.convert.__qualname__ for o in options if o is not None and o.convert is not None}


def test_every_kind_of_check_is_tested() -> None:
    """A new kind of check in the table needs a row in GOOD and in BAD above."""
    kinds = {opt.convert.__qualname__ for opt in TABLE.options if opt.convert is not None}
    tested_good = set().union(*(check_kinds(argv) for argv, _, _ in GOOD))
    tested_bad = set().union(*(check_kinds(argv) for argv, _ in BAD))
    assert "_int.<locals>.convert" in kinds and len(kinds) >= 10
    assert kinds - tested_good == set()
    assert kinds - tested_bad == {"_text"}  # takes any text: nothing to refuse
