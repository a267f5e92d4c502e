"""The OpenCL backend behind xminer's Backend interface: one worker thread per device thread.

Each worker owns an :class:`OpenCLRandomX` (device buffers, scratchpads) and hashes
``intensity`` nonces per launch.  It follows the miner's RandomX context: light mode uploads
the context's cache, fast mode the context's dataset (nothing is rebuilt here).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from xminer.backends.base import Backend, BackendContext, GpuWorker, Worker
from xminer.backends.opencl.devices import (
    DeviceInfo,
    ThreadConfig,
    default_thread,
    list_devices,
    opencl_status,
)
from xminer.state import ThreadInfo

log = logging.getLogger("xminer.opencl")


def plan_threads(options: dict[str, Any], devices: list[DeviceInfo]) -> list[ThreadConfig]:
    """Thread entries from options: explicit "threads", or one default per selected device.

    options: threads = [{"device": "0:0", "intensity": 8, "worksize": 1, "bfactor": 0}, ...]
    or devices = "0:0,1:0" / ["0:0"]; intensity / worksize / bfactor override the defaults.
    """
    explicit = options.get("threads")
    if explicit:
        return [t if isinstance(t, ThreadConfig) else ThreadConfig(**t) for t in explicit]
    wanted = options.get("devices")
    if isinstance(wanted, str):
        wanted = [w.strip() for w in wanted.split(",") if w.strip()]
    chosen = [d for d in devices if not wanted or d.key in wanted]
    plans = []
    for device in chosen:
        plan = default_thread(device)
        if options.get("intensity"):
            plan.intensity = int(options["intensity"])
        if options.get("worksize"):
            plan.worksize = int(options["worksize"])
        if options.get("bfactor"):
            plan.bfactor = int(options["bfactor"])
        plans.append(plan)
    return plans


class OpenCLWorker(GpuWorker):
    config: ThreadConfig

    def make_gpu(self, mode: str) -> Any:
        from xminer.backends.opencl.randomx import OpenCLRandomX

        return OpenCLRandomX(
            self.config.device, mode=mode, intensity=self.config.intensity,
            worksize=self.config.worksize, bfactor=self.config.bfactor,
        )  # fmt: skip


class OpenCLBackend(Backend):
    name = "opencl"

    def __init__(self, ctx: BackendContext, options: dict[str, Any] | None = None) -> None:
        super().__init__(ctx)
        self.options = dict(options or {})
        self.devices: list[DeviceInfo] = []
        self.plan: list[ThreadConfig] = []

    def availability(self) -> str | None:
        ok, reason = opencl_status()
        if not ok:
            return reason
        try:
            import numpy  # noqa: F401
        except ImportError as exc:
            return f"numpy unavailable: {exc}"
        self.devices = list_devices()
        self.plan = plan_threads(self.options, self.devices)
        if not self.plan:
            return "no OpenCL device selected"
        return None

    def make_workers(self) -> list[Worker]:
        if not self.plan:
            self.availability()
        new_counter = self.ctx.state.new_counter
        return [
            OpenCLWorker(
                self,
                ThreadInfo(i, new_counter(), -1, t.intensity, {"device": t.device,
                           "worksize": t.worksize, "bfactor": t.bfactor}),
                t,
            )
            for i, t in enumerate(self.plan)
        ]  # fmt: skip

    def describe(self) -> list[str]:
        by_key = {d.key: d for d in self.devices}
        lines = []
        for t in self.plan:
            dev = by_key.get(t.device)
            name = dev.name if dev else "?"
            lines.append(
                f"#{t.device} {name} intensity {t.intensity} worksize {t.worksize} "
                f"bfactor {t.bfactor} mode {'fast' if self.ctx.rx.fast else 'light'}"
            )
        return lines

    def api_fields(self) -> dict[str, object]:
        return {"devices": [d.describe() for d in self._selected(self.devices)]}

    def _selected(self, devices: Iterable[DeviceInfo]) -> list[DeviceInfo]:
        keys = {t.device for t in self.plan}
        return [d for d in devices if d.key in keys]


def create_backend(ctx: BackendContext, options: dict[str, Any] | None = None) -> OpenCLBackend:
    """Factory used by the miner's backend registry."""
    return OpenCLBackend(ctx, options)
