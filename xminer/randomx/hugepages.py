"""Huge pages for the dataset, cache and scratchpads: check, reserve (as root), or explain."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

NR_HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")
MEMINFO = Path("/proc/meminfo")


@dataclass
class HugePagesReport:
    needed: int
    free_after: int
    reserved: int  # pages this process added to vm.nr_hugepages
    message: str


def _meminfo(key: str) -> int:
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def free_pages() -> int:
    return _meminfo("HugePages_Free")


def total_pages() -> int:
    return _meminfo("HugePages_Total")


def pages_needed(dataset: bool, threads: int) -> int:
    """The dataset (2080 MiB) when the host builds it (fast mode, read by a backend), the
    cache (256 MiB), and one 2 MiB scratchpad per thread."""
    return (1040 if dataset else 0) + 128 + threads


def ensure(needed: int) -> HugePagesReport:
    """Reserve huge pages as XMRig does when running as root; otherwise say how to."""
    free = free_pages()
    if free >= needed:
        return HugePagesReport(needed, free, 0, f"{free} huge pages free")
    missing = needed - free
    if os.geteuid() == 0 and os.access(NR_HUGEPAGES, os.W_OK):
        try:
            NR_HUGEPAGES.write_text(str(total_pages() + missing))
        except OSError as exc:
            return HugePagesReport(needed, free, 0, f"cannot reserve huge pages: {exc}")
        after = free_pages()
        got = after - free
        return HugePagesReport(needed, after, got, f"reserved {got} huge pages (vm.nr_hugepages)")
    hint = f"sudo sysctl -w vm.nr_hugepages={total_pages() + missing}"
    return HugePagesReport(needed, free, 0, f"huge pages unavailable; enable with: {hint}")
