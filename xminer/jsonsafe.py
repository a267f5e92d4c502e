"""JSON from untrusted text (config files, API bodies, pool lines) with its nesting bounded.

``json.loads`` recurses once per level: a document nested a thousand deep raises RecursionError
(and a 5000-digit integer a bare ValueError).  ``loads`` measures the depth first, outside
strings, and turns every failure into one ``JsonError``.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JsonError(ValueError):
    """Not JSON, or nested deeper than allowed; the message says which."""


def too_deep(text: str, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than ``max_depth`` in ``text`` (strings skipped)."""
    level = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        level += 1 if match.group() in "[{" else -1
        if level > max_depth:
            return True
    return False


def loads(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` for text nested at most ``max_depth`` deep; JsonError otherwise."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    except UnicodeDecodeError as exc:
        raise JsonError(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    if too_deep(text, max_depth):
        raise JsonError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonError(f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # a number of more than 4300 digits
        raise JsonError(f"invalid JSON: {str(exc).split(':')[0]}") from None
