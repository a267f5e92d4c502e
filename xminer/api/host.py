"""What the API serves: a running miner, its controls and (when there is one) the config
manager.  ``xminer.app.App`` is the host of a miner run from the command line; ``MinerHost``
serves a bare miner (tools, tests): its controls, no configuration to change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from xminer.miner import Miner


class ConfigManagerLike(Protocol):
    def to_json(self) -> dict[str, Any]: ...
    def replace(self, body: dict[str, Any]) -> object: ...


class ApiHost(Protocol):
    @property
    def miner(self) -> Miner: ...
    @property
    def config_manager(self) -> ConfigManagerLike | None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def stop(self) -> None: ...


class MinerControls:
    """Pause, resume and stop, forwarded to ``self.miner``: the controls every host has (the
    API's JSON-RPC, the console keys and the battery watch act through them)."""

    miner: Miner

    def pause(self) -> None:
        self.miner.pause()

    def resume(self) -> None:
        self.miner.resume()

    def stop(self) -> None:
        self.miner.stop_mining()


@dataclass
class MinerHost(MinerControls):
    """A bare miner as the API's host: pause, resume and stop; GET /2/config shows the config
    it runs with and PUT answers 501."""

    miner: Miner
    config_manager: ConfigManagerLike | None = None
