"""The OpenCL backend behind xminer's Backend interface: one worker thread per device thread.

Each worker owns an :class:`OpenCLRandomX` (device buffers, scratchpads) and hashes
``intensity`` nonces per launch.  It follows the miner's RandomX context: light mode uploads
the context's cache, fast mode builds the dataset on the device from that cache.
"""

from __future__ import annotations

import logging
from typing import Any

from xminer.backends.base import Backend, BackendContext, GpuWorker, Worker
from xminer.backends.cpu.threads import cpu_runs
from xminer.backends.opencl.devices import (
    DeviceInfo,
    PlatformInfo,
    ThreadConfig,
    default_thread,
    list_devices,
    list_platforms,
    opencl_status,
)
from xminer.config.model import OpenCl
from xminer.state import ThreadInfo

log = logging.getLogger("xminer.opencl")

DEFAULT_PLATFORM = "AMD"  # XMRig's default "platform"; matching nothing, xminer takes them all


def select_platforms(choice: object, platforms: list[PlatformInfo]) -> list[PlatformInfo]:
    """The platforms ``opencl.platform`` picks (ValueError with the reason: none of them).

    An int (or a string of digits) is a platform index; another string picks the platforms
    whose vendor or name contains it (case-insensitive).  The default "AMD" (or no choice)
    falls back to every platform when it matches nothing, so PoCL works out of the box.
    """
    if choice is None or choice == "":
        choice = DEFAULT_PLATFORM
    if isinstance(choice, str) and choice.strip().isdigit():
        choice = int(choice.strip())
    if isinstance(choice, int) and not isinstance(choice, bool):
        if 0 <= choice < len(platforms):
            return [platforms[choice]]
        raise ValueError(f"OpenCL platform {choice} not found ({len(platforms)} platform(s))")
    text = str(choice)
    found = [p for p in platforms if p.matches(text)]
    if found:
        return found
    if text.strip().upper() == DEFAULT_PLATFORM:
        return list(platforms)
    names = ", ".join(f"#{p.index} {p.name} ({p.vendor})" for p in platforms) or "none"
    raise ValueError(f'OpenCL platform "{text}" not found (platforms: {names})')


def _named(device: DeviceInfo, wanted: list[int | str] | None) -> bool:
    return wanted is not None and (device.device_index in wanted or device.key in wanted)


def usable_devices(
    section: OpenCl, devices: list[DeviceInfo], cpu_backend: bool = False
) -> list[DeviceInfo]:
    """The devices threads may go to: those devices-hint names (all without one), less the
    CPU devices while the CPU backend runs (``cpu_backend``) unless devices-hint names
    them, so that the two backends never fight over the cores."""
    wanted = section.devices()
    out = []
    for device in devices:
        if wanted is not None and not _named(device, wanted):
            continue
        if device.is_cpu and cpu_backend and not _named(device, wanted):
            continue
        out.append(device)
    return out


def plan_threads(
    section: OpenCl, devices: list[DeviceInfo], cpu_backend: bool = False
) -> list[ThreadConfig]:
    """Thread entries from the opencl section (and the CLI) for ``devices``, the devices of
    the selected platforms.

    An "rx" (or "rx/0") profile lists XMRig's thread entries: ``[{"index": 0,
    "intensity": 896, "worksize": 8, "threads": [-1, -1], "bfactor": 6, ...}]``; ``index`` is
    a device index within the platform and each element of ``threads`` (host-thread CPU
    affinities, -1 = none) starts one worker with the entry's settings; ``false`` turns
    OpenCL off for RandomX.  Without a profile every usable device gets
    :func:`default_thread`, with the options' "intensity", "worksize" and "bfactor" when
    given.  Either list is limited to :func:`usable_devices`.  The older explicit form
    ``threads = [{"device": "0:0", "intensity": 8, "worksize": 1, "bfactor": 0}, ...]`` is
    taken as it stands.
    """
    options = section.extra  # the older section-wide keys: threads, intensity, worksize, bfactor
    explicit = options.get("threads")
    if explicit:
        return [t if isinstance(t, ThreadConfig) else ThreadConfig(**t) for t in explicit]
    usable = usable_devices(section, devices, cpu_backend)
    profile = section.threads_profile()
    if profile is not None:
        plans = []
        for entry in profile:
            index = int(entry.get("index", 0))
            affinities = [int(a) for a in entry.get("threads") or []] or [-1]
            for device in (d for d in usable if d.device_index == index):
                default = default_thread(device)
                for affinity in affinities:
                    plans.append(
                        ThreadConfig(
                            device=device.key,
                            intensity=int(entry.get("intensity") or default.intensity),
                            worksize=int(entry.get("worksize") or default.worksize),
                            bfactor=int(entry.get("bfactor") or 0),
                            threads=list(affinities),
                            affinity=affinity,
                        )
                    )
        return plans
    plans = []
    for device in usable:
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

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self.section = ctx.config.opencl
        self.cpu_backend = cpu_runs(ctx.config)  # CPU devices are then left to it
        self.platforms: list[PlatformInfo] = []  # the selected ones
        self.devices: list[DeviceInfo] = []  # the devices of the selected platforms
        self.plan: list[ThreadConfig] = []

    def availability(self) -> str | None:
        ok, reason = opencl_status()
        if not ok:
            return reason
        try:
            import numpy  # noqa: F401
        except ImportError as exc:
            return f"numpy unavailable: {exc}"
        try:
            self.platforms = select_platforms(self.section.platform, list_platforms())
        except ValueError as exc:
            return str(exc)
        chosen = {p.index for p in self.platforms}
        self.devices = [d for d in list_devices() if d.platform_index in chosen]
        try:
            self.plan = plan_threads(self.section, self.devices, self.cpu_backend)
        except (TypeError, ValueError) as exc:
            return f"bad opencl thread settings ({exc})"
        if not self.plan:
            return self._why_no_threads()
        return None

    def _why_no_threads(self) -> str:
        if self.section.threads_profile() == []:
            return "no OpenCL threads: the opencl section's RandomX profile is false or empty"
        if self.cpu_backend and any(d.is_cpu for d in self.devices):
            return (
                "no OpenCL device selected (CPU devices are left to the CPU backend: "
                "--no-cpu, or naming them in --opencl-devices, uses them)"
            )
        return "no OpenCL device selected"

    def make_workers(self) -> list[Worker]:
        if not self.plan:
            self.availability()
        by_key = {d.key: d for d in self.devices}
        new_counter = self.ctx.state.new_counter
        return [
            OpenCLWorker(
                self,
                ThreadInfo(
                    i, new_counter(), t.affinity, t.intensity, self._details(t),
                    by_key[t.device].to_json() if t.device in by_key else {},
                ),
                t,
            )
            for i, t in enumerate(self.plan)
        ]  # fmt: skip

    @staticmethod
    def _details(t: ThreadConfig) -> dict[str, object]:
        """A thread's /2/backends keys, in XMRig's order (then hashrate, then the device's).
        No GCN assembly and no host-side dataset here: gcn_asm and dataset_host are false."""
        return {
            "index": t.index, "intensity": t.intensity, "worksize": t.worksize,
            "threads": list(t.threads), "bfactor": t.bfactor, "gcn_asm": False,
            "dataset_host": False, "affinity": t.affinity,
        }  # fmt: skip

    def platform(self) -> PlatformInfo | None:
        """The platform in use: the first thread's (the first selected without threads)."""
        if self.plan:
            first = self.plan[0].device.split(":")[0]
            for p in self.platforms:
                if str(p.index) == first:
                    return p
        return self.platforms[0] if self.platforms else None

    def describe(self) -> list[str]:
        by_key = {d.key: d for d in self.devices}
        lines = []
        for t in self.plan:
            dev = by_key.get(t.device)
            name = f"{dev.name} on {dev.platform}" if dev else "?"
            lines.append(
                f"#{t.device} {name} intensity {t.intensity} worksize {t.worksize} "
                f"bfactor {t.bfactor} affinity {t.affinity} "
                f"mode {'fast' if self.ctx.rx.fast else 'light'}"
            )
        return lines

    def api_fields(self) -> dict[str, object]:
        platform = self.platform()
        return {"platform": platform.to_json() if platform else None}

    def absent_fields(self) -> dict[str, object]:
        """XMRig shows the platform it selected even when no device is used (null: none)."""
        return self.api_fields()


def create_backend(ctx: BackendContext) -> OpenCLBackend:
    """Factory used by the miner's backend registry."""
    return OpenCLBackend(ctx)
