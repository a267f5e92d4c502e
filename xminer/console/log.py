"""Console logging in XMRig's style: timestamp, a coloured tag per subsystem, the message."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from xminer.config.model import Config

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
COLORS = {
    "miner": "\x1b[45;1m",  # magenta background
    "cpu": "\x1b[44;1m",
    "opencl": "\x1b[42;1m",
    "cuda": "\x1b[42;1m",
    "rx": "\x1b[44;1m",
    "net": "\x1b[44;1m",
    "api": "\x1b[45;1m",
    "bench": "\x1b[45;1m",
    "config": "\x1b[44;1m",
    "signal": "\x1b[43;1m",
}
LEVEL_COLORS = {logging.WARNING: "\x1b[33m", logging.ERROR: "\x1b[31;1m"}


class XmrigFormatter(logging.Formatter):
    """``[2026-11-25 22:16:34.123]  cpu      message`` with optional colours."""

    def __init__(self, color: bool) -> None:
        super().__init__()
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%d %H:%M:%S") + f".{int(record.msecs):03d}"
        tag = record.name.rsplit(".", 1)[-1] if record.name != "xminer" else "miner"
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        if not self.color:
            return f"[{stamp}]  {tag:<8} {message}"
        tag_color = COLORS.get(tag, "\x1b[44;1m")
        msg_color = LEVEL_COLORS.get(record.levelno, "")
        tail = f"{msg_color}{message}{RESET}" if msg_color else message
        return f"[{stamp}]  {tag_color}{tag:<8}{RESET} {tail}"


def configure_logging(config: Config, dry_run: bool = False) -> None:
    """Logging as the config asks (colors, verbose, log-file, syslog); a dry run opens (and
    creates) no log file."""
    setup_logging(
        color=None if config.colors else False,
        verbose=config.verbose_level > 0,
        log_file=None if dry_run else config.log_file,
        syslog=config.syslog,
    )


def setup_logging(
    color: bool | None = None,
    verbose: bool = False,
    stream: TextIO | None = None,
    log_file: str | None = None,
    syslog: bool = False,
) -> None:
    stream = stream or sys.stdout
    if color is None:
        color = stream.isatty()
    root = logging.getLogger("xminer")
    root.handlers.clear()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(XmrigFormatter(color))
    root.addHandler(handler)
    if log_file:
        file_handler = open_log_file(log_file)
        if file_handler is not None:
            root.addHandler(file_handler)
    if syslog:
        handler = syslog_handler()
        if handler is not None:
            root.addHandler(handler)


def open_log_file(path: str) -> logging.Handler | None:
    """A handler appending to ``path``; None, with one warning, where it cannot be opened (a
    missing folder, a directory, a NUL in the name): as XMRig, the miner goes on without it."""
    try:
        handler = logging.FileHandler(path)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        logging.getLogger("xminer.config").warning(
            "log-file %s: cannot open: %s (logging to the console only)", ascii(path), reason
        )
        return None
    handler.setFormatter(XmrigFormatter(False))
    return handler


def syslog_handler() -> logging.Handler | None:
    """The system log through /dev/log (None where there is none, e.g. in a container)."""
    import os
    from logging.handlers import SysLogHandler

    if not os.path.exists("/dev/log"):
        return None
    try:
        handler = SysLogHandler(address="/dev/log")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("xminer[%(process)d]: %(message)s"))
    return handler


def set_title(title: str, stream: TextIO | None = None) -> bool:
    """Set the terminal window title (OSC 0) when ``stream`` is a terminal."""
    stream = stream or sys.stdout
    if not stream.isatty():
        return False
    stream.write(f"\x1b]0;{title}\x07")
    stream.flush()
    return True


def fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"
