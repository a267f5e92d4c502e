"""OpenCL platforms and devices: enumeration, listings and the platform choice (pyopencl is
imported only when they are listed)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PLATFORM = "AMD"  # XMRig's default "platform"; matching nothing, xminer takes them all


def select_platforms(choice: object, platforms: list[OclPlatform]) -> list[OclPlatform]:
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


def default_pocl_cache() -> str:
    return os.environ.get("XMINER_POCL_CACHE") or str(Path.home() / ".cache" / "xminer" / "pocl")


def _import_cl() -> Any:
    """pyopencl, with PoCL's kernel cache pointed at a persistent dir (set before first use)."""
    os.environ.setdefault("POCL_CACHE_DIR", default_pocl_cache())
    import pyopencl as cl

    return cl


@dataclass(frozen=True)
class OclPlatform:
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
class OclDevice:
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


def list_platforms() -> list[OclPlatform]:
    """Every OpenCL platform, in the ICD loader's order; empty when OpenCL is unavailable."""
    try:
        cl = _import_cl()
        platforms = cl.get_platforms()
    except Exception:  # no pyopencl, no ICD loader, no platform
        return []
    out = []
    for i, p in enumerate(platforms):
        out.append(
            OclPlatform(
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


def list_devices() -> list[OclDevice]:
    """Every device of every platform; empty when OpenCL is unavailable."""
    ok, _ = opencl_status()
    if not ok:
        return []
    cl = _import_cl()
    found = []
    for pi, platform in enumerate(cl.get_platforms()):
        for di, dev in enumerate(platform.get_devices()):
            found.append(
                OclDevice(
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
