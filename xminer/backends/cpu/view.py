"""How the CPU backend shows itself: its RandomX flags, huge pages and scratchpad memory."""

from __future__ import annotations

from typing import Any, ClassVar

from xminer.backends.view import BackendView, RoundRate
from xminer.randomx.constants import SCRATCHPAD_SIZE
from xminer.state import BackendStats, SharedState, ThreadInfo


class CpuView(BackendView):
    name: ClassVar[str] = "cpu"
    hashrate_unit: ClassVar[str] = "CPU #"
    absent_fields: ClassVar[dict[str, object]] = {
        "hw-aes": False, "priority": -1, "msr": False, "asm": False, "argon2-impl": "default",
    }  # fmt: skip

    @classmethod
    def extra_fields(
        cls, stats: BackendStats, state: SharedState, running: bool
    ) -> dict[str, object]:
        """Huge pages (allocated, needed) and the threads' scratchpads (0 when not hashing)."""
        memory = sum(t.intensity for t in stats.threads) * SCRATCHPAD_SIZE if running else 0
        return {"hugepages": list(state.dataset.huge_pages), "memory": memory}

    @classmethod
    def thread_entry(cls, thread: ThreadInfo, round_rate: RoundRate) -> dict[str, Any]:
        rates = [round_rate(r) for r in thread.counter.rates()]
        return {"intensity": thread.intensity, "affinity": thread.affinity, "av": 1,
                "hashrate": rates}  # fmt: skip
