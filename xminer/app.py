"""The running program around the miner: its work source from the config (more to come)."""

from __future__ import annotations

from xminer.bench import BenchmarkSource
from xminer.config.model import Config
from xminer.miner import WorkSource


def check_runnable(config: Config) -> None:
    """What the model alone cannot see (ValueError): the work source builds, every enabled
    pool's URL, wallet and options included (built and dropped; nothing connects)."""
    make_work_source(config)


def make_work_source(config: Config) -> WorkSource | None:
    """The benchmark in benchmark mode, else the stratum/daemon client for ``config.pools``."""
    if config.benchmark is not None and config.benchmark.size_hashes:
        return BenchmarkSource(config.benchmark.size_hashes)
    from xminer.net import create_work_source

    pools = [pool for pool in config.pools if pool.enabled]
    for i, pool in enumerate(config.pools):
        if pool.enabled:
            pool.check(f"pools[{i}]")  # named by their place in the config
    if not pools:
        return None
    return create_work_source(pools, config.retries, float(config.retry_pause))
