"""SuperscalarHash (RandomX spec chapter 6): program generation and a reference executor.

The eight programs of a key are generated on the host from a BlakeGenerator seeded with the
key, by simulating the spec's reference CPU (decoder groups, 3 ALU ports, register latencies).
GPU kernels receive them in the flat form of :func:`pack_programs`.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from xminer.randomx.constants import CACHE_SIZE, DATASET_ITEM_SIZE

MASK64 = (1 << 64) - 1
SUPERSCALAR_LATENCY = 170
SUPERSCALAR_MAX_SIZE = 3 * SUPERSCALAR_LATENCY + 2
CACHE_ACCESSES = 8
CYCLE_MAP_SIZE = SUPERSCALAR_LATENCY + 4
LOOK_FORWARD_CYCLES = 4
MAX_THROWAWAY_COUNT = 256
REGISTER_NEEDS_DISPLACEMENT = 5

# Instruction types (numbering shared with the device kernel, kernels/superscalar.cl).
ISUB_R, IXOR_R, IADD_RS, IMUL_R, IROR_C = 0, 1, 2, 3, 4
IADD_C7, IXOR_C7, IADD_C8, IXOR_C8, IADD_C9, IXOR_C9 = 5, 6, 7, 8, 9, 10
IMULH_R, ISMULH_R, IMUL_RCP = 11, 12, 13
NOP = -1

# Execution ports (bit set) of micro-ops.
P0, P1, P5 = 1, 2, 4
P01, P05, P015 = P0 | P1, P0 | P5, P0 | P1 | P5


@dataclass(frozen=True)
class MacroOp:
    size: int
    latency: int = 0
    uop1: int = 0
    uop2: int = 0
    dependent: bool = False

    @property
    def eliminated(self) -> bool:
        return self.uop1 == 0

    @property
    def simple(self) -> bool:
        return self.uop2 == 0


SUB_RR = MacroOp(3, 1, P015)
XOR_RR = MacroOp(3, 1, P015)
IMUL_R_OP = MacroOp(3, 4, P1, P5)
MUL_R_OP = MacroOp(3, 4, P1, P5)
MOV_RR = MacroOp(3)
LEA_SIB = MacroOp(4, 1, P01)
IMUL_RR = MacroOp(4, 3, P1)
ROR_RI = MacroOp(4, 1, P05)
ADD_RI = MacroOp(7, 1, P015)
XOR_RI = MacroOp(7, 1, P015)
MOV_RI64 = MacroOp(10, 1, P015)


@dataclass(frozen=True)
class InstrInfo:
    """Macro-ops of one instruction type; which macro-op reads src, picks dst, writes the result."""

    type: int
    ops: tuple[MacroOp, ...]
    result_op: int = 0
    dst_op: int = 0
    src_op: int = 0


INFO = {
    ISUB_R: InstrInfo(ISUB_R, (SUB_RR,)),
    IXOR_R: InstrInfo(IXOR_R, (XOR_RR,)),
    IADD_RS: InstrInfo(IADD_RS, (LEA_SIB,)),
    IMUL_R: InstrInfo(IMUL_R, (IMUL_RR,)),
    IROR_C: InstrInfo(IROR_C, (ROR_RI,), src_op=-1),
    IADD_C7: InstrInfo(IADD_C7, (ADD_RI,), src_op=-1),
    IXOR_C7: InstrInfo(IXOR_C7, (XOR_RI,), src_op=-1),
    IADD_C8: InstrInfo(IADD_C8, (ADD_RI,), src_op=-1),
    IXOR_C8: InstrInfo(IXOR_C8, (XOR_RI,), src_op=-1),
    IADD_C9: InstrInfo(IADD_C9, (ADD_RI,), src_op=-1),
    IXOR_C9: InstrInfo(IXOR_C9, (XOR_RI,), src_op=-1),
    IMULH_R: InstrInfo(IMULH_R, (MOV_RR, MUL_R_OP, MOV_RR), 1, 0, 1),
    ISMULH_R: InstrInfo(ISMULH_R, (MOV_RR, IMUL_R_OP, MOV_RR), 1, 0, 1),
    IMUL_RCP: InstrInfo(IMUL_RCP, (MOV_RI64, MacroOp(4, 3, P1, dependent=True)), 1, 1, -1),
    NOP: InstrInfo(NOP, ()),
}

# Decoder groups (spec table 6.3.1), by index.
DECODE_GROUPS: tuple[tuple[int, ...], ...] = (
    (4, 8, 4),
    (7, 3, 3, 3),
    (3, 7, 3, 3),
    (4, 9, 3),
    (4, 4, 4, 4),
    (3, 3, 10),
)
SLOT_3 = (ISUB_R, IXOR_R)
SLOT_3L = (ISUB_R, IXOR_R, IMULH_R, ISMULH_R)
SLOT_4 = (IROR_C, IADD_RS)
SLOT_7 = (IXOR_C7, IADD_C7)
SLOT_8 = (IXOR_C8, IADD_C8)
SLOT_9 = (IXOR_C9, IADD_C9)
MULTIPLICATIONS = (IMUL_R, IMULH_R, ISMULH_R, IMUL_RCP)


class BlakeGenerator:
    """Spec 3.5: bytes from a 64-byte state that is re-hashed with Blake2b-512 when used up."""

    def __init__(self, seed: bytes, nonce: int = 0) -> None:
        data = bytearray(64)
        seed = seed[:60]
        data[: len(seed)] = seed
        struct.pack_into("<I", data, 60, nonce & 0xFFFFFFFF)
        self.data = bytes(data)
        self.index = 64

    def _need(self, count: int) -> None:
        if self.index + count > 64:
            self.data = hashlib.blake2b(self.data, digest_size=64).digest()
            self.index = 0

    def byte(self) -> int:
        self._need(1)
        value = self.data[self.index]
        self.index += 1
        return value

    def uint32(self) -> int:
        self._need(4)
        value = struct.unpack_from("<I", self.data, self.index)[0]
        self.index += 4
        return value


@dataclass
class Instruction:
    """One SuperscalarHash instruction: type, registers, mod byte and unsigned imm32."""

    type: int
    dst: int
    src: int
    mod: int = 0
    imm32: int = 0

    @property
    def shift(self) -> int:
        return (self.mod >> 2) & 3


@dataclass
class Program:
    instructions: list[Instruction] = field(default_factory=list)
    address_register: int = 0


@dataclass
class _Register:
    latency: int = 0
    last_group: int = -1
    last_par: int = -1


class _Candidate:
    """The instruction being built (spec 6.3.2 and 6.3.4)."""

    def __init__(self, info: InstrInfo) -> None:
        self.info = info
        self.src = -1
        self.dst = -1
        self.mod = 0
        self.imm32 = 0
        self.group = -1
        self.group_par = -1
        self.can_reuse = False
        self.group_par_is_source = False

    @classmethod
    def create(cls, kind: int, gen: BlakeGenerator) -> _Candidate:
        c = cls(INFO[kind])
        if kind in (ISUB_R, IXOR_R, IADD_RS, IMUL_R):
            c.group = IADD_RS if kind == ISUB_R else kind
            c.group_par_is_source = True
            if kind == IADD_RS:
                c.mod = gen.byte()
        elif kind == IROR_C:
            c.group = IROR_C
            while c.imm32 == 0:
                c.imm32 = gen.byte() & 63
        elif kind in (IADD_C7, IADD_C8, IADD_C9, IXOR_C7, IXOR_C8, IXOR_C9):
            c.group = IADD_C7 if kind in (IADD_C7, IADD_C8, IADD_C9) else IXOR_C7
            c.imm32 = gen.uint32()
        elif kind in (IMULH_R, ISMULH_R):
            c.can_reuse = True
            c.group = kind
            c.group_par = gen.uint32()
        elif kind == IMUL_RCP:
            c.group = IMUL_RCP
            c.imm32 = gen.uint32()
            while c.imm32 & (c.imm32 - 1) & 0xFFFFFFFF == 0:
                c.imm32 = gen.uint32()
        return c

    @classmethod
    def for_slot(
        cls, gen: BlakeGenerator, slot_size: int, group_index: int, is_last: bool
    ) -> _Candidate:
        if slot_size == 3:
            kind = SLOT_3L[gen.byte() & 3] if is_last else SLOT_3[gen.byte() & 1]
        elif slot_size == 4:
            kind = IMUL_R if group_index == 4 and not is_last else SLOT_4[gen.byte() & 1]
        elif slot_size == 7:
            kind = SLOT_7[gen.byte() & 1]
        elif slot_size == 8:
            kind = SLOT_8[gen.byte() & 1]
        elif slot_size == 9:
            kind = SLOT_9[gen.byte() & 1]
        else:
            kind = IMUL_RCP
        return cls.create(kind, gen)

    def select_source(self, cycle: int, regs: list[_Register], gen: BlakeGenerator) -> bool:
        available = [i for i in range(8) if regs[i].latency <= cycle]
        if (
            len(available) == 2
            and self.info.type == IADD_RS
            and REGISTER_NEEDS_DISPLACEMENT in available
        ):
            self.src = self.group_par = REGISTER_NEEDS_DISPLACEMENT
            return True
        if not available:
            return False
        self.src = available[gen.uint32() % len(available) if len(available) > 1 else 0]
        if self.group_par_is_source:
            self.group_par = self.src
        return True

    def select_destination(
        self, cycle: int, chained_mul: bool, regs: list[_Register], gen: BlakeGenerator
    ) -> bool:
        available = [
            i
            for i in range(8)
            if regs[i].latency <= cycle
            and (self.can_reuse or i != self.src)
            and (chained_mul or self.group != IMUL_R or regs[i].last_group != IMUL_R)
            and (regs[i].last_group != self.group or regs[i].last_par != self.group_par)
            and (self.info.type != IADD_RS or i != REGISTER_NEEDS_DISPLACEMENT)
        ]
        if not available:
            return False
        self.dst = available[gen.uint32() % len(available) if len(available) > 1 else 0]
        return True

    def to_instruction(self) -> Instruction:
        src = self.src if self.src >= 0 else self.dst
        return Instruction(self.info.type, self.dst, src, self.mod, self.imm32)


def _next_group(kind: int, decode_cycle: int, mul_count: int, gen: BlakeGenerator) -> int:
    """Spec 6.3.1: the next decoder group."""
    if kind in (IMULH_R, ISMULH_R):
        return 5
    if mul_count < decode_cycle + 1:
        return 4
    if kind == IMUL_RCP:
        return 0 if gen.byte() & 1 else 3
    return gen.byte() & 3


class _Ports:
    """Busy map of the 3 execution ports over the simulated cycles."""

    def __init__(self) -> None:
        self.busy = [[0, 0, 0] for _ in range(CYCLE_MAP_SIZE)]

    def uop(self, uop: int, cycle: int, commit: bool) -> int:
        busy = self.busy
        for c in range(cycle, CYCLE_MAP_SIZE):
            for bit, port in ((P5, 2), (P0, 0), (P1, 1)):
                if uop & bit and not busy[c][port]:
                    if commit:
                        busy[c][port] = uop
                    return c
        return -1

    def mop(self, mop: MacroOp, cycle: int, dep_cycle: int, commit: bool) -> int:
        if mop.dependent:
            cycle = max(cycle, dep_cycle)
        if mop.eliminated:
            return cycle
        if mop.simple:
            return self.uop(mop.uop1, cycle, commit)
        for c in range(cycle, CYCLE_MAP_SIZE):
            c1 = self.uop(mop.uop1, c, False)
            c2 = self.uop(mop.uop2, c, False)
            if c1 == c2:
                if commit:
                    self.uop(mop.uop1, c1, True)
                    self.uop(mop.uop2, c2, True)
                return c1
        return -1


def generate_program(gen: BlakeGenerator) -> Program:
    """Generate one SuperscalarHash program (spec 6.3) by simulating the reference CPU."""
    ports = _Ports()
    regs = [_Register() for _ in range(8)]
    current = _Candidate(INFO[NOP])
    group = -1
    program: list[Instruction] = []
    mop_index = cycle = dep_cycle = retire_cycle = mul_count = throwaway = 0
    saturated = False
    decode_cycle = 0
    while (
        decode_cycle < SUPERSCALAR_LATENCY and not saturated and len(program) < SUPERSCALAR_MAX_SIZE
    ):
        group = _next_group(current.info.type, decode_cycle, mul_count, gen)
        slots = DECODE_GROUPS[group]
        slot = 0
        while slot < len(slots):
            top_cycle = cycle
            if mop_index >= len(current.info.ops):
                if saturated:
                    break
                current = _Candidate.for_slot(gen, slots[slot], group, slot + 1 == len(slots))
                mop_index = 0
            mop = current.info.ops[mop_index]
            schedule = ports.mop(mop, cycle, dep_cycle, False)
            if schedule < 0:
                saturated = True
                break
            aborted = False
            for role in ("src", "dst"):
                if role == "src" and mop_index != current.info.src_op:
                    continue
                if role == "dst" and mop_index != current.info.dst_op:
                    continue
                forward = 0
                while forward < LOOK_FORWARD_CYCLES:
                    ok = (
                        current.select_source(schedule, regs, gen)
                        if role == "src"
                        else current.select_destination(schedule, throwaway > 0, regs, gen)
                    )
                    if ok:
                        break
                    schedule += 1
                    cycle += 1
                    forward += 1
                if forward == LOOK_FORWARD_CYCLES:
                    aborted = True
                    break
            if aborted:
                if throwaway < MAX_THROWAWAY_COUNT:
                    throwaway += 1
                    mop_index = len(current.info.ops)
                    continue
                current = _Candidate(INFO[NOP])
                break
            throwaway = 0
            schedule = ports.mop(mop, schedule, schedule, True)
            dep_cycle = schedule + mop.latency
            if mop_index == current.info.result_op:
                reg = regs[current.dst]
                retire_cycle = dep_cycle
                reg.latency = retire_cycle
                reg.last_group = current.group
                reg.last_par = current.group_par
            slot += 1
            mop_index += 1
            if schedule >= SUPERSCALAR_LATENCY:
                saturated = True
            cycle = top_cycle
            if mop_index >= len(current.info.ops):
                program.append(current.to_instruction())
                mul_count += current.info.type in MULTIPLICATIONS
        cycle += 1
        decode_cycle += 1
    return Program(program, _address_register(program))


def _address_register(program: list[Instruction]) -> int:
    """The register with the longest dependency chain (ASIC latency), first one on ties."""
    latency = [0] * 8
    for ins in program:
        lat_dst = latency[ins.dst] + 1
        lat_src = latency[ins.src] + 1 if ins.dst != ins.src else 0
        latency[ins.dst] = max(lat_dst, lat_src)
    best, best_reg = 0, 0
    for i in range(8):
        if latency[i] > best:
            best, best_reg = latency[i], i
    return best_reg


def generate_programs(key: bytes) -> list[Program]:
    """The CACHE_ACCESSES programs of a key (spec 7.2)."""
    gen = BlakeGenerator(key)
    return [generate_program(gen) for _ in range(CACHE_ACCESSES)]


def reciprocal(divisor: int) -> int:
    """IMUL_RCP's 2**x // divisor with the largest x keeping the result below 2**64."""
    return (1 << (63 + divisor.bit_length())) // divisor


def _sign_extend32(value: int) -> int:
    return (value - (1 << 32) if value & 0x80000000 else value) & MASK64


def _signed(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


def execute(program: Program, r: list[int]) -> None:
    """Reference interpreter of one program on registers r (in place)."""
    for ins in program.instructions:
        t, d, s = ins.type, ins.dst, ins.src
        if t == ISUB_R:
            r[d] = (r[d] - r[s]) & MASK64
        elif t == IXOR_R:
            r[d] ^= r[s]
        elif t == IADD_RS:
            r[d] = (r[d] + (r[s] << ins.shift)) & MASK64
        elif t == IMUL_R:
            r[d] = (r[d] * r[s]) & MASK64
        elif t == IROR_C:
            n = ins.imm32 & 63
            r[d] = ((r[d] >> n) | (r[d] << (64 - n))) & MASK64
        elif t in (IADD_C7, IADD_C8, IADD_C9):
            r[d] = (r[d] + _sign_extend32(ins.imm32)) & MASK64
        elif t in (IXOR_C7, IXOR_C8, IXOR_C9):
            r[d] ^= _sign_extend32(ins.imm32)
        elif t == IMULH_R:
            r[d] = (r[d] * r[s]) >> 64
        elif t == ISMULH_R:
            r[d] = ((_signed(r[d]) * _signed(r[s])) >> 64) & MASK64
        elif t == IMUL_RCP:
            r[d] = (r[d] * reciprocal(ins.imm32)) & MASK64


ITEM_INIT_XOR = (
    0,
    9298411001130361340,
    12065312585734608966,
    9306329213124626780,
    5281919268842080866,
    10536153434571861004,
    3398623926847679864,
    9549104520008361294,
)
ITEM_MULTIPLIER = 6364136223846793005
CACHE_ITEM_COUNT = CACHE_SIZE // DATASET_ITEM_SIZE  # the cache's 64-byte items


def dataset_item(cache: bytes | memoryview, programs: list[Program], number: int) -> bytes:
    """Reference computation of one 64-byte dataset item (spec 7.3) from the cache memory."""
    r0 = ((number + 1) * ITEM_MULTIPLIER) & MASK64
    r = [r0 ^ x for x in ITEM_INIT_XOR]
    address = number
    for program in programs:
        offset = (address % CACHE_ITEM_COUNT) * 64
        mix = struct.unpack_from("<8Q", cache, offset)
        execute(program, r)
        r = [a ^ b for a, b in zip(r, mix, strict=True)]
        address = r[program.address_register]
    return struct.pack("<8Q", *r)


PROGRAM_STRIDE_WORDS = 2 + 2 * SUPERSCALAR_MAX_SIZE


def pack_programs(programs: list[Program]) -> list[int]:
    """Flat uint64 words for the device (layout documented in kernels/superscalar.cl).

    Per program: word 0 = size | address_register << 16, word 1 unused, then per instruction
    word A = type | dst << 8 | src << 16 | shift << 24 | (imm32 & 63) << 32 and
    word B = the 64-bit operand (sign-extended imm32, or the IMUL_RCP reciprocal).
    """
    words = [0] * (PROGRAM_STRIDE_WORDS * len(programs))
    for p, program in enumerate(programs):
        base = p * PROGRAM_STRIDE_WORDS
        words[base] = len(program.instructions) | program.address_register << 16
        for i, ins in enumerate(program.instructions):
            operand = reciprocal(ins.imm32) if ins.type == IMUL_RCP else _sign_extend32(ins.imm32)
            words[base + 2 + 2 * i] = (
                ins.type | ins.dst << 8 | ins.src << 16 | ins.shift << 24 | (ins.imm32 & 63) << 32
            )
            words[base + 3 + 2 * i] = operand
    return words
