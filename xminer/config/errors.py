"""ConfigError: one line naming where the problem is, the value, and what was expected."""

from __future__ import annotations

import json
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


def show(value: Any, limit: int = 60) -> str:
    """A value as JSON, shortened to fit on one line."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ConfigError(ValueError):
    """``config.json: pools[1].url: "stratum+tcp//x": missing "://"``.

    ``path`` is the key path inside the document ("" for the document itself), ``value`` the
    offending value (MISSING when the key is absent), ``expected`` what would have been valid.
    ``source`` names the document: a file name, "--option" for the command line, or "config".
    """

    def __init__(
        self, path: str, value: Any, expected: str, source: str = "config", plain: bool = False
    ) -> None:
        super().__init__(expected)
        self.path = path
        self.value = value
        self.expected = expected
        self.source = source
        self.plain = plain  # message only, no value (e.g. a JSON syntax error)

    def with_source(self, source: str) -> ConfigError:
        return ConfigError(self.path, self.value, self.expected, source, self.plain)

    def __str__(self) -> str:
        parts = [self.source]
        if self.path:
            parts.append(self.path)
        if not self.plain:
            parts.append("missing" if self.value is MISSING else show(self.value))
        parts.append(self.expected)
        return ": ".join(parts).replace("\n", " ")


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key
