"""The running configuration: one owner that the HTTP API, the watcher and the miner share.

``replace`` validates a whole new document first, then saves it atomically (when a file backs
the configuration), then tells the listeners.  ``ConfigWatcher`` polls the file and applies a
valid edit through the same listeners; an invalid edit is logged and ignored.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xminer.config.errors import ConfigError
from xminer.config.loader import display_name, parse, read_json, warn_unknown
from xminer.config.model import Config

log = logging.getLogger("xminer.config")

Listener = Callable[[Config, Config], None]


def atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    """Temporary file in the same directory, fsync, keep the old file as ``<name>.bak``, rename."""
    text = json.dumps(data, indent=4, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.replace(path, path.with_name(path.name + ".bak"))
            os.chmod(tmp, path.with_name(path.name + ".bak").stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def file_signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class ConfigManager:
    """Owns the current ``Config``; ``path`` is the file behind it (None: nothing is saved)."""

    def __init__(
        self,
        config: Config,
        path: Path | None = None,
        overlay: Callable[[dict[str, Any]], Config] | None = None,
        check: Callable[[Config], None] | None = None,
        show: Callable[[Config], dict[str, Any]] | None = None,
    ) -> None:
        """``overlay`` turns a reloaded file's JSON into the running Config (the CLI passes one
        that re-applies its options); by default the file alone.  ``check`` looks further than
        the model can (e.g. that every pool URL makes a client) and raises ValueError.  ``show``
        gives what ``to_json`` shows (the API's view: command-line threads as a profile);
        by default the document itself."""
        self._config = config
        self.path = path
        self.overlay = overlay
        self.check = check
        self.show = show or Config.to_json
        self.checks: list[Callable[[Config], None]] = []  # more, added by the running parts
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self.saved_signature: tuple[int, int] | None = None

    @property
    def config(self) -> Config:
        return self._config

    @property
    def source(self) -> str:
        return display_name(self.path) if self.path else "config"

    def to_json(self) -> dict[str, Any]:
        """What ``GET /2/config`` returns, in XMRig's key order (command-line threads shown
        as the profile they override)."""
        with self._lock:
            return self.show(self._config)

    def validate(self, body: dict[str, Any]) -> Config:
        """A new Config from ``body`` alone (absent keys take defaults); changes nothing."""
        config = parse(body, "config")
        self._check(config, "config")
        return config

    def add_check(self, check: Callable[[Config], None]) -> None:
        """One more check a new config must pass (after ``check``); it raises ValueError."""
        self.checks.append(check)

    def _check(self, config: Config, source: str) -> None:
        checks = [self.check] if self.check is not None else []
        try:
            for check in checks + self.checks:
                check(config)
        except ValueError as exc:
            raise ConfigError("", None, str(exc), source, plain=True) from None

    def on_change(self, callback: Listener) -> None:
        self._listeners.append(callback)

    def replace(self, body: dict[str, Any]) -> None:
        """Validate the whole body, save it (if a file backs us), then notify listeners."""
        new = self.validate(body)
        warn_unknown(new, "config")
        self.set(new, save=True)

    def set(self, new: Config, save: bool = True) -> None:
        with self._lock:
            old = self._config
            if save:
                self.save(new)
            self._config = new
        self._notify(old, new)

    def save(self, config: Config | None = None) -> None:
        """Write the configuration to its file atomically; nothing happens without a file."""
        if self.path is None:
            return
        with self._lock:
            atomic_write_json(self.path, (config or self._config).to_file_json())
            self.saved_signature = file_signature(self.path)
        log.info("%s saved", self.source)

    def reload(self) -> bool:
        """Read the file again and apply it if it is valid and differs; False if invalid."""
        if self.path is None:
            return False
        try:
            body = read_json(self.path)
            if self.overlay is not None:
                new = self.overlay(body)
            else:
                new = parse(body, self.source, allow_empty=True)
            self._check(new, self.source)
        except ConfigError as exc:
            log.error("%s (ignored, the running configuration stays)", exc)
            return False
        warn_unknown(new, self.source)
        if new.to_file_json() == self._config.to_file_json():
            return True
        log.info("%s changed, applying", self.source)
        self.set(new, save=False)
        return True

    def _notify(self, old: Config, new: Config) -> None:
        for callback in list(self._listeners):
            try:
                callback(old, new)
            except Exception:
                log.exception("config listener %r failed", callback)


class ConfigWatcher:
    """Polls the config file (mtime and size) on a daemon thread; ``dispatch`` runs the reload.

    Pass ``loop.call_soon_threadsafe`` as ``dispatch`` so that listeners run on the event loop.
    """

    def __init__(
        self,
        manager: ConfigManager,
        interval: float = 1.0,
        dispatch: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> None:
        if manager.path is None:
            raise ValueError("nothing to watch: the configuration has no file")
        self.manager = manager
        self.path: Path = manager.path
        self.interval = interval
        self.dispatch = dispatch or (lambda fn: fn())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = file_signature(self.path)

    def start(self) -> ConfigWatcher:
        self._thread = threading.Thread(target=self._run, name="config-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def poll(self) -> bool:
        """One check; True when the file changed (and a reload was dispatched)."""
        sig = file_signature(self.path)
        if sig is None or sig == self._seen:
            return False
        self._seen = sig
        if sig == self.manager.saved_signature:
            return False  # our own save
        self.dispatch(self.manager.reload)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:
                log.exception("watching %s failed", self.path)
