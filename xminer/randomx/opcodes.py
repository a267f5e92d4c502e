"""The RandomX instruction set as the spec weighs it: an opcode byte picks an instruction by
these frequencies (spec tables 5.2.1, 5.3.1, 5.4.1 and 5.5.1, in order)."""

from __future__ import annotations

FREQUENCIES = [
    ("IADD_RS", 16), ("IADD_M", 7), ("ISUB_R", 16), ("ISUB_M", 7), ("IMUL_R", 16),
    ("IMUL_M", 4), ("IMULH_R", 4), ("IMULH_M", 1), ("ISMULH_R", 4), ("ISMULH_M", 1),
    ("IMUL_RCP", 8), ("INEG_R", 2), ("IXOR_R", 15), ("IXOR_M", 5), ("IROR_R", 8),
    ("IROL_R", 2), ("ISWAP_R", 4), ("FSWAP_R", 4), ("FADD_R", 16), ("FADD_M", 5),
    ("FSUB_R", 16), ("FSUB_M", 5), ("FSCAL_R", 6), ("FMUL_R", 32), ("FDIV_M", 4),
    ("FSQRT_R", 6), ("CBRANCH", 25), ("CFROUND", 1), ("ISTORE", 16),
]  # fmt: skip

#: the instruction each of the 256 opcode values decodes to
OPCODE_NAMES = [name for name, freq in FREQUENCIES for _ in range(freq)]
assert len(OPCODE_NAMES) == 256
