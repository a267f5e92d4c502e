"""The CPU backend: one RandomX VM per thread over the shared cache/dataset."""

from __future__ import annotations

from xminer.backends.base import Backend, BackendContext, Worker
from xminer.backends.cpu.threads import CpuThread, cpu_threads
from xminer.backends.cpu.worker import CpuWorker
from xminer.cpuinfo import cpu_info
from xminer.randomx import Flags, RandomXError
from xminer.randomx.binding import library
from xminer.randomx.constants import SCRATCHPAD_SIZE
from xminer.state import ThreadInfo


class CpuBackend(Backend):
    name = "cpu"

    def __init__(
        self, ctx: BackendContext, threads: list[CpuThread], priority: int | None = None
    ) -> None:
        super().__init__(ctx)
        self.plan = threads
        self.priority = priority

    def availability(self) -> str | None:
        try:
            library()
        except RandomXError as exc:
            return str(exc)
        return None

    def make_workers(self) -> list[Worker]:
        new_counter = self.ctx.state.new_counter
        return [
            CpuWorker(self, ThreadInfo(i, new_counter(), t.affinity, t.intensity), self.priority)
            for i, t in enumerate(self.plan)
        ]

    def needs_host_dataset(self) -> bool:
        """CPU VMs hash over the host's dataset in fast mode."""
        return bool(self.plan)

    def describe(self) -> list[str]:
        affinity = [t.affinity for t in self.plan]
        return [
            f"use profile rx ({len(self.plan)} threads) scratchpad {SCRATCHPAD_SIZE // 1024} KB, "
            f"affinity {affinity}, RandomX flags {flag_names(self.ctx.rx.flags)}"
        ]

    def api_fields(self) -> dict[str, object]:
        info = cpu_info()
        flags = self.ctx.rx.flags
        return {
            "hw-aes": bool(flags & Flags.HARD_AES),
            "priority": self.priority if self.priority is not None else -1,
            "msr": False,
            "asm": info.vendor_asm,
            "argon2-impl": argon2_impl(flags),
        }


def create_backend(ctx: BackendContext) -> CpuBackend:
    """The CPU backend for ``ctx.config.cpu``: its threads resolved for the algorithm."""
    threads, _ = cpu_threads(ctx.config)
    return CpuBackend(ctx, threads, ctx.config.cpu.priority)


def argon2_impl(flags: Flags) -> str:
    if flags & Flags.ARGON2_AVX2:
        return "AVX2"
    if flags & Flags.ARGON2_SSSE3:
        return "SSSE3"
    return "default"


def flag_names(flags: Flags) -> str:
    names = [f.name for f in Flags if f and f in flags and f.name]
    return " ".join(n.lower() for n in names if n != "ARGON2")
