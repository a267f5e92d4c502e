"""Finding, reading and checking config files."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from xminer import jsonsafe
from xminer.config.errors import ConfigError
from xminer.config.model import Config

log = logging.getLogger("xminer.config")

_warned: set[str] = set()
MAX_FILE_BYTES = 16 * 1024 * 1024  # a config is a few KiB; more is a wrong file (or /dev/zero)


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
        full = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        full = Path(os.path.abspath(path))
    try:
        return str(full.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, at most ``limit``; OSError or ValueError with the reason.

    Opened without blocking, so that a FIFO is refused instead of waiting for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit // 2**20} MiB")
    return data


def read_json(path: Path) -> dict[str, Any]:
    """The file's JSON object; ConfigError (one line) for an unreadable or malformed file."""
    name = display_name(path)
    try:
        data = jsonsafe.loads(read_bytes(path))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError("", None, f"cannot read: {reason}", name, plain=True) from None
    except jsonsafe.JsonError as exc:
        raise ConfigError("", None, str(exc), name, plain=True) from None
    except ValueError as exc:  # not a regular file, too large, a NUL in the name
        raise ConfigError("", None, f"cannot read: {exc}", name, plain=True) from None
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
