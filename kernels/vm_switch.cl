/*
 * vm_switch.cl - the first executor, kept as a test reference (kernel_source(switch=True) builds
 * it instead of the grouped one, under RX_SWITCH_EXECUTOR): one work-item per hash decodes its
 * program into 4 u32 words an instruction and walks them with a `switch` over 34 operations,
 * the VM registers in private arrays indexed at run time.  On a GPU each warp step runs every
 * distinct case its lanes need; tools/gpu_profile.py counts them.
 */
#ifdef RX_SWITCH_EXECUTOR

/* Decoded operations */
enum {
    OP_IADD_RS, OP_IADD_M, OP_ISUB_R, OP_ISUB_M, OP_IMUL_R, OP_IMUL_M, OP_IMULH_R, OP_IMULH_M,
    OP_ISMULH_R, OP_ISMULH_M, OP_INEG_R, OP_IXOR_R, OP_IXOR_M, OP_IROR_R, OP_IROL_R,
    OP_ISWAP_R, OP_IADD_I, OP_IMUL_I, OP_IXOR_I, OP_IROR_I, OP_IROL_I, OP_FSWAP_R, OP_FADD_R,
    OP_FADD_M, OP_FSUB_R, OP_FSUB_M, OP_FSCAL_R, OP_FMUL_R, OP_FDIV_M, OP_FSQRT_R,
    OP_CBRANCH, OP_CFROUND, OP_ISTORE, OP_NOP
};

#define ZERO_REG 8 /* integer register index that always reads 0 */

DEVFN void put_decoded(GLOBAL u32* d, u32 op, u32 dst, u32 src, u32 aux, u32 mask, u64 imm) {
    d[0] = op | dst << 8 | src << 16 | aux << 24;
    d[1] = mask;
    d[2] = (u32)imm;
    d[3] = (u32)(imm >> 32);
}

/* Decode one instruction word (spec chapter 5); usage[] tracks CBRANCH targets. */
DEVFN void decode_instruction(GLOBAL u32* d, u64 word, int i, int usage[8]) {
    u32 opcode = (u32)word & 0xFF;
    u32 dst = (u32)(word >> 8) & 7, src = (u32)(word >> 16) & 7;
    u32 mod = (u32)(word >> 24) & 0xFF;
    u32 imm32 = (u32)(word >> 32);
    u64 simm = sign_extend32(imm32);
    u32 mem_mask = (mod & 3) ? RX_L1_MASK : RX_L2_MASK;
    u32 msrc = src != dst ? src : ZERO_REG;
    u32 mmask = src != dst ? mem_mask : RX_L3_MASK;
    if (opcode < 16) {
        put_decoded(d, OP_IADD_RS, dst, src, (mod >> 2) & 3, 0, dst == 5 ? simm : 0);
        usage[dst] = i;
    } else if (opcode < 23) {
        put_decoded(d, OP_IADD_M, dst, msrc, 0, mmask, simm);
        usage[dst] = i;
    } else if (opcode < 39) {
        if (src != dst) put_decoded(d, OP_ISUB_R, dst, src, 0, 0, 0);
        else put_decoded(d, OP_IADD_I, dst, 0, 0, 0, (u64)0 - simm);
        usage[dst] = i;
    } else if (opcode < 46) {
        put_decoded(d, OP_ISUB_M, dst, msrc, 0, mmask, simm);
        usage[dst] = i;
    } else if (opcode < 62) {
        if (src != dst) put_decoded(d, OP_IMUL_R, dst, src, 0, 0, 0);
        else put_decoded(d, OP_IMUL_I, dst, 0, 0, 0, simm);
        usage[dst] = i;
    } else if (opcode < 66) {
        put_decoded(d, OP_IMUL_M, dst, msrc, 0, mmask, simm);
        usage[dst] = i;
    } else if (opcode < 70) {
        put_decoded(d, OP_IMULH_R, dst, src, 0, 0, 0);
        usage[dst] = i;
    } else if (opcode < 71) {
        put_decoded(d, OP_IMULH_M, dst, msrc, 0, mmask, simm);
        usage[dst] = i;
    } else if (opcode < 75) {
        put_decoded(d, OP_ISMULH_R, dst, src, 0, 0, 0);
        usage[dst] = i;
    } else if (opcode < 76) {
        put_decoded(d, OP_ISMULH_M, dst, msrc, 0, mmask, simm);
        usage[dst] = i;
    } else if (opcode < 84) { /* IMUL_RCP */
        if (imm32 != 0 && (imm32 & (imm32 - 1)) != 0) {
            put_decoded(d, OP_IMUL_I, dst, 0, 0, 0, rx_reciprocal(imm32));
            usage[dst] = i;
        } else {
            put_decoded(d, OP_NOP, 0, 0, 0, 0, 0);
        }
    } else if (opcode < 86) {
        put_decoded(d, OP_INEG_R, dst, 0, 0, 0, 0);
        usage[dst] = i;
    } else if (opcode < 101) {
        if (src != dst) put_decoded(d, OP_IXOR_R, dst, src, 0, 0, 0);
        else put_decoded(d, OP_IXOR_I, dst, 0, 0, 0, simm);
        usage[dst] = i;
    } else if (opcode < 106) {
        put_decoded(d, OP_IXOR_M, dst, msrc, 0, mmask, simm);
        usage[dst] = i;
    } else if (opcode < 114) {
        if (src != dst) put_decoded(d, OP_IROR_R, dst, src, 0, 0, 0);
        else put_decoded(d, OP_IROR_I, dst, 0, imm32 & 63, 0, 0);
        usage[dst] = i;
    } else if (opcode < 116) {
        if (src != dst) put_decoded(d, OP_IROL_R, dst, src, 0, 0, 0);
        else put_decoded(d, OP_IROL_I, dst, 0, imm32 & 63, 0, 0);
        usage[dst] = i;
    } else if (opcode < 120) {
        if (src != dst) {
            put_decoded(d, OP_ISWAP_R, dst, src, 0, 0, 0);
            usage[dst] = i;
            usage[src] = i;
        } else {
            put_decoded(d, OP_NOP, 0, 0, 0, 0, 0);
        }
    } else if (opcode < 124) {
        put_decoded(d, OP_FSWAP_R, dst, 0, 0, 0, 0); /* dst 0-3: f, 4-7: e */
    } else if (opcode < 140) {
        put_decoded(d, OP_FADD_R, dst & 3, src & 3, 0, 0, 0);
    } else if (opcode < 145) {
        put_decoded(d, OP_FADD_M, dst & 3, src, 0, mem_mask, simm);
    } else if (opcode < 161) {
        put_decoded(d, OP_FSUB_R, dst & 3, src & 3, 0, 0, 0);
    } else if (opcode < 166) {
        put_decoded(d, OP_FSUB_M, dst & 3, src, 0, mem_mask, simm);
    } else if (opcode < 172) {
        put_decoded(d, OP_FSCAL_R, dst & 3, 0, 0, 0, 0);
    } else if (opcode < 204) {
        put_decoded(d, OP_FMUL_R, dst & 3, src & 3, 0, 0, 0);
    } else if (opcode < 208) {
        put_decoded(d, OP_FDIV_M, dst & 3, src, 0, mem_mask, simm);
    } else if (opcode < 214) {
        put_decoded(d, OP_FSQRT_R, dst & 3, 0, 0, 0, 0);
    } else if (opcode < 239) { /* CBRANCH */
        u32 b = (mod >> 4) + 8;
        u64 cimm = (simm | (1UL << b)) & ~(1UL << (b - 1));
        put_decoded(d, OP_CBRANCH, dst, 0, (u32)(usage[dst] + 1), 0xFFu << b, cimm);
        for (int j = 0; j < 8; ++j) usage[j] = i;
    } else if (opcode < 240) {
        put_decoded(d, OP_CFROUND, 0, src, imm32 & 63, 0, 0);
    } else {
        put_decoded(d, OP_ISTORE, dst, src, 0, (mod >> 4) >= 14 ? RX_L3_MASK : mem_mask, simm);
    }
}

#define SP_LOAD(addr) sp[(addr) >> 3]

/* Run the 256-instruction program once (step 4 of spec 4.6.2). */
DEVFN void execute_program(GLOBAL const u32* prog, GLOBAL u64* sp, u64 r[9], double f[8],
                           double e[8], const double a[8], u64 emask0, u64 emask1,
                           u32* fprc_io) {
    u32 fprc = *fprc_io;
    u32 pc = 0;
    while (pc < RX_PROGRAM_SIZE) {
        GLOBAL const u32* d = prog + 4 * pc;
        u32 w0 = d[0];
        u32 dst = (w0 >> 8) & 0xFF, src = (w0 >> 16) & 0xFF, aux = w0 >> 24;
        u32 mask = d[1];
        u64 imm = (u64)d[2] | (u64)d[3] << 32;
        ++pc;
        switch (w0 & 0xFF) {
        case OP_IADD_RS: r[dst] += (r[src] << aux) + imm; break;
        case OP_IADD_M: r[dst] += SP_LOAD((u32)(r[src] + imm) & mask); break;
        case OP_ISUB_R: r[dst] -= r[src]; break;
        case OP_ISUB_M: r[dst] -= SP_LOAD((u32)(r[src] + imm) & mask); break;
        case OP_IMUL_R: r[dst] *= r[src]; break;
        case OP_IMUL_M: r[dst] *= SP_LOAD((u32)(r[src] + imm) & mask); break;
        case OP_IMULH_R: r[dst] = MULHI_U64(r[dst], r[src]); break;
        case OP_IMULH_M: r[dst] = MULHI_U64(r[dst], SP_LOAD((u32)(r[src] + imm) & mask)); break;
        case OP_ISMULH_R: r[dst] = MULHI_I64(r[dst], r[src]); break;
        case OP_ISMULH_M: r[dst] = MULHI_I64(r[dst], SP_LOAD((u32)(r[src] + imm) & mask)); break;
        case OP_INEG_R: r[dst] = (u64)0 - r[dst]; break;
        case OP_IXOR_R: r[dst] ^= r[src]; break;
        case OP_IXOR_M: r[dst] ^= SP_LOAD((u32)(r[src] + imm) & mask); break;
        case OP_IROR_R: r[dst] = ROTR64(r[dst], (u32)r[src]); break;
        case OP_IROL_R: r[dst] = ROTL64(r[dst], (u32)r[src]); break;
        case OP_ISWAP_R: {
            u64 t = r[dst];
            r[dst] = r[src];
            r[src] = t;
        } break;
        case OP_IADD_I: r[dst] += imm; break;
        case OP_IMUL_I: r[dst] *= imm; break;
        case OP_IXOR_I: r[dst] ^= imm; break;
        case OP_IROR_I: r[dst] = ROTR64(r[dst], aux); break;
        case OP_IROL_I: r[dst] = ROTL64(r[dst], aux); break;
        case OP_FSWAP_R: {
            double* reg = dst < 4 ? f + 2 * dst : e + 2 * (dst - 4);
            double t = reg[0];
            reg[0] = reg[1];
            reg[1] = t;
        } break;
        case OP_FADD_R:
            f[2 * dst] = RX_FADD(f[2 * dst], a[2 * src], fprc);
            f[2 * dst + 1] = RX_FADD(f[2 * dst + 1], a[2 * src + 1], fprc);
            break;
        case OP_FSUB_R:
            f[2 * dst] = RX_FADD(f[2 * dst], -a[2 * src], fprc);
            f[2 * dst + 1] = RX_FADD(f[2 * dst + 1], -a[2 * src + 1], fprc);
            break;
        case OP_FADD_M:
        case OP_FSUB_M: {
            u64 v = SP_LOAD((u32)(r[src] + imm) & mask);
            double lo = int32_to_f64((u32)v), hi = int32_to_f64((u32)(v >> 32));
            if ((w0 & 0xFF) == OP_FSUB_M) {
                lo = -lo;
                hi = -hi;
            }
            f[2 * dst] = RX_FADD(f[2 * dst], lo, fprc);
            f[2 * dst + 1] = RX_FADD(f[2 * dst + 1], hi, fprc);
        } break;
        case OP_FSCAL_R:
            f[2 * dst] = AS_F64(AS_U64(f[2 * dst]) ^ 0x80F0000000000000UL);
            f[2 * dst + 1] = AS_F64(AS_U64(f[2 * dst + 1]) ^ 0x80F0000000000000UL);
            break;
        case OP_FMUL_R:
            e[2 * dst] = RX_FMUL(e[2 * dst], a[2 * src], fprc);
            e[2 * dst + 1] = RX_FMUL(e[2 * dst + 1], a[2 * src + 1], fprc);
            break;
        case OP_FDIV_M: {
            u64 v = SP_LOAD((u32)(r[src] + imm) & mask);
            double lo = e_mask(int32_to_f64((u32)v), emask0);
            double hi = e_mask(int32_to_f64((u32)(v >> 32)), emask1);
            e[2 * dst] = RX_FDIV(e[2 * dst], lo, fprc);
            e[2 * dst + 1] = RX_FDIV(e[2 * dst + 1], hi, fprc);
        } break;
        case OP_FSQRT_R:
            e[2 * dst] = RX_FSQRT(e[2 * dst], fprc);
            e[2 * dst + 1] = RX_FSQRT(e[2 * dst + 1], fprc);
            break;
        case OP_CBRANCH:
            r[dst] += imm;
            if ((r[dst] & mask) == 0) pc = aux;
            break;
        case OP_CFROUND: fprc = (u32)ROTR64(r[src], aux) & 3; break;
        case OP_ISTORE: SP_LOAD((u32)(r[dst] + imm) & mask) = r[src]; break;
        default: break;
        }
    }
    *fprc_io = fprc;
}


/* The executor over the work-group register file (vm.cl's layout): r, f, e, a copied into
 * private arrays around execute_program, as the first kernels kept them. */
DEVFN u32 execute_switch(GLOBAL const u64* code, GLOBAL u64* sp, LOCAL u64* rf, u32 lanes,
                         u64 emask0, u64 emask1, u32 fprc) {
    u64 r[9];
    double f[8], e[8], a[8];
    for (int j = 0; j < 8; ++j) {
        r[j] = rf[(RF_R + j) * lanes];
        f[j] = AS_F64(rf[(RF_F + j) * lanes]);
        e[j] = AS_F64(rf[(RF_E + j) * lanes]);
        a[j] = AS_F64(rf[(RF_A + j) * lanes]);
    }
    r[8] = 0;
    execute_program((GLOBAL const u32*)code, sp, r, f, e, a, emask0, emask1, &fprc);
    for (int j = 0; j < 8; ++j) {
        rf[(RF_R + j) * lanes] = r[j];
        rf[(RF_F + j) * lanes] = AS_U64(f[j]);
        rf[(RF_E + j) * lanes] = AS_U64(e[j]);
    }
    return fprc;
}

/* The decoded program of one hash (DECODED_WORDS u32 words; the code buffer's 4 KiB). */
DEVFN void decode_program(GLOBAL const u64* prog, GLOBAL u64* code) {
    GLOBAL u32* dec = (GLOBAL u32*)code;
    int usage[8];
    for (int j = 0; j < 8; ++j) usage[j] = -1;
    for (int j = 0; j < RX_PROGRAM_SIZE; ++j)
        decode_instruction(dec + 4 * j, prog[16 + j], j, usage);
}

#endif /* RX_SWITCH_EXECUTOR */
