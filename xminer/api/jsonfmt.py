"""JSON as XMRig writes it: 4-space indent, arrays of scalars on one line, NaN as null."""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring  # the C encoder when available


def _scalar(value: object) -> str:
    """One scalar, without json.dumps' per-call overhead (this is on every API reply)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value) if math.isfinite(value) else "null"
    return json.dumps(value, ensure_ascii=False)


def _is_flat(value: list[object]) -> bool:
    return not any(isinstance(v, dict | list | tuple) for v in value)


def _encode(value: object, level: int, out: list[str]) -> None:
    pad = "    " * (level + 1)
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{\n")
        for i, (key, item) in enumerate(value.items()):
            out.append(f"{pad}{encode_basestring(str(key))}: ")
            _encode(item, level + 1, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append("    " * level + "}")
    elif isinstance(value, list | tuple):
        if _is_flat(list(value)):
            out.append("[" + ", ".join(_scalar(v) for v in value) + "]")
            return
        out.append("[\n")
        for i, item in enumerate(value):
            out.append(pad)
            _encode(item, level + 1, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append("    " * level + "]")
    else:
        out.append(_scalar(value))


def dumps(value: object) -> str:
    out: list[str] = []
    _encode(value, 0, out)
    return "".join(out)
