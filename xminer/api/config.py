"""GET and PUT on /1/config and /2/config, over the config manager when the miner has one.

The manager (``miner.config``) offers ``to_json() -> dict`` and ``replace(body)``, which
validates the whole body (raising ``ConfigError``), then saves atomically and applies live.
Without one GET shows what the miner and the API were started with, and PUT applies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from xminer import jsonsafe
from xminer.api.settings import ApiSettings
from xminer.bench import size_name

if TYPE_CHECKING:
    from xminer.miner import Miner


class ConfigManagerLike(Protocol):
    def to_json(self) -> dict[str, Any]: ...
    def replace(self, body: dict[str, Any]) -> object: ...


@dataclass
class PutOutcome:
    status: int  # 204 applied, 400 refused, 501 no config manager
    error: str | None = None  # the reason, for a 400


def manager(miner: Miner) -> ConfigManagerLike | None:
    return getattr(miner, "config", None)


def current(miner: Miner, api: ApiSettings) -> dict[str, Any]:
    cfg = manager(miner)
    if cfg is not None:
        return cfg.to_json()
    return fallback(miner, api)


def fallback(miner: Miner, api: ApiSettings) -> dict[str, Any]:
    """The config the miner runs with, in XMRig's key order, from MinerSettings."""
    s = miner.settings
    doc: dict[str, Any] = {
        "api": api.api_section(),
        "http": api.http_section(),
        "randomx": {"init": s.randomx_init, "mode": s.randomx_mode},
        "cpu": {
            "enabled": s.cpu_enabled,
            "huge-pages": s.huge_pages,
            "priority": s.cpu_priority,
            "rx": [t.affinity for t in s.cpu_threads],
        },
        "opencl": {"enabled": s.opencl_enabled},
        "cuda": {"enabled": s.cuda_enabled},
    }
    if s.bench_size:
        doc["benchmark"] = {"size": size_name(s.bench_size), "algo": "rx/0"}
    doc["print-time"] = s.print_time
    return doc


def parse_body(body: bytes) -> dict[str, Any] | str:
    """The body as a non-empty object, or the reason it is unusable."""
    try:
        doc = jsonsafe.loads(body)
    except jsonsafe.JsonError as exc:  # not UTF-8, malformed, nested too deep
        return f"body: {exc}"
    if not isinstance(doc, dict) or not doc:
        return "BAD_REQUEST"
    return doc


def put(miner: Miner, body: bytes) -> PutOutcome:
    """Validate the whole body first; change nothing unless it is good."""
    doc = parse_body(body)
    if isinstance(doc, str):
        return PutOutcome(400, doc)
    cfg = manager(miner)
    if cfg is None:
        return PutOutcome(501, "NOT_IMPLEMENTED")
    try:
        cfg.replace(doc)  # validates the whole document before it changes anything
    except ValueError as exc:  # ConfigError is one
        return PutOutcome(400, str(exc) or "BAD_REQUEST")
    return PutOutcome(204)
