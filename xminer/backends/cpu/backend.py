"""The CPU backend: one RandomX VM per thread over the shared cache/dataset."""

from __future__ import annotations

import logging
import os

from xminer.backends.base import Backend, BackendContext, Worker
from xminer.backends.cpu.threads import CpuThread, cpu_threads
from xminer.cpuinfo import cpu_info
from xminer.job import Job
from xminer.randomx import Flags, RandomXError
from xminer.randomx.binding import VM, library
from xminer.randomx.scan import ChainState, Interrupt, Scanner, ScanResult
from xminer.state import ThreadInfo

log = logging.getLogger("xminer.cpu")

# XMRig's --cpu-priority 0..5 mapped to nice values (2 = normal)
PRIORITY_NICE = {0: 19, 1: 5, 2: 0, 3: -5, 4: -10, 5: -15}


class CpuWorker(Worker):
    def __init__(self, backend: CpuBackend, info: ThreadInfo, priority: int | None) -> None:
        super().__init__(backend, info)
        self.priority = priority
        self.vm: VM | None = None
        self.scanner: Scanner | None = None
        self.generation = -1
        self.chain = ChainState()
        self.blob_of: Job | None = None  # the job whose blob the scanner holds

    def setup(self) -> None:
        tid = self.thread.native_id or 0  # pinned to its CPU already (Worker._pin)
        if self.priority is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, tid, PRIORITY_NICE.get(self.priority, 0))
            except OSError as exc:
                log.debug("thread #%d: cannot set priority: %s", self.info.index, exc)

    def _scanner(self) -> Scanner:
        rx = self.backend.ctx.rx
        if self.vm is not None and not rx.vm_fits(self.vm):
            self.vm.destroy()  # a light-mode bridge began or ended: the other kind of VM
            self.vm = None
            self.blob_of = None
        if self.vm is None:
            self.vm = rx.create_vm()
            self.scanner = Scanner(self.vm, progress=self.counter.live)
            self.generation = rx.generation
        else:
            self.generation = rx.refresh_vm(self.vm, self.generation)
        assert self.scanner is not None
        return self.scanner

    def hash(self, job: Job, start: int, count: int, fresh_job: bool) -> ScanResult:
        scanner = self._scanner()
        if fresh_job or self.blob_of is not job:  # a new job, or a new VM (seed switch)
            scanner.set_blob(job.blob)
            self.blob_of = job
        if fresh_job:
            self.chain = ChainState()

        def piece(at: int, left: int, interrupt: Interrupt) -> ScanResult:
            if job.bench_chain:
                before = self.chain.total
                hashed = scanner.chained(at, left, self.chain, interrupt)
                return ScanResult(hashes=hashed, tail_xor=before ^ self.chain.total)
            return scanner.scan(at, left, job.target, interrupt, stop_at_share=True)

        return self.hash_pieces(job, start, count, piece)

    def teardown(self) -> None:
        if self.vm is not None:
            self.vm.destroy()
            self.vm = None
            self.blob_of = None


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

    def describe(self) -> list[str]:
        affinity = [t.affinity for t in self.plan]
        return [
            f"use profile rx ({len(self.plan)} threads) scratchpad 2048 KB, "
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
