"""Benchmark sizes as XMRig writes them: 250K, 1M, or a plain count."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^(\d+)([KkMm]?)$")


def parse_bench_size(text: str) -> int:
    """'10K', '1M', '250K' or a plain count such as '2000'; ValueError otherwise."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a size such as 10K, 1M or 2000")
    number, unit = int(match.group(1)), match.group(2).upper()
    size = number * {"": 1, "K": 1000, "M": 1_000_000}[unit]
    if not 1 <= size <= 10_000_000:
        raise ValueError(f"{text!r} is out of range (1 .. 10M)")
    return size


def size_name(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size % 1000 == 0:
        return f"{size // 1000}K"
    return str(size)


__all__ = ["parse_bench_size", "size_name"]
