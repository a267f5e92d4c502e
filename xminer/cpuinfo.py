"""What the CPU is: brand, family/model/stepping, caches, cores, flags (Linux /proc and /sys)."""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SYS_CPU = Path("/sys/devices/system/cpu")


@dataclass(frozen=True)
class CpuInfo:
    brand: str
    family: int
    model: int
    stepping: int
    flags: frozenset[str] = field(default_factory=frozenset)
    l2: int = 0  # bytes, all cores together
    l3: int = 0  # bytes, all packages together
    cores: int = 1
    threads: int = 1
    packages: int = 1
    nodes: int = 1
    arch: str = ""

    @property
    def aes(self) -> bool:
        return "aes" in self.flags

    @property
    def avx2(self) -> bool:
        return "avx2" in self.flags

    @property
    def vendor_asm(self) -> str:
        brand = self.brand.lower()
        return "ryzen" if "amd" in brand else "intel" if "intel" in brand else "none"


def _cpuinfo_fields() -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return fields
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _size(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1024, "M": 1024**2, "G": 1024**3}
    if text and text[-1] in mult:
        return int(text[:-1]) * mult[text[-1]]
    return int(text or 0)


def _caches() -> tuple[int, int]:
    """Sum L2 and L3 over distinct cache instances (by shared CPU list)."""
    seen: dict[int, set[str]] = {2: set(), 3: set()}
    totals = {2: 0, 3: 0}
    for cache in SYS_CPU.glob("cpu[0-9]*/cache/index[0-9]*"):
        try:
            level = int((cache / "level").read_text())
            if level not in totals:
                continue
            shared = (cache / "shared_cpu_list").read_text().strip()
            if shared in seen[level]:
                continue
            seen[level].add(shared)
            totals[level] += _size((cache / "size").read_text())
        except (OSError, ValueError):
            continue
    return totals[2], totals[3]


def _count_ids(pattern: str) -> int:
    ids = set()
    for path in SYS_CPU.glob(pattern):
        try:
            ids.add(path.read_text().strip())
        except OSError:
            continue
    return len(ids) or 1


@functools.cache
def cpu_info() -> CpuInfo:
    fields = _cpuinfo_fields()
    l2, l3 = _caches()
    nodes = len(list(Path("/sys/devices/system/node").glob("node[0-9]*"))) or 1
    return CpuInfo(
        brand=fields.get("model name", platform.processor() or "unknown"),
        family=int(fields.get("cpu family", "0") or 0),
        model=int(fields.get("model", "0") or 0),
        stepping=int(fields.get("stepping", "0") or 0),
        flags=frozenset(fields.get("flags", "").split()),
        l2=l2,
        l3=l3,
        cores=psutil.cpu_count(logical=False) or 1,
        threads=os.cpu_count() or 1,
        packages=_count_ids("cpu[0-9]*/topology/physical_package_id"),
        nodes=nodes,
        arch=platform.machine(),
    )
