"""What the console acts on: the miner (its state, for the reports) and its pause and resume.
The App gives them; the console never imports the miner's module at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from xminer.miner import Miner


class Controls(Protocol):
    @property
    def miner(self) -> Miner: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
