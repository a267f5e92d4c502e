"""How a GPU backend plans its threads from the config section's profile (OpenCL, CUDA)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

D = TypeVar("D")
T = TypeVar("T")


def plan_threads(
    entries: list[dict[str, Any]] | None,
    usable: list[D],
    from_entry: Callable[[dict[str, Any], list[D]], list[T]],
    default: Callable[[D], T],
) -> list[T]:
    """The threads of XMRig's profile ``entries`` (each one's threads on the ``usable``
    devices it names) or, without a profile (None), the ``default`` thread of every usable
    device."""
    if entries is not None:
        return [thread for entry in entries for thread in from_entry(entry, usable)]
    return [default(device) for device in usable]
