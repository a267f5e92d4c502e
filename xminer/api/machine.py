"""What the summary says about the machine: CPU, memory, load, instance id, user agent.

Static facts are computed once (``MachineInfo``); ``resources()`` is read on every request.
"""

from __future__ import annotations

import math
import os
import platform
import socket
import sys
from dataclasses import dataclass
from typing import Any

import psutil
import tornado

from xminer.api.keccak import keccak256
from xminer.cpuinfo import CpuInfo, cpu_info
from xminer.version import APP_NAME, __version__

APP_KIND = b"miner"
# XMRig's flag names, and what Linux calls them in /proc/cpuinfo
CPU_FLAGS = {
    "aes": "aes",
    "vaes": "vaes",
    "avx": "avx",
    "avx2": "avx2",
    "avx512f": "avx512f",
    "bmi2": "bmi2",
    "osxsave": "osxsave",
    "pdpe1gb": "pdpe1gb",
    "sse2": "sse2",
    "ssse3": "ssse3",
    "sse4.1": "sse4_1",
    "xop": "xop",
    "popcnt": "popcnt",
    "cat_l3": "cat_l3",
    "vm": "hypervisor",
}


def floor2(value: float | None) -> float | None:
    """XMRig floors rates and loads to 2 decimals; NaN and None become null."""
    if value is None or not math.isfinite(value):
        return None
    return math.floor(value * 100) / 100


def proc_info(info: CpuInfo) -> int:
    """CPUID(1).EAX rebuilt from family/model/stepping."""
    base_family = min(info.family, 15)
    ext_family = info.family - 15 if info.family >= 15 else 0
    eax = info.stepping & 0xF | (info.model & 0xF) << 4 | base_family << 8
    if info.family in (6, 15) or info.family > 15:
        eax |= (info.model >> 4) << 16
    return eax | ext_family << 20


def msr_preset(info: CpuInfo) -> str:
    brand = info.brand.lower()
    if "intel" in brand:
        return "intel"
    if "amd" not in brand:
        return "none"
    if info.family == 0x17:
        return "ryzen_17h"
    if info.family == 0x19:
        return "ryzen_19h_zen4" if 0x60 <= info.model <= 0x7F or info.model >= 0xA0 else "ryzen_19h"
    return "ryzen_1Ah_zen5" if info.family == 0x1A else "none"


def cpu_flags(flags: frozenset[str]) -> list[str]:
    """XMRig's flag list; Linux hides OSXSAVE, which the kernel sets whenever it uses XSAVE."""
    have = set(flags)
    if "xsave" in have:
        have.add("osxsave")
    return [name for name, linux in CPU_FLAGS.items() if linux in have]


def cpu_object(info: CpuInfo) -> dict[str, Any]:
    x64 = info.arch in ("x86_64", "aarch64")
    return {
        "brand": info.brand,
        "family": info.family,
        "model": info.model,
        "stepping": info.stepping,
        "proc_info": proc_info(info),
        "aes": info.aes,
        "avx2": info.avx2,
        "x64": x64,
        "64_bit": x64,
        "l2": info.l2,
        "l3": info.l3,
        "cores": info.cores,
        "threads": info.threads,
        "packages": info.packages,
        "nodes": info.nodes,
        "backend": "basic",
        "msr": msr_preset(info),
        "assembly": info.vendor_asm,
        "arch": info.arch,
        "flags": cpu_flags(info.flags),
    }


def first_mac() -> bytes | None:
    """The MAC of the first interface that is up, not loopback, and has an IPv4 address."""
    stats = psutil.net_if_stats()
    for name, addrs in psutil.net_if_addrs().items():
        st = stats.get(name)
        if st is None or not st.isup or name == "lo":
            continue
        if not any(a.family == socket.AF_INET for a in addrs):
            continue
        for a in addrs:
            if a.family == psutil.AF_LINK and a.address:
                return bytes.fromhex(a.address.replace(":", "").replace("-", "")[:12])
        return bytes(6)
    return None


def instance_id(port: int, mac: bytes | None) -> str:
    """XMRig's id: the first 8 bytes of Keccak-256(port as uint16 LE, MAC, "miner")."""
    if mac is None:
        return ""
    data = (port & 0xFFFF).to_bytes(2, "little") + mac.ljust(6, b"\0") + APP_KIND
    return keccak256(data)[:8].hex()


def worker_id(configured: str | None) -> str:
    if configured:
        return os.path.expandvars(configured)
    return socket.gethostname()


def user_agent() -> str:
    py = ".".join(map(str, sys.version_info[:3]))
    return (
        f"{APP_NAME}/{__version__} ({platform.system()} {platform.machine()}) "
        f"tornado/{tornado.version} python/{py}"
    )


@dataclass(frozen=True)
class MachineInfo:
    cpu: dict[str, Any]
    ua: str
    mac: bytes | None

    @classmethod
    def probe(cls) -> MachineInfo:
        return cls(cpu_object(cpu_info()), user_agent(), first_mac())


_process = psutil.Process()


def resources() -> dict[str, Any]:
    mem = psutil.virtual_memory()
    load = os.getloadavg()
    return {
        "memory": {
            "free": mem.available,
            "total": mem.total,
            "resident_set_memory": _process.memory_info().rss,
        },
        "load_average": [floor2(v) for v in load],
        "hardware_concurrency": os.cpu_count() or 1,
    }
