"""GET and PUT on /1/config and /2/config, over the config manager when the host has one.

The manager (``ApiHost.config_manager``) offers ``to_json() -> dict`` and ``replace(body)``, which
validates the whole body (raising ``ConfigError``), then saves atomically and applies live.
Without one GET shows the typed config the miner runs with, and PUT applies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xminer import jsonsafe
from xminer.backends.cpu.threads import config_algo, cpu_threads
from xminer.config.model import Api, Config, Http
from xminer.config.profiles import family, profile_key
from xminer.cpuinfo import CpuInfo

if TYPE_CHECKING:
    from xminer.api.host import ApiHost
    from xminer.miner import Miner


@dataclass
class PutOutcome:
    status: int  # 204 applied, 400 refused, 501 no config manager
    error: str | None = None  # the reason, for a 400


def current(host: ApiHost, http: Http, api: Api) -> dict[str, Any]:
    cfg = host.config_manager
    if cfg is not None:
        return cfg.to_json()
    return fallback(host.miner, http, api)


def fallback(miner: Miner, http: Http, api: Api) -> dict[str, Any]:
    """Without a manager: the config the miner runs with, the API's own sections in it."""
    doc = shown_json(miner.config)
    doc["api"], doc["http"] = api.to_json(), http.to_json()
    return doc


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


def parse_body(body: bytes) -> dict[str, Any] | str:
    """The body as a non-empty object, or the reason it is unusable."""
    try:
        doc = jsonsafe.loads(body)
    except jsonsafe.JsonError as exc:  # not UTF-8, malformed, nested too deep
        return f"body: {exc}"
    if not isinstance(doc, dict) or not doc:
        return "BAD_REQUEST"
    return doc


def put(host: ApiHost, body: bytes) -> PutOutcome:
    """Validate the whole body first; change nothing unless it is good."""
    doc = parse_body(body)
    if isinstance(doc, str):
        return PutOutcome(400, doc)
    cfg = host.config_manager
    if cfg is None:
        return PutOutcome(501, "NOT_IMPLEMENTED")
    try:
        cfg.replace(doc)  # validates the whole document before it changes anything
    except ValueError as exc:  # ConfigError is one
        return PutOutcome(400, str(exc) or "BAD_REQUEST")
    return PutOutcome(204)
