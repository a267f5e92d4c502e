"""OpenCL platform/device enumeration and per-device thread settings (no hard dependency)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xminer.randomx.constants import SCRATCHPAD_SIZE


def default_pocl_cache() -> str:
    return os.environ.get("XMINER_POCL_CACHE") or str(Path.home() / ".cache" / "xminer" / "pocl")


def _import_cl() -> Any:
    """pyopencl, with PoCL's kernel cache pointed at a persistent dir (set before first use)."""
    os.environ.setdefault("POCL_CACHE_DIR", default_pocl_cache())
    import pyopencl as cl

    return cl


@dataclass(frozen=True)
class PlatformInfo:
    """One OpenCL platform, as XMRig shows it in the ``platform`` key of /2/backends."""

    index: int
    profile: str
    version: str
    name: str
    vendor: str
    extensions: str

    def matches(self, text: str) -> bool:
        """Whether ``text`` is part of the platform's vendor or name (case-insensitive)."""
        needle = text.strip().lower()
        return needle in self.vendor.lower() or needle in self.name.lower()

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index, "profile": self.profile, "version": self.version,
            "name": self.name, "vendor": self.vendor, "extensions": self.extensions,
        }  # fmt: skip


@dataclass(frozen=True)
class DeviceInfo:
    """One OpenCL device, addressed by platform and device index (within the platform)."""

    platform_index: int
    device_index: int
    platform: str
    name: str
    vendor: str
    type: str
    compute_units: int
    global_mem: int
    max_alloc: int
    opencl_c: str
    bus_id: str = "n/a"  # PCI "bb:dd.f" where the driver tells (AMD and NVIDIA extensions)
    board: str = ""  # AMD's board name; XMRig falls back to the device name

    @property
    def key(self) -> str:
        return f"{self.platform_index}:{self.device_index}"

    @property
    def is_cpu(self) -> bool:
        return "CPU" in self.type.split(" | ")

    def to_json(self) -> dict[str, object]:
        """The device's keys of a thread in /2/backends (after its hashrate), XMRig's order."""
        return {
            "board": self.board or self.name, "name": self.name, "bus_id": self.bus_id,
            "cu": self.compute_units, "global_mem": self.global_mem,
        }  # fmt: skip

    def describe(self) -> str:
        return (
            f"#{self.key} {self.name} ({self.type}, {self.vendor}) on {self.platform}: "
            f"{self.compute_units} CU, {self.global_mem >> 20} MiB, "
            f"max alloc {self.max_alloc >> 20} MiB, {self.opencl_c}"
        )


@dataclass
class ThreadConfig:
    """A mining thread on a device: hashes per launch, work-group size, and XMRig's RandomX
    ``bfactor`` (each program in 2**bfactor launches; the host clamps it to 0..MAX_BFACTOR).

    ``threads`` is the host-thread affinity list of the XMRig thread entry it comes from (each
    element starts one worker) and ``affinity`` this worker's element (-1: not pinned).
    """

    device: str  # DeviceInfo.key
    intensity: int
    worksize: int = 1
    bfactor: int = 0
    threads: list[int] = field(default_factory=lambda: [-1])
    affinity: int = -1

    @property
    def index(self) -> int:
        """The device's index within its platform (XMRig's thread ``index``)."""
        return int(self.device.split(":")[-1])

    def memory_bytes(self) -> int:
        return self.intensity * (SCRATCHPAD_SIZE + 8192)


def opencl_status() -> tuple[bool, str]:
    """(usable, reason): whether pyopencl imports and sees at least one device."""
    try:
        cl = _import_cl()
    except ImportError as exc:
        return False, f"pyopencl unavailable: {exc}"
    try:
        count = sum(len(p.get_devices()) for p in cl.get_platforms())
    except cl.Error as exc:
        return False, f"no OpenCL platform: {exc}"
    if count == 0:
        return False, "no OpenCL device"
    return True, f"{count} OpenCL device(s)"


def list_platforms() -> list[PlatformInfo]:
    """Every OpenCL platform, in the ICD loader's order; empty when OpenCL is unavailable."""
    try:
        cl = _import_cl()
        platforms = cl.get_platforms()
    except Exception:  # no pyopencl, no ICD loader, no platform
        return []
    out = []
    for i, p in enumerate(platforms):
        out.append(
            PlatformInfo(
                index=i, profile=p.profile.strip(), version=p.version.strip(),
                name=p.name.strip(), vendor=p.vendor.strip(), extensions=p.extensions.strip(),
            )
        )  # fmt: skip
    return out


def _type_name(cl: Any, value: int) -> str:
    """The type bits by name, "CPU" or "GPU" (pyopencl's to_string adds ALL: all bits set)."""
    names = [
        name for name in ("DEFAULT", "CPU", "GPU", "ACCELERATOR", "CUSTOM")
        if value & getattr(cl.device_type, name, 0)
    ]  # fmt: skip
    return " | ".join(names) or str(value)


def _bus_id(dev: Any) -> str:
    """PCI "bb:dd.f" from the AMD or NVIDIA extension, as XMRig reads it; "n/a" without."""
    with contextlib.suppress(Exception):
        topology = dev.topology_amd
        return f"{topology.bus:02x}:{topology.device:02x}.{topology.function:x}"
    with contextlib.suppress(Exception):
        bus, slot = int(dev.pci_bus_id_nv), int(dev.pci_slot_id_nv)
        return f"{bus:02x}:{slot >> 3:02x}.{slot & 7:x}"
    return "n/a"


def _board(dev: Any) -> str:
    with contextlib.suppress(Exception):
        return str(dev.board_name_amd).strip()
    return ""


def list_devices() -> list[DeviceInfo]:
    """Every device of every platform; empty when OpenCL is unavailable."""
    ok, _ = opencl_status()
    if not ok:
        return []
    cl = _import_cl()
    found = []
    for pi, platform in enumerate(cl.get_platforms()):
        for di, dev in enumerate(platform.get_devices()):
            found.append(
                DeviceInfo(
                    platform_index=pi,
                    device_index=di,
                    platform=platform.name.strip(),
                    name=dev.name.strip(),
                    vendor=dev.vendor.strip(),
                    type=_type_name(cl, int(dev.type)),
                    compute_units=int(dev.max_compute_units),
                    global_mem=int(dev.global_mem_size),
                    max_alloc=int(dev.max_mem_alloc_size),
                    opencl_c=dev.opencl_c_version.strip(),
                    bus_id=_bus_id(dev),
                    board=_board(dev),
                )
            )
    return found


def device_listing() -> str:
    """Human-readable listing of OpenCL devices (or why there are none)."""
    ok, reason = opencl_status()
    if not ok:
        return f"OpenCL: {reason}"
    return "\n".join(d.describe() for d in list_devices())


def platforms_listing() -> str:
    """``--print-platforms``: XMRig's listing of the OpenCL platforms, then (beyond XMRig's)
    each platform's devices, or why there is none."""
    platforms = list_platforms()
    lines = [f"{'Number of platforms:':<28}{len(platforms)}", ""]
    devices = list_devices()
    for p in platforms:
        for label, value in (
            ("Index:", p.index), ("Profile:", p.profile), ("Version:", p.version),
            ("Name:", p.name), ("Vendor:", p.vendor), ("Extensions:", p.extensions),
        ):  # fmt: skip
            lines.append(f"  {label:<26}{value}")
        for d in devices:
            if d.platform_index == p.index:
                lines.append(f"  {'Device:':<26}{d.describe()}")
        lines.append("")
    if not platforms:
        lines.append(opencl_status()[1])
    return "\n".join(lines).rstrip() + "\n"


def default_worksize(device: DeviceInfo) -> int:
    """Hashes a work-group: a warp on NVIDIA (32), a wavefront on AMD (64), 8 elsewhere (the
    micro-op streams and VM registers are laid out across a group's lanes)."""
    vendor = device.vendor.lower()
    if "nvidia" in vendor:
        return 32
    if "amd" in vendor or "advanced micro devices" in vendor:
        return 64 if not device.is_cpu else 8
    return 8


def default_thread(device: DeviceInfo) -> ThreadConfig:
    """A conservative thread entry: a few hashes per compute unit (many on GPUs), within a
    quarter of the device memory and one max-size allocation for the scratchpads; the
    vendor's work-group size."""
    per_hash = SCRATCHPAD_SIZE + 8192
    by_memory = max(1, min(device.global_mem // 4, device.max_alloc) // per_hash)
    by_units = max(1, device.compute_units * (4 if device.is_cpu else 8))
    return ThreadConfig(
        device=device.key, intensity=int(min(by_memory, by_units)),
        worksize=default_worksize(device),
    )  # fmt: skip
