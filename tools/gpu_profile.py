#!/usr/bin/env python3
"""Warp-step profile of the RandomX executors over real programs (no GPU needed).

Programs: AesGenerator4R of random 64-byte seeds, generated and compiled to micro-ops by the
compile kernel (``rx_compile_program``) on the OpenCL device (PoCL here), in work-groups of 32
(an NVIDIA warp) and 64 (an AMD wavefront) lanes; the stream is read back as the executor
reads it.  For each warp of consecutive hashes, every step of one program pass is scored:

* old (switch) executor (vm_switch.cl): each lane at instruction s (256 steps, NOPs
  included); code paths = the distinct decoded operations of the lanes, an FP operation
  counted once per rounding mode in use (its per-mode branch); memory waits = the distinct
  operations with a load (each ``case`` issues its own);
* new (grouped) executor (randomx.cl): each lane at micro-op s (steps = the warp's longest
  stream); code paths = the distinct groups of the lanes (``if (group == ...)`` blocks); memory
  waits = 1 when any lane loads (one hoisted load a step).

Rounding modes: a lane starts a program in a random mode (what the previous program's
CFROUNDs left) and each CFROUND picks a random one (it rotates random register bits).
Taken CBRANCHes (1 in 256) are not followed.

    python3 tools/gpu_profile.py --programs 1536
    python3 tools/gpu_profile.py --check   # exit 1 above 8 paths or 1 wait a 32-lane step
    python3 tools/gpu_profile.py --ptxas   # + nvcc -Xptxas -v of every entry point
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xminer.randomx.opcodes import OPCODE_NAMES

PROGRAM_SIZE = 256
UOP_MAX = 256
CODE_WORDS = 2 * UOP_MAX
STATE_WORDS = 48
STATE_UOPS = 10
PROGRAM_WORDS = 16 + PROGRAM_SIZE
FROM_SEED = 0

#: the targets of issue 13 for a 32-lane warp step of the new executor
MAX_PATHS, MAX_WAITS = 8.0, 1.0

# micro-op groups and fields (kernels/uops.cl)
GROUPS = ("INT", "FP", "STORE", "MULH", "FDIV", "SWAP", "CFROUND")
RF_R, RF_F, RF_E, RF_A, RF_ZERO = 0, 8, 16, 24, 32

LOADS = {"IADD_M", "ISUB_M", "IMUL_M", "IMULH_M", "ISMULH_M", "IXOR_M", "FADD_M", "FSUB_M",
         "FDIV_M"}  # fmt: skip
ROUNDED = {"FADD_R", "FADD_M", "FSUB_R", "FSUB_M", "FMUL_R", "FDIV_M", "FSQRT_R"}


@dataclass(frozen=True)
class Uop:
    """One micro-op's fields (kernels/uops.cl's control word) and its immediate."""

    group: int
    op: int
    dst: int
    src: int
    adr: int
    mem: int
    shift: int
    neg: bool
    immop: bool
    addimm: bool
    branch: bool
    cbit: int
    target: int
    imm: int

    @classmethod
    def decode(cls, ctrl: int, imm: int) -> Uop:
        return cls(
            group=ctrl & 7, op=(ctrl >> 3) & 7, dst=(ctrl >> 6) & 63, src=(ctrl >> 12) & 63,
            adr=(ctrl >> 18) & 63, mem=(ctrl >> 24) & 3, shift=(ctrl >> 26) & 3,
            neg=bool(ctrl >> 28 & 1), immop=bool(ctrl >> 29 & 1), addimm=bool(ctrl >> 30 & 1),
            branch=bool(ctrl >> 31 & 1), cbit=(ctrl >> 32) & 31, target=(ctrl >> 37) & 255,
            imm=imm,
        )  # fmt: skip

    @property
    def loads(self) -> bool:
        return self.mem != 0 and GROUPS[self.group] != "STORE"


@dataclass
class Compiled:
    """A hash's generated program (config + instructions, bytes) and its micro-ops."""

    program: bytes
    uops: list[Uop]


def read_streams(code: Any, counts: list[int], lanes: int) -> list[list[Uop]]:
    """The micro-ops of hashes 0..len(counts)-1 from the interleaved code buffer (u64)."""
    total = len(counts)
    streams = []
    for i, n in enumerate(counts):
        first = i - i % lanes
        stride = 2 * min(lanes, total - first)  # words from one micro-op to the next
        base = first * CODE_WORDS + 2 * (i - first)
        at = [base + j * stride for j in range(n)]
        streams.append([Uop.decode(int(code[w]), int(code[w + 1])) for w in at])
    return streams


def compile_programs(seeds: list[bytes], lanes: int, device: Any = None) -> list[Compiled]:
    """Generate and compile the programs of 64-byte seeds with rx_compile_program in
    work-groups of `lanes` on the OpenCL device; the streams as the executor reads them."""
    import numpy as np
    import pyopencl as cl

    from xminer.backends.opencl.randomx import compiled_kernels, launch

    ck = compiled_kernels(device)
    n = len(seeds)
    state = np.zeros((n, STATE_WORDS), np.uint64)
    state[:, :8] = np.frombuffer(b"".join(seeds), np.uint64).reshape(n, 8)
    mf = cl.mem_flags
    state_buf = cl.Buffer(ck.context, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=state)
    programs_buf = cl.Buffer(ck.context, mf.READ_WRITE, n * PROGRAM_WORDS * 8)
    code_buf = cl.Buffer(ck.context, mf.READ_WRITE, n * CODE_WORDS * 8)
    with ck.lock:
        launch(ck, "rx_compile_program", n, lanes, state_buf, programs_buf, code_buf,
               np.uint32(FROM_SEED))  # fmt: skip
        programs = np.empty(n * PROGRAM_WORDS, np.uint64)
        code = np.empty(n * CODE_WORDS, np.uint64)
        cl.enqueue_copy(ck.queue, programs, programs_buf)
        cl.enqueue_copy(ck.queue, code, code_buf)
        cl.enqueue_copy(ck.queue, state, state_buf)
    for buf in (state_buf, programs_buf, code_buf):
        buf.release()
    counts = [int(c) for c in state[:, STATE_UOPS]]
    streams = read_streams(code, counts, lanes)
    raw = programs.tobytes()
    size = PROGRAM_WORDS * 8
    return [Compiled(raw[i * size : (i + 1) * size], streams[i]) for i in range(n)]


def instruction_words(program: bytes) -> list[int]:
    return [int.from_bytes(program[128 + 8 * i : 136 + 8 * i], "little") for i in range(256)]


def switch_operation(word: int) -> str:
    """The first kernels' decoded operation of an instruction word (vm_switch.cl)."""
    name = OPCODE_NAMES[word & 0xFF]
    dst, src, imm = (word >> 8) & 7, (word >> 16) & 7, word >> 32
    same = src == dst
    if name == "ISUB_R" and same:
        return "IADD_I"
    if name == "IMUL_R" and same:
        return "IMUL_I"
    if name == "IMUL_RCP":
        return "IMUL_I" if imm and imm & (imm - 1) else "NOP"
    if name in ("IXOR_R", "IROR_R", "IROL_R") and same:
        return name[:-1] + "I"
    if name == "ISWAP_R" and same:
        return "NOP"
    return name


@dataclass
class StepStats:
    """Sums over warp steps: code paths, memory waits, steps; and the warps."""

    paths: int = 0
    waits: int = 0
    steps: int = 0
    warps: int = 0

    def row(self, executor: str, lanes: int) -> str:
        steps = max(self.steps, 1)
        return (
            f"| {executor} | {lanes} | {self.paths / steps:.2f} | {self.waits / steps:.2f} |"
            f" {self.steps / max(self.warps, 1):.1f} |"
        )


def profile_switch(programs: list[bytes], lanes: int, rng: random.Random) -> StepStats:
    stats = StepStats()
    for at in range(0, len(programs) - lanes + 1, lanes):
        ops = [
            [switch_operation(w) for w in instruction_words(p)] for p in programs[at : at + lanes]
        ]
        modes = [rng.randrange(4) for _ in range(lanes)]
        for s in range(PROGRAM_SIZE):
            paths, waits = set(), set()
            for lane in range(lanes):
                op = ops[lane][s]
                paths.add((op, modes[lane]) if op in ROUNDED else (op, 0))
                if op in LOADS:
                    waits.add(op)
                if op == "CFROUND":
                    modes[lane] = rng.randrange(4)
            stats.paths += len(paths)
            stats.waits += len(waits)
            stats.steps += 1
        stats.warps += 1
    return stats


def profile_grouped(streams: list[list[Uop]], lanes: int) -> StepStats:
    stats = StepStats()
    for at in range(0, len(streams) - lanes + 1, lanes):
        warp = streams[at : at + lanes]
        for s in range(max(len(u) for u in warp)):
            step = [u[s] for u in warp if s < len(u)]
            stats.paths += len({u.group for u in step})
            stats.waits += int(any(u.loads for u in step))
            stats.steps += 1
        stats.warps += 1
    return stats


def profile(count: int, seed: int) -> dict[tuple[str, int], StepStats]:
    """Old and new executor's figures for 32 and 64 lanes over count programs."""
    rng = random.Random(seed)
    seeds = [rng.randbytes(64) for _ in range(count)]
    out = {}
    for lanes in (32, 64):
        compiled = compile_programs(seeds, lanes)
        out["switch", lanes] = profile_switch([c.program for c in compiled], lanes, rng)
        out["grouped", lanes] = profile_grouped([c.uops for c in compiled], lanes)
    return out


def table(figures: dict[tuple[str, int], StepStats]) -> str:
    lines = [
        "| executor | lanes | code paths / step | memory waits / step | steps / program pass |",
        "|---|---|---|---|---|",
    ]
    for (executor, lanes), stats in sorted(
        figures.items(), key=lambda kv: (kv[0][1], kv[0][0] != "switch")
    ):
        lines.append(stats.row(executor, lanes))
    return "\n".join(lines)


def ptxas_table() -> str:
    """Registers / stack bytes / shared bytes of every entry point on sm_75, sm_80, sm_90."""
    from xminer.backends.cuda.compile import CUDA_ARCHS, ptxas_usage

    usage = {arch: ptxas_usage(arch) for arch in CUDA_ARCHS}
    lines = [
        "| entry point | " + " | ".join(CUDA_ARCHS) + " |",
        "|---" * (len(CUDA_ARCHS) + 1) + "|",
    ]
    for name in usage[CUDA_ARCHS[0]]:
        cells = []
        for arch in CUDA_ARCHS:
            u = usage[arch][name]
            cells.append(f"{u.registers} / {u.stack} / {u.shared}")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n(registers / stack bytes / shared bytes)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=1536, help="at least 1000")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--ptxas", action="store_true", help="also nvcc -Xptxas -v's table")
    args = parser.parse_args()
    if args.programs < 1000:
        parser.error("--programs: at least 1000")
    from xminer.backends.opencl import opencl_status

    ok, reason = opencl_status()
    if not ok:
        print(f"OpenCL unavailable: {reason}")
        return 1
    figures = profile(args.programs, args.seed)
    print(f"{args.programs} programs (seed {args.seed})")
    print(table(figures))
    new = figures["grouped", 32]
    steps = max(new.steps, 1)
    met = new.paths / steps <= MAX_PATHS and new.waits / steps <= MAX_WAITS
    print(f"targets (32 lanes: <= {MAX_PATHS:g} paths, <= {MAX_WAITS:g} wait a step):",
          "met" if met else "MISSED")  # fmt: skip
    if args.ptxas:
        print(ptxas_table())
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
