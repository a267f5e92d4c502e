"""The OpenCL backend behind xminer's Backend interface: one worker thread per device thread.

Each worker owns an :class:`OpenCLRandomX` (device buffers, scratchpads) and hashes
``intensity`` nonces per launch.  It follows the miner's RandomX context: light mode uploads
the context's cache, fast mode builds the dataset on the device from that cache.
"""

from __future__ import annotations

import logging

from xminer.backends.base import BackendContext
from xminer.backends.cpu.threads import cpu_runs
from xminer.backends.gpu.backend import GpuBackend
from xminer.backends.opencl.devices import (
    OclDevice,
    OclPlatform,
    list_devices,
    list_platforms,
    opencl_status,
    select_platforms,
)
from xminer.backends.opencl.threads import OclThread, plan_threads
from xminer.backends.opencl.worker import OclWorker

log = logging.getLogger("xminer.opencl")


class OpenCLBackend(GpuBackend):
    name = "opencl"
    worker_class = OclWorker
    devices: list[OclDevice]  # the devices of the selected platforms
    plan: list[OclThread]

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self.section = ctx.config.opencl
        self.cpu_backend = cpu_runs(ctx.config)  # CPU devices are then left to it
        self.platforms: list[OclPlatform] = []  # the selected ones

    def runtime_unavailable(self) -> str | None:
        ok, reason = opencl_status()
        if not ok:
            return reason
        try:
            import numpy  # noqa: F401
        except ImportError as exc:
            return f"numpy unavailable: {exc}"
        return None

    def find_devices(self) -> list[OclDevice]:
        self.platforms = select_platforms(self.section.platform, list_platforms())
        chosen = {p.index for p in self.platforms}
        return [d for d in list_devices() if d.platform_index in chosen]

    def plan_threads(self) -> list[OclThread]:
        return plan_threads(self.section, self.devices, self.cpu_backend)

    def bad_settings(self, exc: Exception) -> str:
        return f"bad opencl thread settings ({exc})"

    def why_no_threads(self) -> str:
        if self.section.threads_profile() == []:
            return "no OpenCL threads: the opencl section's RandomX profile is false or empty"
        if self.cpu_backend and any(d.is_cpu for d in self.devices):
            return (
                "no OpenCL device selected (CPU devices are left to the CPU backend: "
                "--no-cpu, or naming them in --opencl-devices, uses them)"
            )
        return "no OpenCL device selected"

    def thread_line(self, thread: OclThread, device: OclDevice | None) -> str:  # type: ignore[override]
        name = f"{device.name} on {device.platform}" if device else "?"
        return (
            f"#{thread.device} {name} intensity {thread.intensity} worksize {thread.worksize} "
            f"bfactor {thread.bfactor} affinity {thread.affinity}"
        )

    def reads_host_dataset(self, thread: OclThread, device: OclDevice | None) -> bool:  # type: ignore[override]
        """A CPU device (PoCL) copies the host's dataset: the library builds it faster."""
        from xminer.backends.opencl.randomx import OpenCLRandomX

        return device is not None and not OpenCLRandomX.builds_on(device)

    def platform(self) -> OclPlatform | None:
        """The platform in use: the first thread's (the first selected without threads)."""
        if self.plan:
            first = self.plan[0].device.split(":")[0]
            for p in self.platforms:
                if str(p.index) == first:
                    return p
        return self.platforms[0] if self.platforms else None

    def api_fields(self) -> dict[str, object]:
        platform = self.platform()
        return {"platform": platform.to_json() if platform else None}

    def absent_fields(self) -> dict[str, object]:
        """XMRig shows the platform it selected even when no device is used (null: none)."""
        return self.api_fields()


def create_backend(ctx: BackendContext) -> OpenCLBackend:
    """Factory used by the miner's backend registry."""
    return OpenCLBackend(ctx)
