"""How many CPU threads to hash on, and where: XMRig's rule for RandomX, and the config's."""

from __future__ import annotations

from xminer.config.model import Config
from xminer.config.profiles import CpuThread, affinity_list
from xminer.cpuinfo import CpuInfo, cpu_info
from xminer.randomx.constants import SCRATCHPAD_SIZE

DEFAULT_ALGO = "rx/0"
COIN_ALGOS = {"monero": "rx/0", "xmr": "rx/0", "wownero": "rx/wow", "arqma": "rx/arq"}


def auto_thread_count(info: CpuInfo, max_threads_hint: int = 100) -> int:
    """L3 / 2 MiB, at most the logical CPUs, scaled by --cpu-max-threads-hint (percent)."""
    by_cache = info.l3 // SCRATCHPAD_SIZE if info.l3 else info.threads  # a scratchpad a thread
    count = max(1, min(by_cache, info.threads))
    if max_threads_hint < 100:
        count = max(1, min(count, info.threads * max_threads_hint // 100))
    return count


def plan_threads(
    info: CpuInfo,
    threads: int | None = None,
    max_threads_hint: int = 100,
    affinity_mask: int | None = None,
) -> list[CpuThread]:
    count = threads if threads and threads > 0 else auto_thread_count(info, max_threads_hint)
    return [CpuThread(a) for a in affinity_list(affinity_mask, count, info.threads)]


def config_algo(config: Config) -> str:
    """The algorithm to plan threads for: the benchmark's, the first enabled pool's, or rx/0."""
    if config.benchmark is not None:
        return config.benchmark.algo
    for pool in config.pools:
        if pool.enabled:
            if pool.algo:
                return pool.algo
            if pool.coin:
                return COIN_ALGOS.get(pool.coin.lower(), DEFAULT_ALGO)
            break
    return DEFAULT_ALGO


def cpu_threads(config: Config, info: CpuInfo | None = None) -> tuple[list[CpuThread], bool]:
    """The CPU threads for the config's algorithm and whether they were generated (no profile).

    A profile of ``false`` gives no threads.
    """
    info = info or cpu_info()
    cpu = config.cpu
    hint = cpu.max_threads_hint or 100
    profile = cpu.override or cpu.profile(config_algo(config))
    if profile is None:
        return plan_threads(info, None, hint), True
    return profile.resolve(info.threads, auto_thread_count(info, hint)), False


def cpu_runs(config: Config, info: CpuInfo | None = None) -> bool:
    """Whether the CPU backend hashes: enabled, with threads for the algorithm."""
    return config.cpu.enabled and bool(cpu_threads(config, info)[0])


__all__ = [
    "CpuThread",
    "auto_thread_count",
    "config_algo",
    "cpu_runs",
    "cpu_threads",
    "plan_threads",
]
