"""Typed configurations for tests that build a Miner, an API or a pool client directly."""

from __future__ import annotations

from typing import Any

from xminer.config.model import Config, Pool
from xminer.config.sizes import size_name


def miner_config(
    threads: int = 1,
    mode: str = "light",
    *,
    opencl: dict[str, Any] | None = None,
    cuda: dict[str, Any] | None = None,
    huge_pages: bool = False,
    print_time: int = 0,
    health_print_time: int = 60,
    bench_size: int = 0,
    seed_ahead: bool | None = None,
) -> Config:
    """``threads`` unpinned CPU threads (0: the CPU backend off), RandomX ``mode``; the opencl
    and cuda sections as given (``{"enabled": True, ...}``)."""
    body: dict[str, Any] = {
        "randomx": {"mode": mode},
        "cpu": {"enabled": threads > 0, "huge-pages": huge_pages, "rx": [-1] * threads},
        "print-time": print_time,
        "health-print-time": health_print_time,
    }
    if seed_ahead is not None:
        body["randomx"]["seed-ahead"] = seed_ahead
    if opencl is not None:
        body["opencl"] = opencl
    if cuda is not None:
        body["cuda"] = cuda
    if bench_size:
        body["benchmark"] = {"size": size_name(bench_size), "algo": "rx/0"}
    return Config.from_json(body)


def pool_entry(url: str, **fields: Any) -> Pool:
    """A ``pools[]`` entry (user "x" unless given), as the model would parse it."""
    fields.setdefault("user", "x")
    return Pool(url=url, **fields)


def gpu_only(name: str = "opencl", **section_wide: Any) -> Config:
    """The ``name`` backend on, the CPU backend off (so OpenCL takes PoCL's CPU device too);
    ``section_wide``: the older section-wide thread keys (intensity, worksize, bfactor,
    threads, blocks), which no config file carries but the planners still read."""
    config = Config.from_json({"cpu": {"enabled": False}, name: {"enabled": True}})
    getattr(config, name).extra.update(section_wide)
    return config
