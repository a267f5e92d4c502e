"""Work from pools (Monero stratum, TCP or TLS) and from monerod (solo), with failover.

The one entry point: ``create_work_source(pools, retries, retry_pause)`` gives a ``WorkSource``
for ``Miner`` from the config's typed ``Pool`` entries; ``Pool.check`` raises ``ValueError``
with one line (``pools[0].url: "x": missing port``) for the command line to print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from xminer.config.model import Pool
from xminer.net.client import ClientOptions, PoolClient
from xminer.net.daemon import DaemonConnection, block_found
from xminer.net.stratum import StratumConnection
from xminer.net.upstream import UpstreamError, user_agent

__all__ = [
    "ClientOptions",
    "DaemonConnection",
    "PoolClient",
    "StratumConnection",
    "UpstreamError",
    "block_found",
    "create_work_source",
    "user_agent",
    "validate_pools",
]


def validate_pools(pools: Sequence[Pool]) -> list[Pool]:
    """Every pool checked (``ValueError`` naming ``pools[i].key``); at least one enabled."""
    for i, pool in enumerate(pools):
        pool.check(f"pools[{i}]")
    if not any(p.enabled for p in pools):
        raise ValueError("pools: no enabled pool (give -o URL or a pools[] entry)")
    return list(pools)


def create_work_source(
    pools: Sequence[Pool],
    retries: int = 5,
    retry_pause: float = 5.0,
    *,
    keepalive: bool | float | None = None,
    connect_timeout: float = 10.0,
    response_timeout: float = 20.0,
) -> PoolClient:
    """The work source for ``Miner``: validated pools in order, XMRig's failover.

    ``keepalive`` (``--keepalive``), when given, applies to every pool that does not set its own.
    ``retry_pause`` below 1 s is for tests (the config allows 1..3600); a pool that leaves a
    request unanswered for ``response_timeout`` s is dropped.
    """
    if retries < 1:
        raise ValueError(f'retries: "{retries}": must be 1 or more')
    if not 0 < retry_pause <= 3600:
        raise ValueError(f'retry-pause: "{retry_pause}": must be 1..3600 seconds')
    checked = validate_pools(pools)
    if keepalive:
        checked = [p if p.keepalive else replace(p, keepalive=keepalive) for p in checked]
    options = ClientOptions(retries, retry_pause, connect_timeout, response_timeout)
    return PoolClient(checked, options)
