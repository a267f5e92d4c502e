"""JSON as XMRig writes it: 4-space indent, arrays of scalars on one line, NaN as null."""

from __future__ import annotations

import json
import math

Scalar = str | int | float | bool | None


def _scalar(value: object) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
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
            out.append(f"{pad}{json.dumps(str(key), ensure_ascii=False)}: ")
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
