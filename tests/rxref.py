"""Host references written from the RandomX spec for testing the kernels stage by stage.

AES is implemented byte-wise from FIPS-197 (S-box from GF(2^8) inversion), independent of
the kernels' T-tables; RandomX's AES keys come from the Blake2b strings of spec 3.2-3.4.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager


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
