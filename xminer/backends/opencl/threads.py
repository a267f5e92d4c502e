"""The threads of the OpenCL backend: XMRig's thread entries, the default one of a device, and
the plan from the opencl section."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xminer.backends.gpu.plan import plan_threads as plan_from_profile
from xminer.backends.opencl.devices import OclDevice
from xminer.config.model import OpenCl
from xminer.randomx.constants import SCRATCHPAD_SIZE


@dataclass
class OclThread:
    """A mining thread on a device: hashes per launch, work-group size, and XMRig's RandomX
    ``bfactor`` (each program in 2**bfactor launches; the host clamps it to 0..MAX_BFACTOR).

    ``threads`` is the host-thread affinity list of the XMRig thread entry it comes from (each
    element starts one worker) and ``affinity`` this worker's element (-1: not pinned).
    """

    device: str  # OclDevice.key
    intensity: int
    worksize: int = 1
    bfactor: int = 0
    threads: list[int] = field(default_factory=lambda: [-1])
    affinity: int = -1

    @property
    def index(self) -> int:
        """The device's index within its platform (XMRig's thread ``index``)."""
        return int(self.device.split(":")[-1])

    @property
    def device_key(self) -> str:
        return self.device

    def api_fields(self) -> dict[str, object]:
        """Its /2/backends keys, in XMRig's order (then hashrate, then the device's).  No GCN
        assembly and no host-side dataset here: gcn_asm and dataset_host are false."""
        return {
            "index": self.index, "intensity": self.intensity, "worksize": self.worksize,
            "threads": list(self.threads), "bfactor": self.bfactor, "gcn_asm": False,
            "dataset_host": False, "affinity": self.affinity,
        }  # fmt: skip


def default_worksize(device: OclDevice) -> int:
    """Hashes a work-group: a warp on NVIDIA (32), a wavefront on AMD (64), 8 elsewhere (the
    micro-op streams and VM registers are laid out across a group's lanes)."""
    vendor = device.vendor.lower()
    if "nvidia" in vendor:
        return 32
    if "amd" in vendor or "advanced micro devices" in vendor:
        return 64 if not device.is_cpu else 8
    return 8


def default_thread(device: OclDevice) -> OclThread:
    """A conservative thread entry: a few hashes per compute unit (many on GPUs), within a
    quarter of the device memory and one max-size allocation for the scratchpads; the
    vendor's work-group size."""
    per_hash = SCRATCHPAD_SIZE + 8192
    by_memory = max(1, min(device.global_mem // 4, device.max_alloc) // per_hash)
    by_units = max(1, device.compute_units * (4 if device.is_cpu else 8))
    return OclThread(
        device=device.key, intensity=int(min(by_memory, by_units)),
        worksize=default_worksize(device),
    )  # fmt: skip


def _named(device: OclDevice, wanted: list[int | str] | None) -> bool:
    return wanted is not None and (device.device_index in wanted or device.key in wanted)


def usable_devices(
    section: OpenCl, devices: list[OclDevice], cpu_backend: bool = False
) -> list[OclDevice]:
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
    section: OpenCl, devices: list[OclDevice], cpu_backend: bool = False
) -> list[OclThread]:
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
        return [t if isinstance(t, OclThread) else OclThread(**t) for t in explicit]

    def with_options(device: OclDevice) -> OclThread:
        plan = default_thread(device)
        if options.get("intensity"):
            plan.intensity = int(options["intensity"])
        if options.get("worksize"):
            plan.worksize = int(options["worksize"])
        if options.get("bfactor"):
            plan.bfactor = int(options["bfactor"])
        return plan

    usable = usable_devices(section, devices, cpu_backend)
    return plan_from_profile(section.threads_profile(), usable, _from_entry, with_options)


def _from_entry(entry: dict[str, Any], usable: list[OclDevice]) -> list[OclThread]:
    """An XMRig thread entry: a thread an element of its ``threads`` (affinities) on the
    usable device of its ``index`` (within the platform)."""
    index = int(entry.get("index", 0))
    affinities = [int(a) for a in entry.get("threads") or []] or [-1]
    plans = []
    for device in (d for d in usable if d.device_index == index):
        default = default_thread(device)
        for affinity in affinities:
            plans.append(
                OclThread(
                    device=device.key,
                    intensity=int(entry.get("intensity") or default.intensity),
                    worksize=int(entry.get("worksize") or default.worksize),
                    bfactor=int(entry.get("bfactor") or 0),
                    threads=list(affinities),
                    affinity=affinity,
                )
            )
    return plans
