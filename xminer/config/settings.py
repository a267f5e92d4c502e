"""From the config model to what the miner runs: MinerSettings, thread plans, the work source."""

from __future__ import annotations

import logging
from typing import Any

from xminer.backends.cpu.threads import CpuThread, auto_thread_count, plan_threads
from xminer.config.model import Config
from xminer.config.profiles import family, profile_key
from xminer.cpuinfo import CpuInfo, cpu_info
from xminer.miner import BenchmarkSource, MinerSettings, WorkSource

log = logging.getLogger("xminer.config")

DEFAULT_ALGO = "rx/0"
COIN_ALGOS = {"monero": "rx/0", "xmr": "rx/0", "wownero": "rx/wow", "arqma": "rx/arq"}


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


def shown_json(config: Config, info: CpuInfo | None = None) -> dict[str, Any]:
    """What ``GET /2/config`` shows: the document, with the threads of -t / --cpu-affinity
    written into the profile the algorithm uses (XMRig too shows its command-line threads as
    a profile), so that a document sent back (a dashboard's save) keeps them."""
    doc = config.to_json()
    if config.cpu.override is None:
        return doc
    threads, _ = cpu_threads(config, info)
    algo = config_algo(config)
    key = profile_key(config.cpu.profiles, algo) or family(algo)
    if config.cpu.max_threads_hint is None:
        doc["cpu"].pop("max-threads-hint", None)  # shown only while there is no profile
    doc["cpu"][key] = [
        t.affinity if t.intensity == 1 else [t.intensity, t.affinity] for t in threads
    ]
    return doc


def generated_profiles(config: Config, info: CpuInfo | None = None) -> Config | None:
    """A copy of ``config`` with the thread profile xminer generated (for autosave), or None.

    XMRig writes a generated RandomX profile as an array of affinities under the family name.
    """
    threads, generated = cpu_threads(config, info)
    if not generated:
        return None
    body = config.to_file_json()
    family = config_algo(config).split("/", 1)[0]
    body["cpu"].pop("max-threads-hint", None)
    body["cpu"][family] = [t.affinity for t in threads]
    if config.cpu.max_threads_hint not in (None, 100):
        body["cpu"]["max-threads-hint"] = config.cpu.max_threads_hint
    new = Config.from_json(body)
    new.has_pool_keys = config.has_pool_keys
    new.cpu.override = config.cpu.override
    return new


def settings_from_config(config: Config, info: CpuInfo | None = None) -> MinerSettings:
    threads, _ = cpu_threads(config, info)
    bench_size = config.benchmark.size_hashes if config.benchmark is not None else 0
    cpu_enabled = config.cpu.enabled and bool(threads)
    return MinerSettings(
        cpu_enabled=cpu_enabled,
        cpu_threads=threads,
        cpu_priority=config.cpu.priority,
        opencl_enabled=config.opencl.enabled,
        cuda_enabled=config.cuda.enabled,
        randomx_mode=config.randomx.mode,
        randomx_init=config.randomx.init,
        seed_ahead=config.randomx.seed_ahead is not False,
        huge_pages=bool(config.cpu.huge_pages),
        print_time=config.print_time,
        health_print_time=config.health_print_time,
        bench_size=bench_size,
        color=None if config.colors else False,
        backend_options={
            # "_cpu_backend": whether the CPU backend runs (OpenCL leaves CPU devices to it)
            "opencl": {
                **config.opencl.to_json(),
                "_cpu_backend": cpu_enabled,
            },
            "cuda": dict(config.cuda.to_json()),
        },
    )


def check_runnable(config: Config) -> None:
    """What the model alone cannot see (ValueError): the work source builds, every enabled
    pool's URL, wallet and options included (built and dropped; nothing connects)."""
    make_work_source(config)


def make_work_source(config: Config) -> WorkSource | None:
    """The benchmark in benchmark mode, else the stratum/daemon client for ``config.pools``."""
    if config.benchmark is not None and config.benchmark.size_hashes:
        return BenchmarkSource(config.benchmark.size_hashes)
    from xminer.net import create_work_source
    from xminer.net.settings import pool_from_config

    pools = [
        pool_from_config(pool.to_json(), f"pools[{i}]")
        for i, pool in enumerate(config.pools)
        if pool.to_json().get("enabled", True) is not False
    ]
    if not pools:
        return None
    return create_work_source(pools, config.retries, float(config.retry_pause))
