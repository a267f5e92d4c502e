"""Work from pools (Monero stratum, TCP or TLS) and from monerod (solo), with failover.

The one entry point: ``create_work_source(pools, retries, retry_pause)`` gives a ``WorkSource``
for ``Miner``.  ``PoolSettings.validated()`` and ``parse_url`` raise ``ValueError`` with one line
(``pools[0].url: "x": missing port``) for the command line to print.
"""

from __future__ import annotations

from collections.abc import Sequence

from xminer.net.client import ClientOptions, PoolClient
from xminer.net.daemon import DaemonConnection, block_found
from xminer.net.settings import PoolSettings, PoolUrl, check_wallet, parse_url
from xminer.net.stratum import StratumConnection
from xminer.net.upstream import UpstreamError, user_agent

__all__ = [
    "ClientOptions",
    "DaemonConnection",
    "PoolClient",
    "PoolSettings",
    "PoolUrl",
    "StratumConnection",
    "UpstreamError",
    "block_found",
    "check_wallet",
    "create_work_source",
    "parse_url",
    "user_agent",
    "validate_pools",
]


def validate_pools(pools: Sequence[PoolSettings]) -> list[PoolSettings]:
    """Every pool checked (``ValueError`` naming ``pools[i].key``); at least one enabled."""
    checked = [p.validated(f"pools[{i}]") for i, p in enumerate(pools)]
    if not any(p.enabled for p in checked):
        raise ValueError("pools: no enabled pool (give -o URL or a pools[] entry)")
    return checked


def create_work_source(
    pools: Sequence[PoolSettings],
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
        from dataclasses import replace

        checked = [p if p.keepalive else replace(p, keepalive=keepalive) for p in checked]
    options = ClientOptions(retries, retry_pause, connect_timeout, response_timeout)
    return PoolClient(checked, options)
