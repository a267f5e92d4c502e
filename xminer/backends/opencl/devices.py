"""OpenCL platform/device enumeration and per-device thread settings (no hard dependency)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRATCHPAD_BYTES = 2 * 1024 * 1024


def default_pocl_cache() -> str:
    return os.environ.get("XMINER_POCL_CACHE") or str(Path.home() / ".cache" / "xminer" / "pocl")


def _import_cl() -> Any:
    """pyopencl, with PoCL's kernel cache pointed at a persistent dir (set before first use)."""
    os.environ.setdefault("POCL_CACHE_DIR", default_pocl_cache())
    import pyopencl as cl

    return cl


@dataclass(frozen=True)
class DeviceInfo:
    """One OpenCL device, addressed by platform and device index."""

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

    @property
    def key(self) -> str:
        return f"{self.platform_index}:{self.device_index}"

    def describe(self) -> str:
        return (
            f"#{self.key} {self.name} ({self.type}, {self.vendor}) on {self.platform}: "
            f"{self.compute_units} CU, {self.global_mem >> 20} MiB, "
            f"max alloc {self.max_alloc >> 20} MiB, {self.opencl_c}"
        )


@dataclass
class ThreadConfig:
    """A mining thread on a device: hashes per launch, work-group size, and XMRig's RandomX
    ``bfactor`` (each program in 2**bfactor launches; the host clamps it to 0..MAX_BFACTOR)."""

    device: str  # DeviceInfo.key
    intensity: int
    worksize: int = 1
    bfactor: int = 0

    def memory_bytes(self) -> int:
        return self.intensity * (SCRATCHPAD_BYTES + 8192)


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
                    type=cl.device_type.to_string(dev.type),
                    compute_units=int(dev.max_compute_units),
                    global_mem=int(dev.global_mem_size),
                    max_alloc=int(dev.max_mem_alloc_size),
                    opencl_c=dev.opencl_c_version.strip(),
                )
            )
    return found


def device_listing() -> str:
    """Human-readable listing of OpenCL devices (or why there are none)."""
    ok, reason = opencl_status()
    if not ok:
        return f"OpenCL: {reason}"
    return "\n".join(d.describe() for d in list_devices())


def default_thread(device: DeviceInfo) -> ThreadConfig:
    """A conservative thread entry: a few hashes per compute unit (many on GPUs), within a
    quarter of the device memory and one max-size allocation for the scratchpads."""
    per_hash = SCRATCHPAD_BYTES + 8192
    by_memory = max(1, min(device.global_mem // 4, device.max_alloc) // per_hash)
    by_units = max(1, device.compute_units * (4 if "CPU" in device.type else 8))
    return ThreadConfig(device=device.key, intensity=int(min(by_memory, by_units)), worksize=1)
