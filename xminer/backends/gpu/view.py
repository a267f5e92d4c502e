"""How a GPU backend (OpenCL, CUDA) shows itself: its threads with their devices, a health
line a device."""

from __future__ import annotations

from typing import Any, ClassVar

from xminer.backends.view import BackendView
from xminer.state import BackendStats, ThreadInfo


class GpuView(BackendView):
    reports_health: ClassVar[bool] = True

    @classmethod
    def describe_health(cls, reading: dict[str, Any]) -> str:
        """A device's sensor reading (its thread's ``health``) after the device's name."""
        return ""

    @classmethod
    def health_lines(cls, stats: BackendStats, sensed: bool) -> list[str]:
        """``HEALTH cuda #0 0000:01:00.0 NVIDIA H100 250W 65C 1755/1593 MHz fan0:30%``: a line
        a device (its threads share it), "no sensor data" where there is no reading."""
        lines: list[str] = []
        seen: set[object] = set()
        for t in stats.threads:
            health = t.device.get("health")
            where = t.device.get("bus_id", t.details.get("index", t.index))
            if where in seen or (sensed and not isinstance(health, dict)):
                continue
            seen.add(where)
            reading = cls.describe_health(health) if isinstance(health, dict) else ""
            lines.append(f"HEALTH {cls.name} {cls._label(t)} {reading or 'no sensor data'}")
        if not stats.threads and not sensed:
            lines.append(f"HEALTH {cls.name}: no devices")
        return lines

    @staticmethod
    def _label(t: ThreadInfo) -> str:
        """The device: its index, bus and name where known."""
        parts = (
            f"#{t.details.get('index', t.index)}",
            t.device.get("bus_id"),
            t.device.get("name"),
        )
        return " ".join(str(v) for v in parts if v)
