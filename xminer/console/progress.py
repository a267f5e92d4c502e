"""Progress of long work (the dataset build): a bar on a terminal, a line per 25 % otherwise."""

from __future__ import annotations

import logging
import sys
import threading


class ProgressPrinter:
    """Progress of long work: an in-place bar on a terminal, a line per 25 % otherwise."""

    def __init__(self, logger: logging.Logger, what: str, tty: bool | None = None) -> None:
        """``tty``: draw the bar (default: when stdout is a terminal); False gives a line
        per 25 %, as between mining lines."""
        self.logger = logger
        self.what = what
        self.tty = sys.stdout.isatty() if tty is None else tty
        self.last = -1
        self._lock = threading.Lock()

    def update(self, fraction: float) -> None:
        with self._lock:
            step = int(fraction * (100 if self.tty else 4))
            if step == self.last:
                return
            self.last = step
            if self.tty:
                bar = "#" * (step // 5)
                sys.stdout.write(f"\r  {self.what} {bar:<20} {step:3d}%")
                sys.stdout.flush()
            elif step > 0:
                self.logger.info("%s %d%%", self.what, step * 25)

    def finish(self) -> None:
        if self.tty and self.last >= 0:
            sys.stdout.write("\r" + " " * 40 + "\r")
            sys.stdout.flush()
