/*
 * uops.cl - a generated RandomX program (spec 4.5, 5) compiled into micro-ops for the grouped
 * executor (vm.cl).  One micro-op is two 64-bit words: a control word and a 64-bit immediate
 * (the sign-extended imm32, the exact IMUL_RCP reciprocal, CBRANCH's constant, a rotation or
 * CFROUND count).  NOPs (IMUL_RCP by 0 or a power of two, ISWAP of a register with itself)
 * are dropped, so a program has at most 256 micro-ops and is never cut or changed.
 *
 * Operands are slots of one flat register file (RF_*): r0-r7, the halves of f0-f3, e0-e3 and
 * a0-a3, a register that reads 0 (the address base of `[imm & L3]` operands), and 8 slots
 * for the dataset item.  An FP micro-op names the low half's slot; the high half is the next.
 *
 * Control word:
 *   bits 0-2 group     (UG_*, in order of frequency: the executor's branches)
 *        3-5 op        within the group (UO_*)
 *        6-11 dst      slot written (ISTORE: unused)
 *        12-17 src     slot read (ISTORE: the value stored; CFROUND: the register rotated)
 *        18-23 adr     slot of the address base of the memory operand or ISTORE
 *        24-25 mem     0 no memory access, 1 L1, 2 L2, 3 L3 (the address mask)
 *        26-27 shift   IADD_RS's left shift of the source
 *        28 neg        negate the second operand (ISUB, FSUB, IROL as a right rotation)
 *        29 immop      the second operand is the immediate
 *        30 addimm     add the immediate as a third operand (IADD_RS with r5)
 *        31 branch     CBRANCH: jump when (dst & (0xFF << cbit)) == 0 after the add
 *        32-36 cbit    CBRANCH's condition bit
 *        37-44 target  CBRANCH's target: index of a micro-op (NOPs already dropped)
 *
 * Stream layout: hashes in groups of `lanes` (the work-group size) share one block of
 * 2 * 256 * n words (n = lanes, or fewer for the last group): word k of micro-op j of lane l
 * is at (j * n + l) * 2 + k, so the lanes of a group read one contiguous run of 16-byte
 * micro-ops at each step (and a lane's two words share a cache line).
 */

#define RX_PROGRAM_SIZE 256
#define RX_PROGRAM_ITERATIONS 2048
#define RX_SCRATCHPAD_L3 (2u * 1024u * 1024u)
#define RX_L1_MASK 0x3FF8u
#define RX_L2_MASK 0x3FFF8u
#define RX_L3_MASK 0x1FFFF8u
#define RX_L3_MASK64 0x1FFFC0u
#define RX_CACHE_LINE_ALIGN_MASK 0x7FFFFFC0u
#define RX_DATASET_EXTRA_ITEMS 524287u
#define RX_NONCE_OFFSET 39u
#define UOP_MAX RX_PROGRAM_SIZE /* one micro-op an instruction at most */

/* groups */
#define UG_INT 0     /* IADD_RS IADD_M ISUB_R ISUB_M IMUL_R IMUL_M IMUL_RCP INEG_R IXOR_R
                        IXOR_M IROR_R IROL_R CBRANCH */
#define UG_FP 1      /* FADD_R FADD_M FSUB_R FSUB_M FMUL_R FSCAL_R */
#define UG_STORE 2   /* ISTORE (done by the memory stage) */
#define UG_MULH 3    /* IMULH_R IMULH_M ISMULH_R ISMULH_M */
#define UG_FDIV 4    /* FDIV_M FSQRT_R */
#define UG_SWAP 5    /* ISWAP_R FSWAP_R */
#define UG_CFROUND 6 /* CFROUND */

/* ops within groups */
#define UO_ADD 0
#define UO_MUL 1
#define UO_XOR 2
#define UO_ROR 3
#define UO_FADD 0
#define UO_FMUL 1
#define UO_FSCAL 2
#define UO_MULH 0
#define UO_SMULH 1
#define UO_FDIV 0
#define UO_FSQRT 1

/* register file slots */
#define RF_R 0
#define RF_F 8
#define RF_E 16
#define RF_A 24
#define RF_ZERO 32
#define RF_ITEM 33
#define RF_SLOTS 41

#define UM_NONE 0u
#define UM_L1 1u
#define UM_L2 2u
#define UM_L3 3u

#define UF_NEG (1UL << 28)
#define UF_IMMOP (1UL << 29)
#define UF_ADDIMM (1UL << 30)
#define UF_BRANCH (1UL << 31)

#define UOP(group, op, dst, src, adr, mem)                                                    \
    ((u64)(group) | (u64)(op) << 3 | (u64)(dst) << 6 | (u64)(src) << 12 | (u64)(adr) << 18 | \
     (u64)(mem) << 24)
#define UOP_SHIFT(s) ((u64)(s) << 26)
#define UOP_CBRANCH(cbit, target) (UF_BRANCH | (u64)(cbit) << 32 | (u64)(target) << 37)

#define UOP_GROUP(c) ((u32)(c) & 7u)
#define UOP_OP(c) ((u32)((c) >> 3) & 7u)
#define UOP_DST(c) ((u32)((c) >> 6) & 63u)
#define UOP_SRC(c) ((u32)((c) >> 12) & 63u)
#define UOP_ADR(c) ((u32)((c) >> 18) & 63u)
#define UOP_MEM(c) ((u32)((c) >> 24) & 3u)
#define UOP_SHIFTV(c) ((u32)((c) >> 26) & 3u)
#define UOP_CBIT(c) ((u32)((c) >> 32) & 31u)
#define UOP_TARGET(c) ((u32)((c) >> 37) & 255u)

DEVFN u64 sign_extend32(u32 x) { return (u64)(i64)(i32)x; }

/* floor(2^x / divisor) with the largest x giving a result below 2^64 (IMUL_RCP). */
DEVFN u64 rx_reciprocal(u32 divisor) {
    const u64 p2exp63 = 1UL << 63;
    u64 quotient = p2exp63 / divisor, remainder = p2exp63 % divisor;
    u32 bits = 0;
    for (u32 d = divisor; d > 0; d >>= 1) ++bits;
    for (u32 i = 0; i < bits; ++i) {
        if (remainder >= divisor - remainder) {
            quotient = quotient * 2 + 1;
            remainder = remainder * 2 - divisor;
        } else {
            quotient = quotient * 2;
            remainder = remainder * 2;
        }
    }
    return quotient;
}

/* Word offset of hash i's stream (of count hashes in groups of lanes); *stride: the words
 * from one of its micro-ops to the next. */
DEVFN u64 uop_base(u32 i, u32 lanes, u32 count, u32* stride) {
    u32 first = i - i % lanes;
    u32 left = count - first;
    *stride = 2 * (left < lanes ? left : lanes);
    return (u64)first * (2 * UOP_MAX) + 2 * (i - first);
}

/* Compile instruction word (spec 5) as micro-op number n: 1 with *ctrl and *imm set, or 0
 * for a NOP.  usage[] holds, per integer register, the micro-op that last wrote it (-1
 * none): a CBRANCH jumps to the micro-op after it. */
DEVFN u32 compile_instruction(u64 word, u32 n, int usage[8], u64* ctrl, u64* imm) {
    u32 opcode = (u32)word & 0xFF;
    u32 dst = (u32)(word >> 8) & 7, src = (u32)(word >> 16) & 7;
    u32 mod = (u32)(word >> 24) & 0xFF;
    u32 imm32 = (u32)(word >> 32);
    u64 simm = sign_extend32(imm32);
    u32 mem = (mod & 3) ? UM_L1 : UM_L2;
    /* integer memory operands: [src + imm] in L1/L2, or [imm] in L3 when src is dst */
    u32 madr = src != dst ? RF_R + src : RF_ZERO;
    u32 mmem = src != dst ? mem : UM_L3;
    u32 d = RF_R + dst, s = RF_R + src;
    u32 fd = RF_F + 2 * (dst & 3), ed = RF_E + 2 * (dst & 3), as = RF_A + 2 * (src & 3);
    int writes = 1; /* the instruction writes integer register dst */
    u64 c;
    *imm = simm;
    if (opcode < 16) { /* IADD_RS */
        c = UOP(UG_INT, UO_ADD, d, s, 0, UM_NONE) | UOP_SHIFT((mod >> 2) & 3);
        if (dst == 5) c |= UF_ADDIMM;
        else *imm = 0;
    } else if (opcode < 23) { /* IADD_M */
        c = UOP(UG_INT, UO_ADD, d, 0, madr, mmem);
    } else if (opcode < 39) { /* ISUB_R */
        c = UOP(UG_INT, UO_ADD, d, s, 0, UM_NONE) | UF_NEG | (src == dst ? UF_IMMOP : 0);
    } else if (opcode < 46) { /* ISUB_M */
        c = UOP(UG_INT, UO_ADD, d, 0, madr, mmem) | UF_NEG;
    } else if (opcode < 62) { /* IMUL_R */
        c = UOP(UG_INT, UO_MUL, d, s, 0, UM_NONE) | (src == dst ? UF_IMMOP : 0);
    } else if (opcode < 66) { /* IMUL_M */
        c = UOP(UG_INT, UO_MUL, d, 0, madr, mmem);
    } else if (opcode < 70) { /* IMULH_R */
        c = UOP(UG_MULH, UO_MULH, d, s, 0, UM_NONE);
    } else if (opcode < 71) { /* IMULH_M */
        c = UOP(UG_MULH, UO_MULH, d, 0, madr, mmem);
    } else if (opcode < 75) { /* ISMULH_R */
        c = UOP(UG_MULH, UO_SMULH, d, s, 0, UM_NONE);
    } else if (opcode < 76) { /* ISMULH_M */
        c = UOP(UG_MULH, UO_SMULH, d, 0, madr, mmem);
    } else if (opcode < 84) { /* IMUL_RCP: a NOP for 0 and powers of two */
        if (imm32 == 0 || (imm32 & (imm32 - 1)) == 0) return 0;
        c = UOP(UG_INT, UO_MUL, d, 0, 0, UM_NONE) | UF_IMMOP;
        *imm = rx_reciprocal(imm32);
    } else if (opcode < 86) { /* INEG_R: times -1 */
        c = UOP(UG_INT, UO_MUL, d, 0, 0, UM_NONE) | UF_IMMOP;
        *imm = ~0UL;
    } else if (opcode < 101) { /* IXOR_R */
        c = UOP(UG_INT, UO_XOR, d, s, 0, UM_NONE) | (src == dst ? UF_IMMOP : 0);
    } else if (opcode < 106) { /* IXOR_M */
        c = UOP(UG_INT, UO_XOR, d, 0, madr, mmem);
    } else if (opcode < 114) { /* IROR_R */
        c = UOP(UG_INT, UO_ROR, d, s, 0, UM_NONE) | (src == dst ? UF_IMMOP : 0);
        *imm = imm32 & 63;
    } else if (opcode < 116) { /* IROL_R: a right rotation by the negated count */
        c = UOP(UG_INT, UO_ROR, d, s, 0, UM_NONE) | UF_NEG | (src == dst ? UF_IMMOP : 0);
        *imm = imm32 & 63;
    } else if (opcode < 120) { /* ISWAP_R: a NOP with itself */
        if (src == dst) return 0;
        c = UOP(UG_SWAP, 0, d, s, 0, UM_NONE);
        usage[src] = (int)n;
    } else if (opcode < 124) { /* FSWAP_R: the halves of f0-f3 or e0-e3 */
        u32 lo = dst < 4 ? RF_F + 2 * dst : RF_E + 2 * (dst - 4);
        c = UOP(UG_SWAP, 0, lo, lo + 1, 0, UM_NONE);
        writes = 0;
    } else if (opcode < 140) { /* FADD_R */
        c = UOP(UG_FP, UO_FADD, fd, as, 0, UM_NONE);
        writes = 0;
    } else if (opcode < 145) { /* FADD_M: [src + imm] even when src is dst */
        c = UOP(UG_FP, UO_FADD, fd, 0, s, mem);
        writes = 0;
    } else if (opcode < 161) { /* FSUB_R */
        c = UOP(UG_FP, UO_FADD, fd, as, 0, UM_NONE) | UF_NEG;
        writes = 0;
    } else if (opcode < 166) { /* FSUB_M */
        c = UOP(UG_FP, UO_FADD, fd, 0, s, mem) | UF_NEG;
        writes = 0;
    } else if (opcode < 172) { /* FSCAL_R */
        c = UOP(UG_FP, UO_FSCAL, fd, 0, 0, UM_NONE);
        writes = 0;
    } else if (opcode < 204) { /* FMUL_R */
        c = UOP(UG_FP, UO_FMUL, ed, as, 0, UM_NONE);
        writes = 0;
    } else if (opcode < 208) { /* FDIV_M */
        c = UOP(UG_FDIV, UO_FDIV, ed, 0, s, mem);
        writes = 0;
    } else if (opcode < 214) { /* FSQRT_R */
        c = UOP(UG_FDIV, UO_FSQRT, ed, 0, 0, UM_NONE);
        writes = 0;
    } else if (opcode < 239) { /* CBRANCH */
        u32 b = (mod >> 4) + 8;
        c = UOP(UG_INT, UO_ADD, d, 0, 0, UM_NONE) | UF_IMMOP |
            UOP_CBRANCH(b, (u32)(usage[dst] + 1));
        *imm = (simm | (1UL << b)) & ~(1UL << (b - 1));
        for (int j = 0; j < 8; ++j) usage[j] = (int)n;
        writes = 0;
    } else if (opcode < 240) { /* CFROUND */
        c = UOP(UG_CFROUND, 0, 0, s, 0, UM_NONE);
        *imm = imm32 & 63;
        writes = 0;
    } else { /* ISTORE: [dst + imm] <- src */
        c = UOP(UG_STORE, 0, 0, s, d, (mod >> 4) >= 14 ? UM_L3 : mem);
        writes = 0;
    }
    if (writes) usage[dst] = (int)n;
    *ctrl = c;
    return 1;
}

/* The program's 256 instructions (words 16.. of prog) as micro-ops at out (one every stride
 * words); the number of micro-ops. */
DEVFN u32 compile_program(GLOBAL const u64* prog, GLOBAL u64* out, u32 stride) {
    int usage[8];
    for (int j = 0; j < 8; ++j) usage[j] = -1;
    u32 n = 0;
    for (u32 i = 0; i < UOP_MAX; ++i) {
        u64 ctrl, imm;
        if (compile_instruction(prog[16 + i], n, usage, &ctrl, &imm)) {
            out[(u64)n * stride] = ctrl;
            out[(u64)n * stride + 1] = imm;
            ++n;
        }
    }
    return n;
}
DEVFN double int32_to_f64(u32 x) { return (double)(i32)x; }

DEVFN double e_mask(double x, u64 mask) {
    return AS_F64((AS_U64(x) & 0x00FFFFFFFFFFFFFFUL) | mask);
}

/* A group register value from configuration entropy: +1.fraction * 2^(0..31). */
DEVFN double small_positive_float(u64 entropy) {
    return AS_F64((((entropy >> 59) + 1023) << 52) | (entropy & 0xFFFFFFFFFFFFFUL));
}

DEVFN u64 e_mask_from(u64 entropy) {
    return (entropy & 0x3FFFFFUL) | ((0x300UL | ((entropy >> 60) << 4)) << 52);
}
