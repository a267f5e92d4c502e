"""The thread profile of an opencl or cuda config section and its device selection."""

from __future__ import annotations

from typing import Any

#: XMRig's thread profiles for Monero's RandomX in a GPU section, most specific first
PROFILE_KEYS = ("rx/0", "rx")


def devices_hint(options: dict[str, Any]) -> list[int | str] | None:
    """--opencl-devices / --cuda-devices ("devices-hint", or the older "devices"): device
    indexes ("0,1", [0, 1] or 0), or OpenCL "platform:device" keys ("0:1"); None = all."""
    wanted = options.get("devices-hint", options.get("devices"))
    if wanted is None or wanted == "" or wanted == []:
        return None
    if isinstance(wanted, int | str):
        wanted = str(wanted).replace(" ", "").split(",")
    out: list[int | str] = []
    for item in wanted:
        text = str(item).strip()
        if text:
            out.append(text if ":" in text else int(text))
    return out


def thread_profile(options: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The thread entries of the opencl or cuda section's RandomX profile, string aliases
    ("rx/0": "rx") followed; [] for ``false``; None when the section has no profile."""
    for key in PROFILE_KEYS:
        value = options.get(key)
        seen = {key}
        while isinstance(value, str) and value not in seen:
            seen.add(value)
            value = options.get(value)
        if value is False:
            return []
        if isinstance(value, list):
            return [dict(v) for v in value if isinstance(v, dict)]
    return None
