"""The compile kernel (rx_compile_program) and the grouped executor: the micro-op stream means
what the generated program means (decoded back, against a reading of the spec written here);
its layout across work-group lanes; the warp-step targets of tools/gpu_profile.py; synthetic
worst-case programs run by the device against the Python VM (tests/rxref.run_program)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests import rxref
from tools import gpu_profile as gp

pytestmark = pytest.mark.opencl

M64 = (1 << 64) - 1
MASKS = {1: "L1", 2: "L2", 3: "L3"}
INT_LOADS = {"IADD_M": "add", "ISUB_M": "sub", "IMUL_M": "mul", "IMULH_M": "mulh",
             "ISMULH_M": "smulh", "IXOR_M": "xor"}  # fmt: skip


def _sext(x: int) -> int:
    return (x - (1 << 32) if x >> 31 else x) & M64


def _reciprocal(divisor: int) -> int:
    return (1 << (63 + divisor.bit_length())) // divisor


def spec_meaning(words: list[int]) -> list[tuple[Any, ...]]:
    """What each instruction does (spec 5), NOPs left out; CBRANCH targets as positions in
    that list.  Operands: ("reg", r), ("imm", value), ("mem", mask, base r or None, imm)."""
    out: list[tuple[Any, ...]] = []
    usage = [-1] * 8
    for word in words:
        name = rxref.OPCODE_NAMES[word & 0xFF]
        dst, src, mod, imm32 = (word >> 8) & 7, (word >> 16) & 7, (word >> 24) & 0xFF, word >> 32
        simm = _sext(imm32)
        level = "L1" if mod & 3 else "L2"
        mem = ("mem", "L3", None, simm) if src == dst else ("mem", level, src, simm)
        fmem = ("mem", level, src, simm)
        reg_or_imm = ("imm", simm) if src == dst else ("reg", src)
        n = len(out)
        writes = True
        if name == "IADD_RS":
            item: tuple[Any, ...] = ("add", dst, ("reg", src), (mod >> 2) & 3, simm * (dst == 5))
        elif name in INT_LOADS:
            item = (INT_LOADS[name], dst, mem)
        elif name in ("ISUB_R", "IMUL_R", "IXOR_R"):
            item = ({"ISUB_R": "sub", "IMUL_R": "mul", "IXOR_R": "xor"}[name], dst, reg_or_imm)
        elif name in ("IMULH_R", "ISMULH_R"):
            item = ("mulh" if name == "IMULH_R" else "smulh", dst, ("reg", src))
        elif name == "IMUL_RCP":
            if imm32 == 0 or imm32 & (imm32 - 1) == 0:
                continue
            item = ("mul", dst, ("imm", _reciprocal(imm32)))
        elif name == "INEG_R":
            item = ("mul", dst, ("imm", M64))
        elif name in ("IROR_R", "IROL_R"):
            amount = ("imm", imm32 & 63) if src == dst else ("reg", src)
            item = ("ror" if name == "IROR_R" else "rol", dst, amount)
        elif name == "ISWAP_R":
            if src == dst:
                continue
            item = ("swap", f"r{dst}", f"r{src}")
            usage[src] = n
        elif name == "FSWAP_R":
            half = f"f{dst}" if dst < 4 else f"e{dst - 4}"
            item, writes = ("swap", half + "lo", half + "hi"), False
        elif name in ("FADD_R", "FSUB_R", "FMUL_R"):
            reg = "e" if name == "FMUL_R" else "f"
            item, writes = (name[:4].lower(), f"{reg}{dst & 3}", ("a", src & 3)), False
        elif name in ("FADD_M", "FSUB_M", "FDIV_M"):
            reg = "e" if name == "FDIV_M" else "f"
            item, writes = (name[:4].lower(), f"{reg}{dst & 3}", fmem), False
        elif name in ("FSCAL_R", "FSQRT_R"):
            reg = "e" if name == "FSQRT_R" else "f"
            item, writes = (name[:5].lower(), f"{reg}{dst & 3}"), False
        elif name == "CBRANCH":
            b = (mod >> 4) + 8
            cimm = (simm | (1 << b)) & ~(1 << (b - 1)) & M64
            item, writes = ("cbranch", dst, cimm, b, usage[dst] + 1), False
            usage = [n] * 8
        elif name == "CFROUND":
            item, writes = ("cfround", src, imm32 & 63), False
        else:  # ISTORE
            level = "L3" if (mod >> 4) >= 14 else level
            item, writes = ("store", ("mem", level, dst, simm), src), False
        if writes:
            usage[dst] = n
        out.append(item)
    return out


def _slot(k: int) -> str:
    if k < 8:
        return f"r{k}"
    reg = "fea"[(k - 8) // 8]
    return f"{reg}{(k % 8) // 2}{'hi' if k % 2 else 'lo'}"


def _pair(k: int) -> str:
    """An FP micro-op's register: its low half's slot (the high half is the next)."""
    name = _slot(k)
    assert name.endswith("lo") and _slot(k + 1) == name[:2] + "hi"
    return name[:2]


def uop_meaning(u: gp.Uop) -> tuple[Any, ...]:
    """What a micro-op does, in spec_meaning's terms (the executor's reading of its fields)."""
    group = gp.GROUPS[u.group]

    def operand(base_ok: bool = True) -> tuple[Any, ...]:
        if u.mem:
            base = None if u.adr == gp.RF_ZERO else u.adr - gp.RF_R
            assert base_ok or base is not None
            return ("mem", MASKS[u.mem], base, u.imm)
        return ("imm", u.imm) if u.immop else ("reg", u.src - gp.RF_R)

    if group == "INT":
        if u.branch:
            return ("cbranch", u.dst, u.imm, u.cbit, u.target)
        name = ["add", "mul", "xor", "ror"][u.op]
        if name == "add" and not u.mem and not u.immop and not u.neg:
            return ("add", u.dst, ("reg", u.src), u.shift, u.imm if u.addimm else 0)
        if u.neg:
            name = {"add": "sub", "ror": "rol"}[name]
        value = operand()
        if name in ("ror", "rol") and value[0] == "imm":
            value = ("imm", value[1] & 63)
        return (name, u.dst, value)
    if group == "MULH":
        return (["mulh", "smulh"][u.op], u.dst, operand())
    if group == "SWAP":
        return ("swap", _slot(u.dst), _slot(u.src))
    if group == "FP":
        reg = _pair(u.dst)
        if u.op == 2:
            return ("fscal", reg)
        name = "fmul" if u.op == 1 else ("fsub" if u.neg else "fadd")
        src = operand() if u.mem else ("a", int(_pair(u.src)[1]))
        assert u.mem or _pair(u.src)[0] == "a"
        return (name, reg, src)
    if group == "FDIV":
        return ("fdiv", _pair(u.dst), operand()) if u.op == 0 else ("fsqr", _pair(u.dst))
    if group == "CFROUND":
        return ("cfround", u.src - gp.RF_R, u.imm)
    assert group == "STORE"
    return ("store", ("mem", MASKS[u.mem], u.adr - gp.RF_R, u.imm), u.src - gp.RF_R)


def _normalise(items: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    # the spec side names FSQRT "fsqrt"[:5] = "fsqrt"; the micro-op side "fsqr" (op 1 of FDIV)
    return [("fsqr", *item[1:]) if item[0] == "fsqrt" else item for item in items]


@pytest.mark.parametrize("lanes", [1, 8, 32, 64])
def test_stream_decodes_to_the_program(opencl_kernels: Any, lanes: int) -> None:
    """70 programs (a partial last group) in work-groups of `lanes`: every micro-op stream,
    read at the executor's interleaved addresses, means what its program means."""
    rng = random.Random(lanes)
    compiled = gp.compile_programs([rng.randbytes(64) for _ in range(70)], lanes)
    seen = set()
    for c in compiled:
        words = gp.instruction_words(c.program)
        got = [uop_meaning(u) for u in c.uops]
        assert got == _normalise(spec_meaning(words))
        seen.update(gp.GROUPS[u.group] for u in c.uops)
    assert seen == set(gp.GROUPS)


def test_programs_are_generated_from_the_seed(opencl_kernels: Any) -> None:
    seeds = [bytes(range(i, i + 64)) for i in range(3)]
    for seed, c in zip(seeds, gp.compile_programs(seeds, 2), strict=True):
        assert c.program == rxref.aes_gen4r(seed, gp.PROGRAM_WORDS // 8)[0]


def test_profile_meets_the_targets(opencl_kernels: Any) -> None:
    """tools/gpu_profile.py over 1024 real programs: the grouped executor within 8 code paths
    and 1 memory wait a 32-lane warp step, and fewer than the switch executor's."""
    figures = gp.profile(1024, seed=5)
    for lanes in (32, 64):
        new, old = figures["grouped", lanes], figures["switch", lanes]
        assert new.warps == 1024 // lanes and new.steps >= 256 * new.warps
        assert new.paths < old.paths and new.waits < old.waits
    new = figures["grouped", 32]
    assert new.paths / new.steps <= gp.MAX_PATHS
    assert new.waits / new.steps <= gp.MAX_WAITS


# -- synthetic worst-case programs ---------------------------------------------------------------
OPCODES: dict[str, list[int]] = {}
for _op, _name in enumerate(rxref.OPCODE_NAMES):
    OPCODES.setdefault(_name, []).append(_op)


def word(name: str, dst: int, src: int, mod: int, imm: int, rng: random.Random) -> int:
    return rng.choice(OPCODES[name]) | dst << 8 | src << 16 | mod << 24 | (imm & 0xFFFFFFFF) << 32


def _random_word(rng: random.Random) -> int:
    return rng.getrandbits(64)


def all_imul_rcp(rng: random.Random) -> list[int]:
    imms = [0, 1, 2, 3, 4, 5, 7, 1 << 31, 0xFFFFFFFF, 0x80000001]
    return [word("IMUL_RCP", rng.randrange(8), rng.randrange(8), rng.randrange(256),
                 rng.choice(imms) if rng.random() < 0.4 else rng.getrandbits(32), rng)
            for _ in range(256)]  # fmt: skip


def all_cbranch(rng: random.Random) -> list[int]:
    return [word("CBRANCH", rng.randrange(8), rng.randrange(8), rng.randrange(256),
                 rng.getrandbits(32), rng) for _ in range(256)]  # fmt: skip


def store_then_load(rng: random.Random) -> list[int]:
    """ISTORE [rA + imm] then a load of the same address in the next step (L1, L2; and L3
    stores followed by [imm] loads of another register pair)."""
    out: list[int] = []
    loads = ["IADD_M", "ISUB_M", "IMUL_M", "IXOR_M", "IMULH_M", "ISMULH_M", "FADD_M", "FSUB_M",
             "FDIV_M"]  # fmt: skip
    while len(out) < 256:
        base, value, dst = rng.sample(range(8), 3)
        level_bits = rng.choice([1, 2, 3, 0])  # mod & 3: 0 is L2, else L1
        imm = rng.getrandbits(32)
        out.append(word("ISTORE", base, value, level_bits | rng.randrange(14) << 4, imm, rng))
        out.append(word(rng.choice(loads), dst, base, level_bits, imm, rng))
        if rng.random() < 0.3:  # keep the registers moving
            out.append(word("IADD_RS", rng.randrange(8), rng.randrange(8), rng.randrange(256),
                            rng.getrandbits(32), rng))  # fmt: skip
    return out[:256]


def branch_to_nops(rng: random.Random) -> list[int]:
    """A register written, then NOPs (IMUL_RCP by a power of two, ISWAP with itself), then a
    CBRANCH on it: the jump lands where NOPs were dropped."""
    out: list[int] = []
    while len(out) < 256:
        reg = rng.randrange(8)
        out.append(word("IADD_RS", reg, rng.randrange(8), rng.randrange(256), rng.getrandbits(32),
                        rng))  # fmt: skip
        for _ in range(rng.randrange(1, 4)):
            if rng.random() < 0.5:
                out.append(word("IMUL_RCP", rng.randrange(8), 0, 0, 1 << rng.randrange(32), rng))
            else:
                r = rng.randrange(8)
                out.append(word("ISWAP_R", r, r, 0, 0, rng))
        out.append(word("FMUL_R", rng.randrange(8), rng.randrange(8), 0, 0, rng))
        out.append(word("CBRANCH", reg, 0, rng.randrange(256), rng.getrandbits(32), rng))
    return out[:256]


def rounding_switched(rng: random.Random) -> list[int]:
    """CFROUND every other instruction, between FP operations of every kind."""
    fp = ["FADD_R", "FADD_M", "FSUB_R", "FSUB_M", "FMUL_R", "FDIV_M", "FSQRT_R", "FSCAL_R"]
    out: list[int] = []
    while len(out) < 256:
        out.append(word("CFROUND", 0, rng.randrange(8), 0, rng.getrandbits(32), rng))
        out.append(word(rng.choice(fp), rng.randrange(8), rng.randrange(8), rng.randrange(256),
                        rng.getrandbits(32), rng))  # fmt: skip
        if rng.random() < 0.5:
            out.append(word("IMUL_R", rng.randrange(8), rng.randrange(8), 0, rng.getrandbits(32),
                            rng))  # fmt: skip
    return out[:256]


def random_program(rng: random.Random) -> list[int]:
    return [_random_word(rng) for _ in range(256)]


SYNTHETIC: dict[str, Callable[[random.Random], list[int]]] = {
    "all-imul-rcp": all_imul_rcp,
    "all-cbranch": all_cbranch,
    "store-then-load": store_then_load,
    "branch-to-nops": branch_to_nops,
    "rounding-switched": rounding_switched,
    "random-1": random_program,
    "random-2": random_program,
    "all-cbranch-2": all_cbranch,
}


def _read(ck: Any, buf: Any, size: int, offset: int = 0) -> bytes:
    import pyopencl as cl

    out = np.empty(size, np.uint8)
    cl.enqueue_copy(ck.queue, out, buf, src_offset=offset)
    return out.tobytes()


def test_synthetic_programs_match_python_vm() -> None:
    """Eight worst-case programs, one a lane of one 8-lane work-group, fed straight to the
    compile and execute kernels: registers, fprc and scratchpads against the Python VM."""
    import pyopencl as cl

    from xminer.backends.gpu import layout as gc
    from xminer.backends.opencl import opencl_status
    from xminer.backends.opencl import randomx as ocl
    from xminer.randomx.constants import SCRATCHPAD_SIZE

    ok, reason = opencl_status()
    if not ok:
        pytest.skip(reason)
    key, lanes = b"synthetic key", len(SYNTHETIC)
    rng = random.Random(13)
    programs = b"".join(
        rng.randbytes(128) + b"".join(w.to_bytes(8, "little") for w in make(rng))
        for make in SYNTHETIC.values()
    )
    rx = ocl.OpenCLRandomX(mode="light", intensity=lanes, worksize=lanes)
    try:
        rx.set_key(key)
        ck = rx.ck
        flags = cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR
        data = b"".join(bytes([i]) * 9 for i in range(lanes))
        meta = [x for i in range(lanes) for x in (9 * i, 9)]
        inputs = cl.Buffer(ck.context, flags, hostbuf=np.frombuffer(data, np.uint8))
        meta_buf = cl.Buffer(ck.context, flags, hostbuf=np.array(meta, np.uint32))
        zero = np.uint32(0)
        ocl.launch(ck, "rx_init", lanes, lanes, inputs, meta_buf, np.uint32(1), zero, zero,
                   rx._state)  # fmt: skip
        ocl.launch(ck, "rx_fill_scratchpad", lanes, lanes, rx._state, rx._scratchpads)
        pads = [bytearray(_read(ck, rx._scratchpads, SCRATCHPAD_SIZE, i * gc.SCRATCHPAD_STRIDE))
                for i in range(lanes)]  # fmt: skip
        cl.enqueue_copy(ck.queue, rx._programs, np.frombuffer(programs, np.uint8))
        ocl.launch(ck, "rx_compile_program", lanes, lanes, rx._state, rx._programs, rx._code,
                   np.uint32(gc.FROM_PROGRAM))  # fmt: skip
        chunks = [rx._chunks[0], rx._dummy, rx._dummy, rx._dummy]
        ocl.launch(
            ck, "rx_run_program", lanes, lanes, rx._state, rx._scratchpads, rx._programs,
            rx._code, *chunks, rx._ss_programs, np.uint32(1), np.uint32(1),
        )  # fmt: skip
        state = _read(ck, rx._state, lanes * gc.STATE_WORDS * 8)
        device_pads = [_read(ck, rx._scratchpads, SCRATCHPAD_SIZE, i * gc.SCRATCHPAD_STRIDE)
                       for i in range(lanes)]  # fmt: skip
    finally:
        rx.close()

    size = gp.PROGRAM_WORDS * 8
    with rxref.library_items(key) as item:
        for i, name in enumerate(SYNTHETIC):
            regs, fprc = rxref.run_program(programs[i * size : (i + 1) * size], pads[i], 0, item)
            st = state[i * gc.STATE_WORDS * 8 : (i + 1) * gc.STATE_WORDS * 8]
            assert st[16 * 8 : 48 * 8] == regs, name
            assert int.from_bytes(st[64:72], "little") == fprc, name
            assert device_pads[i] == bytes(pads[i]), name


def test_register_slots_agree_with_the_kernels() -> None:
    """The hosts size the executor's work-group memory with REGISTER_SLOTS (RF_SLOTS)."""
    import re

    from xminer.backends.gpu.kernel_source import kernel_dir
    from xminer.backends.gpu.layout import REGISTER_SLOTS

    text = (kernel_dir() / "uops.cl").read_text()
    slots = {name: int(value) for name, value in re.findall(r"#define (RF_\w+) (\d+)", text)}
    assert slots["RF_SLOTS"] == REGISTER_SLOTS == slots["RF_ITEM"] + 8
    assert (slots["RF_R"], slots["RF_F"], slots["RF_E"], slots["RF_A"], slots["RF_ZERO"]) == (
        gp.RF_R, gp.RF_F, gp.RF_E, gp.RF_A, gp.RF_ZERO,
    )  # fmt: skip
