"""Finding, reading and checking config files."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from xminer.config.errors import ConfigError
from xminer.config.model import Config

log = logging.getLogger("xminer.config")

_warned: set[str] = set()


def search_path(cwd: Path | None = None, home: Path | None = None) -> list[Path]:
    """Where a config is looked for when no -c is given, first match wins."""
    cwd = cwd or Path.cwd()
    home = home or Path.home()
    return [
        cwd / "config.json",
        home / ".xminer.json",
        home / ".config" / "xminer.json",
        home / ".xmrig.json",
        home / ".config" / "xmrig.json",
    ]


def find_config(cwd: Path | None = None, home: Path | None = None) -> Path | None:
    for path in search_path(cwd, home):
        if path.is_file():
            return path
    return None


def display_name(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_json(path: Path) -> dict[str, Any]:
    """The file's JSON object; ConfigError (one line) for an unreadable or malformed file."""
    name = display_name(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError("", None, f"cannot read: {reason}", name, plain=True) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise ConfigError(where, None, f"invalid JSON: {exc.msg}", name, plain=True) from None
    if not isinstance(data, dict):
        raise ConfigError("", data, "expected a JSON object {...}", name)
    return data


def parse(data: dict[str, Any], source: str = "config", allow_empty: bool = False) -> Config:
    """Check a whole document; ConfigError names ``source`` and the key path.

    ``{}`` is refused (as XMRig's PUT /2/config does) unless ``allow_empty``: a file may be empty.
    """
    if not isinstance(data, dict):
        raise ConfigError("", data, "expected a JSON object {...}", source)
    if not data and not allow_empty:
        raise ConfigError("", data, "expected a config object with at least one key", source)
    try:
        return Config.from_json(data)
    except ConfigError as exc:
        raise exc.with_source(source) from None


def load(path: Path) -> Config:
    """Read and check a config file, warning once about keys xminer does not know."""
    config = parse(read_json(path), display_name(path), allow_empty=True)
    warn_unknown(config, display_name(path))
    return config


def warn_unknown(config: Config, source: str) -> None:
    for key in config.unknown_keys():
        if key not in _warned:
            _warned.add(key)
            log.warning('%s: unknown key "%s" (kept as is)', source, key)
