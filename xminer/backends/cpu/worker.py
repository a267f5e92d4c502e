"""A CPU worker thread: one RandomX VM over the shared cache or dataset, hashing through the
C batch loop (Scanner)."""

from __future__ import annotations

import logging
import os

from xminer.backends.base import Backend, Worker
from xminer.job import Job
from xminer.randomx.binding import VM
from xminer.randomx.scan import ChainState, Interrupt, Scanner, ScanResult
from xminer.state import ThreadInfo

log = logging.getLogger("xminer.cpu")

# XMRig's --cpu-priority 0..5 mapped to nice values (2 = normal)
PRIORITY_NICE = {0: 19, 1: 5, 2: 0, 3: -5, 4: -10, 5: -15}


class CpuWorker(Worker):
    def __init__(self, backend: Backend, info: ThreadInfo, priority: int | None) -> None:
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
