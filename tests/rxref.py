"""Host references written from the RandomX spec for testing the kernels stage by stage.

AES is implemented byte-wise from FIPS-197 (S-box from GF(2^8) inversion), independent of
the kernels' T-tables; RandomX's AES keys come from the Blake2b strings of spec 3.2-3.4.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import math
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from xminer.randomx.opcodes import OPCODE_NAMES


def _xtime(a: int) -> int:
    return ((a << 1) ^ (0x11B if a & 0x80 else 0)) & 0xFF


def gf_mul(a: int, b: int) -> int:
    result = 0
    while b:
        if b & 1:
            result ^= a
        a = _xtime(a)
        b >>= 1
    return result


def _make_sbox() -> tuple[list[int], list[int]]:
    box = [0] * 256
    for x in range(256):
        inv = next((y for y in range(1, 256) if gf_mul(x, y) == 1), 0)
        s = inv
        for k in range(1, 5):
            s ^= ((inv << k) | (inv >> (8 - k))) & 0xFF
        box[x] = s ^ 0x63
    inverse = [0] * 256
    for i, v in enumerate(box):
        inverse[v] = i
    return box, inverse


SBOX, INV_SBOX = _make_sbox()


def _mix(col: list[int], m: tuple[int, int, int, int]) -> list[int]:
    return [
        gf_mul(col[0], m[(0 - r) % 4])
        ^ gf_mul(col[1], m[(1 - r) % 4])
        ^ gf_mul(col[2], m[(2 - r) % 4])
        ^ gf_mul(col[3], m[(3 - r) % 4])
        for r in range(4)
    ]


def aes_enc_round(state: bytes, key: bytes) -> bytes:
    """x86 AESENC: ShiftRows, SubBytes, MixColumns, XOR round key (byte i = row i%4, col i//4)."""
    shifted = [SBOX[state[4 * ((c + r) % 4) + r]] for c in range(4) for r in range(4)]
    out = []
    for c in range(4):
        out += _mix(shifted[4 * c : 4 * c + 4], (2, 3, 1, 1))
    return bytes(a ^ b for a, b in zip(out, key, strict=True))


def aes_dec_round(state: bytes, key: bytes) -> bytes:
    """x86 AESDEC: InvShiftRows, InvSubBytes, InvMixColumns, XOR round key."""
    shifted = [INV_SBOX[state[4 * ((c - r) % 4) + r]] for c in range(4) for r in range(4)]
    out = []
    for c in range(4):
        out += _mix(shifted[4 * c : 4 * c + 4], (14, 11, 13, 9))
    return bytes(a ^ b for a, b in zip(out, key, strict=True))


def _h512(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=64).digest()


GEN1R_KEYS = [_h512("RandomX AesGenerator1R keys")[16 * i : 16 * i + 16] for i in range(4)]
_G4 = _h512("RandomX AesGenerator4R keys 0-3") + _h512("RandomX AesGenerator4R keys 4-7")
GEN4R_KEYS = [_G4[16 * i : 16 * i + 16] for i in range(8)]
HASH1R_STATE = _h512("RandomX AesHash1R state")
_XK = hashlib.blake2b(b"RandomX AesHash1R xkeys", digest_size=32).digest()
HASH1R_XKEYS = [_XK[:16], _XK[16:]]


def _columns(state: bytes) -> list[bytes]:
    return [state[16 * i : 16 * i + 16] for i in range(4)]


def aes_gen1r(state: bytes, nblocks: int) -> tuple[bytes, bytes]:
    """(output, final state) of AesGenerator1R (spec 3.2)."""
    cols = _columns(state)
    out = bytearray()
    for _ in range(nblocks):
        cols = [
            aes_dec_round(cols[0], GEN1R_KEYS[0]),
            aes_enc_round(cols[1], GEN1R_KEYS[1]),
            aes_dec_round(cols[2], GEN1R_KEYS[2]),
            aes_enc_round(cols[3], GEN1R_KEYS[3]),
        ]
        out += b"".join(cols)
    return bytes(out), b"".join(cols)


def aes_gen4r(state: bytes, nblocks: int) -> tuple[bytes, bytes]:
    """(output, final state) of AesGenerator4R (spec 3.3)."""
    cols = _columns(state)
    out = bytearray()
    for _ in range(nblocks):
        for r in range(4):
            cols = [
                aes_dec_round(cols[0], GEN4R_KEYS[r]),
                aes_enc_round(cols[1], GEN4R_KEYS[r]),
                aes_dec_round(cols[2], GEN4R_KEYS[4 + r]),
                aes_enc_round(cols[3], GEN4R_KEYS[4 + r]),
            ]
        out += b"".join(cols)
    return bytes(out), b"".join(cols)


def aes_hash1r(data: bytes) -> bytes:
    """AesHash1R fingerprint (spec 3.4) of data (a multiple of 64 bytes)."""
    cols = _columns(HASH1R_STATE)
    for at in range(0, len(data), 64):
        keys = _columns(data[at : at + 64])
        cols = [
            aes_enc_round(cols[0], keys[0]),
            aes_dec_round(cols[1], keys[1]),
            aes_enc_round(cols[2], keys[2]),
            aes_dec_round(cols[3], keys[3]),
        ]
    for xkey in HASH1R_XKEYS:
        cols = [
            aes_enc_round(cols[0], xkey),
            aes_dec_round(cols[1], xkey),
            aes_enc_round(cols[2], xkey),
            aes_dec_round(cols[3], xkey),
        ]
    return b"".join(cols)


# -- host FPU rounding modes -------------------------------------------------------------------
_libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO = 0x000, 0x400, 0x800, 0xC00
#: RandomX fprc -> <fenv.h> mode on x86-64
FE_MODES = (FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO)


@contextmanager
def host_rounding(fprc: int) -> Iterator[None]:
    """Run the block with the host FPU (x87 + SSE) in RandomX rounding mode fprc."""
    previous = _libm.fegetround()
    if _libm.fesetround(FE_MODES[fprc]) != 0:
        raise RuntimeError("fesetround failed")
    try:
        yield
    finally:
        _libm.fesetround(previous)


# -- one RandomX program run (spec 4.5, 4.6, 5) -------------------------------------------------
M64 = (1 << 64) - 1
L1, L2, L3 = 0x3FF8, 0x3FFF8, 0x1FFFF8
L3_64 = 0x1FFFC0


def _u64(data: bytes | bytearray, at: int) -> int:
    return int.from_bytes(data[at : at + 8], "little")


def _s64(x: int) -> int:
    return x - (1 << 64) if x >> 63 else x


def _sext32(x: int) -> int:
    return (x - (1 << 32) if x >> 31 else x) & M64


def _f(bits: int) -> float:
    return struct.unpack("<d", bits.to_bytes(8, "little"))[0]


def _bits(x: float) -> int:
    return int.from_bytes(struct.pack("<d", x), "little")


def _int_pair(v: int) -> tuple[float, float]:
    lo, hi = v & 0xFFFFFFFF, v >> 32
    return float(lo - (1 << 32) if lo >> 31 else lo), float(hi - (1 << 32) if hi >> 31 else hi)


def _rotr(x: int, n: int) -> int:
    n &= 63
    return ((x >> n) | (x << (64 - n))) & M64


def run_program(
    program: bytes, scratchpad: bytearray, fprc: int, item: Callable[[int], bytes]
) -> tuple[bytes, int]:
    """Execute one generated program (128 config bytes + 256 instructions) like spec 4.6.

    Returns the register file (r, f, e, a; 256 bytes) and the final fprc.  Floating point
    runs on the host FPU in the program's rounding modes.
    """
    cfg = [_u64(program, 8 * i) for i in range(16)]
    a = [_f(((((c >> 59) + 1023) & 0x7FF) << 52) | (c & ((1 << 52) - 1))) for c in cfg[:8]]
    ma, mx = cfg[8] & 0x7FFFFFC0, cfg[10] & 0xFFFFFFFF
    sel = cfg[12]
    read = [0 + (sel & 1), 2 + (sel >> 1 & 1), 4 + (sel >> 2 & 1), 6 + (sel >> 3 & 1)]
    offset = (cfg[13] % 524288) * 64
    emask = [(c & 0x3FFFFF) | ((0x300 | (c >> 60) << 4) << 52) for c in cfg[14:16]]
    ins = [_u64(program, 128 + 8 * i) for i in range(256)]
    r = [0] * 8
    f = [0.0] * 8
    e = [0.0] * 8
    sp0, sp1 = mx, ma

    def emasked(x: float, half: int) -> float:
        return _f((_bits(x) & ((1 << 56) - 1)) | emask[half])

    _libm.fesetround(FE_MODES[fprc])
    try:
        for _ in range(2048):
            mix = r[read[0]] ^ r[read[1]]
            sp0 = (sp0 ^ mix) & L3_64
            sp1 = (sp1 ^ (mix >> 32)) & L3_64
            for i in range(8):
                r[i] ^= _u64(scratchpad, sp0 + 8 * i)
            for i in range(4):
                f[2 * i], f[2 * i + 1] = _int_pair(_u64(scratchpad, sp1 + 8 * i))
                lo, hi = _int_pair(_u64(scratchpad, sp1 + 32 + 8 * i))
                e[2 * i], e[2 * i + 1] = emasked(lo, 0), emasked(hi, 1)
            fprc = _execute(ins, scratchpad, r, f, e, a, emasked, fprc)
            mx = (mx ^ r[read[2]] ^ r[read[3]]) & 0x7FFFFFC0
            data = item((offset + ma) // 64)
            for i in range(8):
                r[i] ^= _u64(data, 8 * i)
            mx, ma = ma, mx
            for i in range(8):
                scratchpad[sp1 + 8 * i : sp1 + 8 * i + 8] = r[i].to_bytes(8, "little")
            for i in range(8):
                f[i] = _f(_bits(f[i]) ^ _bits(e[i]))
                scratchpad[sp0 + 8 * i : sp0 + 8 * i + 8] = _bits(f[i]).to_bytes(8, "little")
            sp0 = sp1 = 0
    finally:
        _libm.fesetround(FE_TONEAREST)
    words = r + [_bits(x) for x in f + e + a]
    return b"".join(w.to_bytes(8, "little") for w in words), fprc


@contextmanager
def library_items(key: bytes) -> Iterator[Callable[[int], bytes]]:
    """Dataset items of ``key`` from librandomx, one at a time: the ``item`` that
    run_program reads (the dataset is allocated lazily, so only the items read cost memory)."""
    from xminer.randomx import Cache, Dataset, Flags, recommended_flags

    lib_flags = recommended_flags() & ~Flags.LARGE_PAGES
    cache, dataset = Cache(lib_flags), Dataset(lib_flags)
    try:
        cache.init(key)

        def item(number: int) -> bytes:
            dataset.init_items(cache, number, 1)
            return ctypes.string_at(dataset.memory() + 64 * number, 64)

        yield item
    finally:
        dataset.release()
        cache.release()


def branch_targets(ins: list[int]) -> list[int]:
    """Where each CBRANCH jumps: after the last instruction before it, in program order, that
    modified its register (spec 5.4: fixed when the program is compiled, so a taken branch
    does not move the targets of the instructions it runs again)."""
    usage = [-1] * 8
    targets = [0] * len(ins)
    for pc, word in enumerate(ins):
        name = OPCODE_NAMES[word & 0xFF]
        dst, src, imm = (word >> 8) & 7, (word >> 16) & 7, word >> 32
        if name == "CBRANCH":
            targets[pc] = usage[dst] + 1
            usage = [pc] * 8
        elif name == "ISWAP_R":
            if src != dst:
                usage[src] = usage[dst] = pc
        elif name == "IMUL_RCP":
            if imm and imm & (imm - 1):
                usage[dst] = pc
        elif name not in ("CFROUND", "ISTORE") and not name.startswith("F"):
            usage[dst] = pc
    return targets


def _execute(
    ins: list[int],
    sp: bytearray,
    r: list[int],
    f: list[float],
    e: list[float],
    a: list[float],
    emasked: Callable[[float, int], float],
    fprc: int,
) -> int:
    targets = branch_targets(ins)
    pc = 0
    while pc < 256:
        word = ins[pc]
        name = OPCODE_NAMES[word & 0xFF]
        dst, src = (word >> 8) & 7, (word >> 16) & 7
        mod, imm = (word >> 24) & 0xFF, word >> 32
        simm = _sext32(imm)
        mem_mask = L1 if mod & 3 else L2

        def load(
            same_reg_l3: bool = True, d: int = dst, s: int = src, k: int = simm, m: int = mem_mask
        ) -> int:
            if same_reg_l3 and s == d:
                return _u64(sp, k & L3)
            return _u64(sp, (r[s] + k) & m)

        if name == "IADD_RS":
            r[dst] = (r[dst] + (r[src] << ((mod >> 2) & 3)) + (simm if dst == 5 else 0)) & M64
        elif name == "IADD_M":
            r[dst] = (r[dst] + load()) & M64
        elif name == "ISUB_R":
            r[dst] = (r[dst] - (r[src] if src != dst else simm)) & M64
        elif name == "ISUB_M":
            r[dst] = (r[dst] - load()) & M64
        elif name == "IMUL_R":
            r[dst] = (r[dst] * (r[src] if src != dst else simm)) & M64
        elif name == "IMUL_M":
            r[dst] = (r[dst] * load()) & M64
        elif name == "IMULH_R":
            r[dst] = (r[dst] * r[src]) >> 64
        elif name == "IMULH_M":
            r[dst] = (r[dst] * load()) >> 64
        elif name == "ISMULH_R":
            r[dst] = ((_s64(r[dst]) * _s64(r[src])) >> 64) & M64
        elif name == "ISMULH_M":
            r[dst] = ((_s64(r[dst]) * _s64(load())) >> 64) & M64
        elif name == "IMUL_RCP":
            if imm and imm & (imm - 1):
                r[dst] = (r[dst] * ((1 << (63 + imm.bit_length())) // imm)) & M64
            else:
                pc += 1
                continue
        elif name == "INEG_R":
            r[dst] = -r[dst] & M64
        elif name == "IXOR_R":
            r[dst] ^= r[src] if src != dst else simm
        elif name == "IXOR_M":
            r[dst] ^= load()
        elif name == "IROR_R":
            r[dst] = _rotr(r[dst], r[src] if src != dst else imm)
        elif name == "IROL_R":
            r[dst] = _rotr(r[dst], 64 - ((r[src] if src != dst else imm) & 63))
        elif name == "ISWAP_R":
            if src != dst:
                r[dst], r[src] = r[src], r[dst]
            else:
                pc += 1
                continue
        elif name == "FSWAP_R":
            regs = f if dst < 4 else e
            i = 2 * (dst & 3)
            regs[i], regs[i + 1] = regs[i + 1], regs[i]
        elif name in ("FADD_R", "FSUB_R"):
            sign = 1.0 if name == "FADD_R" else -1.0
            i, j = 2 * (dst & 3), 2 * (src & 3)
            f[i] = f[i] + sign * a[j]
            f[i + 1] = f[i + 1] + sign * a[j + 1]
        elif name in ("FADD_M", "FSUB_M"):
            lo, hi = _int_pair(load(same_reg_l3=False))
            i = 2 * (dst & 3)
            f[i], f[i + 1] = (f[i] + lo, f[i + 1] + hi) if name == "FADD_M" else (
                f[i] - lo, f[i + 1] - hi)  # fmt: skip
        elif name == "FSCAL_R":
            i = 2 * (dst & 3)
            f[i] = _f(_bits(f[i]) ^ 0x80F0000000000000)
            f[i + 1] = _f(_bits(f[i + 1]) ^ 0x80F0000000000000)
        elif name == "FMUL_R":
            i, j = 2 * (dst & 3), 2 * (src & 3)
            e[i], e[i + 1] = e[i] * a[j], e[i + 1] * a[j + 1]
        elif name == "FDIV_M":
            lo, hi = _int_pair(load(same_reg_l3=False))
            i = 2 * (dst & 3)
            e[i], e[i + 1] = e[i] / emasked(lo, 0), e[i + 1] / emasked(hi, 1)
        elif name == "FSQRT_R":
            i = 2 * (dst & 3)
            e[i], e[i + 1] = math.sqrt(e[i]), math.sqrt(e[i + 1])
        elif name == "CBRANCH":
            b = (mod >> 4) + 8
            cimm = (simm | (1 << b)) & ~(1 << (b - 1)) & M64
            r[dst] = (r[dst] + cimm) & M64
            if (r[dst] >> b) & 0xFF == 0:
                pc = targets[pc]
                continue
            pc += 1
            continue
        elif name == "CFROUND":
            fprc = _rotr(r[src], imm & 63) & 3
            _libm.fesetround(FE_MODES[fprc])
            pc += 1
            continue
        elif name == "ISTORE":
            mask = L3 if (mod >> 4) >= 14 else mem_mask
            at = (r[dst] + simm) & mask
            sp[at : at + 8] = r[src].to_bytes(8, "little")
            pc += 1
            continue
        pc += 1
    return fprc
