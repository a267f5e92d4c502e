"""ConfigManager (validate, replace, atomic save), autosave of thread profiles, watch."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from xminer.cli import autosave, build
from xminer.config import Config, ConfigError, ConfigManager, ConfigWatcher, load, parse

BODY: dict[str, Any] = {
    "print-time": 30,
    "cpu": {"enabled": True, "rx": [0]},
    "pools": [{"url": "pool.example:3333", "user": "wallet"}],
    "future-key": {"kept": True},
}


def write(path: Path, body: dict[str, Any] | str, mtime_s: int | None = None) -> None:
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    if mtime_s is not None:  # a new mtime even where the clock is coarse
        os.utime(path, (mtime_s, mtime_s))


def manager_for(tmp_path: Path) -> tuple[ConfigManager, Path, list[tuple[Config, Config]]]:
    path = tmp_path / "config.json"
    write(path, BODY, 1_000_000)
    manager = ConfigManager(load(path), path)
    calls: list[tuple[Config, Config]] = []
    manager.on_change(lambda old, new: calls.append((old, new)))
    return manager, path, calls


def test_validate_changes_nothing(tmp_path: Path) -> None:
    manager, path, calls = manager_for(tmp_path)
    before = path.read_bytes()
    new = manager.validate({**manager.to_json(), "print-time": 5})
    assert new.print_time == 5 and manager.config.print_time == 30
    with pytest.raises(ConfigError, match=r"^config: print-time: -5: expected"):
        manager.validate({"print-time": -5})
    with pytest.raises(ConfigError):
        manager.validate({})
    assert path.read_bytes() == before and calls == []


def test_replace_saves_atomically_keeps_bak_and_unknown_keys(tmp_path: Path) -> None:
    manager, path, calls = manager_for(tmp_path)
    before = path.read_bytes()
    body = manager.to_json()
    body["print-time"] = 20
    manager.replace(body)
    saved = json.loads(path.read_text())
    assert saved["print-time"] == 20 and saved["future-key"] == {"kept": True}
    assert saved["cpu"]["rx"] == [0]
    assert (tmp_path / "config.json.bak").read_bytes() == before
    assert [f.name for f in tmp_path.iterdir() if f.name.endswith(".tmp")] == []
    assert len(calls) == 1 and (calls[0][0].print_time, calls[0][1].print_time) == (30, 20)
    assert manager.to_json()["print-time"] == 20


def test_invalid_replace_changes_nothing(tmp_path: Path) -> None:
    manager, path, calls = manager_for(tmp_path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    bad = manager.to_json()
    bad["pools"][0]["url"] = "stratum+tcp//x"
    with pytest.raises(ConfigError, match=r'pools\[0\]\.url: "stratum\+tcp//x": missing "://"'):
        manager.replace(bad)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert calls == [] and manager.config.pools[0].url == "pool.example:3333"


def test_replace_without_file_only_notifies(tmp_path: Path) -> None:
    manager = ConfigManager(parse({"print-time": 1}), None)
    seen: list[int] = []
    manager.on_change(lambda old, new: seen.append(new.print_time))
    manager.replace({"print-time": 2})
    assert seen == [2] and list(tmp_path.iterdir()) == []


def test_autosave_writes_generated_profile_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "config.json"
    body = {"autosave": True, "cpu": {"enabled": True}, "print-time": 9, "_comment": "mine"}
    write(path, body)
    original = path.read_bytes()
    startup = build(["-c", str(path), "--bench=1M", "-t", "1"])  # -t is not saved
    assert startup is not None
    manager = ConfigManager(startup.config, path)
    running = autosave(startup, manager)
    saved = json.loads(path.read_text())
    assert isinstance(saved["cpu"]["rx"], list) and len(saved["cpu"]["rx"]) >= 1
    assert "max-threads-hint" not in saved["cpu"]
    assert saved["print-time"] == 9 and saved["_comment"] == "mine"
    assert "benchmark" not in saved  # --bench came from the command line
    assert (tmp_path / "config.json.bak").read_bytes() == original
    assert running.cpu.override is not None and running.cpu.override.count == 1
    # second run: the profile exists, nothing is written
    mtime = path.stat().st_mtime_ns
    startup = build(["-c", str(path), "--bench=1M"])
    assert startup is not None and startup.config.cpu.profile("rx/0") is not None
    autosave(startup, ConfigManager(startup.config, path))
    assert path.stat().st_mtime_ns == mtime


def test_autosave_false_leaves_file_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "config.json"
    write(path, {"autosave": False})
    before = path.read_bytes()
    startup = build(["--bench=1M"])
    assert startup is not None and startup.path is not None
    autosave(startup, ConfigManager(startup.config, startup.path))
    assert path.read_bytes() == before and not (tmp_path / "config.json.bak").exists()


def test_watch_applies_valid_edit_and_ignores_invalid(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    monkeypatch.setattr(logging.getLogger("xminer"), "propagate", True)
    manager, path, calls = manager_for(tmp_path)
    watcher = ConfigWatcher(manager)
    assert watcher.poll() is False  # unchanged

    write(path, {**BODY, "print-time": 5}, 2_000_000)
    assert watcher.poll() is True
    assert manager.config.print_time == 5 and len(calls) == 1

    invalid = '{"print-time": 5, "pools": [{"url": "stratum+tcp//x", "user": "w"}]}'
    write(path, invalid, 3_000_000)
    with caplog.at_level(logging.ERROR, logger="xminer.config"):
        assert watcher.poll() is True
    assert manager.config.print_time == 5 and len(calls) == 1
    assert any('pools[0].url: "stratum+tcp//x": missing "://"' in r.message for r in caplog.records)
    assert path.read_text() == invalid  # never rewritten

    write(path, "{not json", 4_000_000)
    assert watcher.poll() is True and len(calls) == 1

    write(path, {**BODY, "print-time": 6}, 5_000_000)
    assert watcher.poll() is True and manager.config.print_time == 6 and len(calls) == 2


def test_watch_ignores_own_save_and_runs_on_a_thread(tmp_path: Path) -> None:
    import threading

    manager, path, calls = manager_for(tmp_path)
    watcher = ConfigWatcher(manager, interval=0.05)
    body = manager.to_json()
    body["print-time"] = 40
    manager.replace(body)
    assert watcher.poll() is False and len(calls) == 1
    changed = threading.Event()
    manager.on_change(lambda old, new: changed.set())
    watcher.start()
    try:
        write(path, {**BODY, "print-time": 41}, 9_000_000)
        assert changed.wait(10)
    finally:
        watcher.stop()
    assert manager.config.print_time == 41


def test_reload_keeps_command_line_options_on_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xminer.cli import merge

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "config.json"
    write(path, {"print-time": 30, "colors": True}, 1_000_000)
    startup = build(["--print-time=7", "--bench=1M", "-t", "1"])
    assert startup is not None
    manager = ConfigManager(startup.config, path, lambda body: merge(startup.parsed, body, "x"))
    write(path, {"print-time": 99, "colors": False}, 2_000_000)
    assert manager.reload() is True
    config = manager.config
    assert config.print_time == 7 and config.colors is False and config.benchmark is not None
    assert config.cpu.override is not None and config.cpu.override.count == 1


def deep_text(path: Path) -> None:
    write(path, '{"print-time": 5, "x": ' + "[" * 1000 + "]" * 1000 + "}", 2_000_000)


def long_number(path: Path) -> None:
    write(path, '{"print-time": ' + "7" * 5000 + "}", 2_000_000)


def fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (deep_text, "JSON nested deeper than 64 levels"),
        (
            long_number,
            "invalid JSON: Exceeds the limit (4300 digits) for integer string conversion",
        ),
        (fifo, "cannot read: not a regular file"),
    ],
)
def test_watched_edit_that_cannot_be_read_is_one_log_line(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    edit: Any,
    message: str,
) -> None:
    import logging

    monkeypatch.setattr(logging.getLogger("xminer"), "propagate", True)
    manager, path, calls = manager_for(tmp_path)
    watcher = ConfigWatcher(manager)
    edit(path)
    with caplog.at_level(logging.INFO, logger="xminer.config"):
        assert watcher.poll() is True
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith(f"{path}: {message}")
    assert lines[0].endswith(" (ignored, the running configuration stays)")
    assert not any(r.exc_info for r in caplog.records)
    assert manager.config.print_time == 30 and calls == []
