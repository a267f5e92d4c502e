"""How many CPU threads to hash on, and where: XMRig's rule for RandomX."""

from __future__ import annotations

from dataclasses import dataclass

from xminer.cpuinfo import CpuInfo
from xminer.randomx.constants import SCRATCHPAD_SIZE


@dataclass(frozen=True)
class CpuThread:
    affinity: int = -1  # logical CPU to pin to, -1 for none
    intensity: int = 1


def auto_thread_count(info: CpuInfo, max_threads_hint: int = 100) -> int:
    """L3 / 2 MiB, at most the logical CPUs, scaled by --cpu-max-threads-hint (percent)."""
    by_cache = info.l3 // SCRATCHPAD_SIZE if info.l3 else info.threads  # a scratchpad a thread
    count = max(1, min(by_cache, info.threads))
    if max_threads_hint < 100:
        count = max(1, min(count, info.threads * max_threads_hint // 100))
    return count


def affinity_list(mask: int | None, count: int, cpus: int) -> list[int]:
    """Logical CPUs for ``count`` threads: from an XMRig affinity mask, or one per CPU in order."""
    if mask is None or mask < 0:
        return [i % cpus for i in range(count)] if count <= cpus else [-1] * count
    chosen = [i for i in range(cpus) if mask >> i & 1]
    if not chosen:
        return [-1] * count
    return [chosen[i % len(chosen)] for i in range(count)]


def plan_threads(
    info: CpuInfo,
    threads: int | None = None,
    max_threads_hint: int = 100,
    affinity_mask: int | None = None,
) -> list[CpuThread]:
    count = threads if threads and threads > 0 else auto_thread_count(info, max_threads_hint)
    return [CpuThread(a) for a in affinity_list(affinity_mask, count, info.threads)]
