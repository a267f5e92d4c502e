/*
 * randomx.cl - the RandomX hash (spec chapter 2) as four kernels, one work-item per hash:
 *   rx_init            Hash512(input) -> seed            (input = blob with nonce, or items)
 *   rx_fill_scratchpad AesGenerator1R(seed) -> 2 MiB scratchpad; seed = generator state
 *   rx_run_program     AesGenerator4R(seed) -> program; decode; run 2048 iterations;
 *                      seed = Hash512(register file)   (called RX_PROGRAM_COUNT times)
 *   rx_run_program_piece  the same in pieces of a program (XMRig's bfactor, see below)
 *   rx_finish          AesHash1R(scratchpad) into the register file; Hash256 -> hash
 * Per-hash global memory: scratchpad, STATE_WORDS state words (seed, fprc, register file),
 * the generated program (PROGRAM_WORDS) and its decoded form (DECODED_WORDS u32).
 * A program may run in pieces of `iterations` iterations from `first_iteration`: the piece
 * from 0 generates and decodes it (programs and decoded persist), the others restore from the
 * state what carries across iterations (r0-r7, fprc, ma, mx; f and e are reloaded from the
 * scratchpad every iteration, spAddr0/1 are 0 after the first), and every piece but the last
 * saves it there (r0-r7 in the register file's words, unused until the program ends).
 * Needs compat.h, fpround.cl, blake2b.cl, aes_tables.h, aes.cl, dataset.cl.
 */

#define RX_PROGRAM_SIZE 256
#define RX_PROGRAM_ITERATIONS 2048
#define RX_SCRATCHPAD_L3 (2u * 1024u * 1024u)
#define RX_SCRATCHPAD_WORDS (RX_SCRATCHPAD_L3 / 8u)
#define RX_L1_MASK 0x3FF8u
#define RX_L2_MASK 0x3FFF8u
#define RX_L3_MASK 0x1FFFF8u
#define RX_L3_MASK64 0x1FFFC0u
#define RX_CACHE_LINE_ALIGN_MASK 0x7FFFFFC0u
#define RX_DATASET_EXTRA_ITEMS 524287u
#define RX_NONCE_OFFSET 39u

#define STATE_WORDS 48 /* 0-7 seed, 8 fprc, 9 ma | mx << 32, 16-47 register file r f e a */
#define STATE_FPRC 8
#define STATE_MAMX 9 /* between the launches of a program split by bfactor */
#define STATE_REGS 16
#define PROGRAM_WORDS (16 + RX_PROGRAM_SIZE) /* configuration + instructions */
#define DECODED_WORDS (4 * RX_PROGRAM_SIZE)

/* Decoded operations */
enum {
    OP_IADD_RS, OP_IADD_M, OP_ISUB_R, OP_ISUB_M, OP_IMUL_R, OP_IMUL_M, OP_IMULH_R, OP_IMULH_M,
    OP_ISMULH_R, OP_ISMULH_M, OP_INEG_R, OP_IXOR_R, OP_IXOR_M, OP_IROR_R, OP_IROL_R,
    OP_ISWAP_R, OP_IADD_I, OP_IMUL_I, OP_IXOR_I, OP_IROR_I, OP_IROL_I, OP_FSWAP_R, OP_FADD_R,
    OP_FADD_M, OP_FSUB_R, OP_FSUB_M, OP_FSCAL_R, OP_FMUL_R, OP_FDIV_M, OP_FSQRT_R,
    OP_CBRANCH, OP_CFROUND, OP_ISTORE, OP_NOP
};

#define ZERO_REG 8 /* integer register index that always reads 0 */

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

KERNEL void rx_init(GLOBAL const u8* inputs, GLOBAL const u32* meta, u32 meta_stride,
                    u32 with_nonce, u32 start_nonce, GLOBAL u64* state, u32 count) {
    u32 i = GID0;
    if (i >= count) return;
    u32 offset = meta[2 * i * meta_stride], len = meta[2 * i * meta_stride + 1];
    u64 h[8];
    blake2b_global(h, 64, inputs + offset, len, with_nonce ? RX_NONCE_OFFSET : len,
                   start_nonce + i);
    GLOBAL u64* st = state + (u64)i * STATE_WORDS;
    for (int w = 0; w < 8; ++w) st[w] = h[w];
    st[STATE_FPRC] = 0;
}

KERNEL void rx_fill_scratchpad(GLOBAL u64* state, GLOBAL u64* scratchpads, u32 count) {
    u32 i = GID0;
    if (i >= count) return;
    GLOBAL u64* st = state + (u64)i * STATE_WORDS;
    u64 seed[8];
    for (int w = 0; w < 8; ++w) seed[w] = st[w];
    aes_gen1r(seed, scratchpads + (u64)i * RX_SCRATCHPAD_WORDS, RX_SCRATCHPAD_L3 / 64);
    for (int w = 0; w < 8; ++w) st[w] = seed[w];
}

/* Program iterations [first_iteration, first_iteration + iterations) of hash i (see the top).
 * rx_run_program passes the constants 0 and RX_PROGRAM_ITERATIONS, which the compiler folds:
 * its code is that of a kernel without pieces (a run-time test here cost 8% on PoCL). */
DEVFN void run_program(u32 i, GLOBAL u64* state, GLOBAL u64* scratchpads, GLOBAL u64* programs,
                       GLOBAL u32* decoded, GLOBAL const u64* ds0, GLOBAL const u64* ds1,
                       GLOBAL const u64* ds2, GLOBAL const u64* ds3,
                       GLOBAL const u64* ss_programs, u32 chunk_items, u32 light,
                       u32 first_iteration, u32 iterations, u32 last) {
    GLOBAL u64* st = state + (u64)i * STATE_WORDS;
    GLOBAL u64* sp = scratchpads + (u64)i * RX_SCRATCHPAD_WORDS;
    GLOBAL u64* prog = programs + (u64)i * PROGRAM_WORDS;
    GLOBAL u32* dec = decoded + (u64)i * DECODED_WORDS;
    DatasetSource ds;
    ds.chunk[0] = ds0;
    ds.chunk[1] = ds1;
    ds.chunk[2] = ds2;
    ds.chunk[3] = ds3;
    ds.programs = ss_programs;
    ds.chunk_items = chunk_items;
    ds.light = light;

    /* spec 4.5: 128 configuration bytes + 256 instructions from AesGenerator4R(seed) */
    if (first_iteration == 0) {
        u64 seed[8];
        for (int w = 0; w < 8; ++w) seed[w] = st[w];
        aes_gen4r(seed, prog, PROGRAM_WORDS / 8);
    }

    double a[8], f[8], e[8];
    for (int j = 0; j < 8; ++j) a[j] = small_positive_float(prog[j]);
    u32 ma = (u32)prog[8] & RX_CACHE_LINE_ALIGN_MASK;
    u32 mx = (u32)prog[10];
    u32 select = (u32)prog[12];
    u32 read0 = select & 1, read1 = 2 + ((select >> 1) & 1);
    u32 read2 = 4 + ((select >> 2) & 1), read3 = 6 + ((select >> 3) & 1);
    u64 dataset_offset = (prog[13] % (RX_DATASET_EXTRA_ITEMS + 1)) * 64;
    u64 emask0 = e_mask_from(prog[14]), emask1 = e_mask_from(prog[15]);

    /* spec 4.6 */
    u64 r[9];
    for (int j = 0; j < 9; ++j) r[j] = 0;
    u32 sp0 = mx, sp1 = ma;
    if (first_iteration == 0) {
        int usage[8];
        for (int j = 0; j < 8; ++j) usage[j] = -1;
        for (int j = 0; j < RX_PROGRAM_SIZE; ++j)
            decode_instruction(dec + 4 * j, prog[16 + j], j, usage);
    } else { /* a later piece: what the previous one saved */
        for (int j = 0; j < 8; ++j) r[j] = st[STATE_REGS + j];
        ma = (u32)st[STATE_MAMX];
        mx = (u32)(st[STATE_MAMX] >> 32);
        sp0 = 0;
        sp1 = 0;
    }
    u32 fprc = (u32)st[STATE_FPRC];
    u32 end = iterations < RX_PROGRAM_ITERATIONS - first_iteration
                  ? first_iteration + iterations
                  : RX_PROGRAM_ITERATIONS;
    for (u32 ic = first_iteration; ic < end; ++ic) {
        u64 mix = r[read0] ^ r[read1];
        sp0 = (sp0 ^ (u32)mix) & RX_L3_MASK64;
        sp1 = (sp1 ^ (u32)(mix >> 32)) & RX_L3_MASK64;
        for (int j = 0; j < 8; ++j) r[j] ^= sp[(sp0 >> 3) + j];
        for (int j = 0; j < 4; ++j) {
            u64 v = sp[(sp1 >> 3) + j];
            f[2 * j] = int32_to_f64((u32)v);
            f[2 * j + 1] = int32_to_f64((u32)(v >> 32));
            u64 w = sp[(sp1 >> 3) + 4 + j];
            e[2 * j] = e_mask(int32_to_f64((u32)w), emask0);
            e[2 * j + 1] = e_mask(int32_to_f64((u32)(w >> 32)), emask1);
        }
        execute_program(dec, sp, r, f, e, a, emask0, emask1, &fprc);
        mx ^= (u32)(r[read2] ^ r[read3]);
        mx &= RX_CACHE_LINE_ALIGN_MASK;
        u64 item[8];
        dataset_item(item, &ds, (dataset_offset + ma) / 64);
        for (int j = 0; j < 8; ++j) r[j] ^= item[j];
        u32 t = mx;
        mx = ma;
        ma = t;
        for (int j = 0; j < 8; ++j) sp[(sp1 >> 3) + j] = r[j];
        for (int j = 0; j < 8; ++j) {
            f[j] = AS_F64(AS_U64(f[j]) ^ AS_U64(e[j]));
            sp[(sp0 >> 3) + j] = AS_U64(f[j]);
        }
        sp0 = 0;
        sp1 = 0;
    }
    st[STATE_FPRC] = fprc;
    if (end < RX_PROGRAM_ITERATIONS) { /* more pieces to come */
        for (int j = 0; j < 8; ++j) st[STATE_REGS + j] = r[j];
        st[STATE_MAMX] = (u64)ma | (u64)mx << 32;
        return;
    }

    u64 regs[32];
    for (int j = 0; j < 8; ++j) {
        regs[j] = r[j];
        regs[8 + j] = AS_U64(f[j]);
        regs[16 + j] = AS_U64(e[j]);
        regs[24 + j] = AS_U64(a[j]);
    }
    if (last) {
        for (int j = 0; j < 32; ++j) st[STATE_REGS + j] = regs[j];
    } else {
        u64 h[8];
        blake2b_words(h, 64, regs, 32);
        for (int w = 0; w < 8; ++w) st[w] = h[w];
    }
}

/* A whole program (bfactor 0). */
KERNEL void rx_run_program(GLOBAL u64* state, GLOBAL u64* scratchpads, GLOBAL u64* programs,
                           GLOBAL u32* decoded, GLOBAL const u64* ds0, GLOBAL const u64* ds1,
                           GLOBAL const u64* ds2, GLOBAL const u64* ds3,
                           GLOBAL const u64* ss_programs, u32 chunk_items, u32 light,
                           u32 last, u32 count) {
    u32 i = GID0;
    if (i >= count) return;
    run_program(i, state, scratchpads, programs, decoded, ds0, ds1, ds2, ds3, ss_programs,
                chunk_items, light, 0, RX_PROGRAM_ITERATIONS, last);
}

/* A piece of a program (bfactor > 0): iterations from first_iteration. */
KERNEL void rx_run_program_piece(GLOBAL u64* state, GLOBAL u64* scratchpads,
                                 GLOBAL u64* programs, GLOBAL u32* decoded,
                                 GLOBAL const u64* ds0, GLOBAL const u64* ds1,
                                 GLOBAL const u64* ds2, GLOBAL const u64* ds3,
                                 GLOBAL const u64* ss_programs, u32 chunk_items, u32 light,
                                 u32 first_iteration, u32 iterations, u32 last, u32 count) {
    u32 i = GID0;
    if (i >= count) return;
    run_program(i, state, scratchpads, programs, decoded, ds0, ds1, ds2, ds3, ss_programs,
                chunk_items, light, first_iteration, iterations, last);
}

KERNEL void rx_finish(GLOBAL u64* state, GLOBAL const u64* scratchpads, GLOBAL u64* hashes,
                      u32 count) {
    u32 i = GID0;
    if (i >= count) return;
    GLOBAL u64* st = state + (u64)i * STATE_WORDS;
    u64 regs[32];
    for (int j = 0; j < 24; ++j) regs[j] = st[STATE_REGS + j];
    aes_hash1r(regs + 24, scratchpads + (u64)i * RX_SCRATCHPAD_WORDS, RX_SCRATCHPAD_L3 / 64);
    u64 h[8];
    blake2b_words(h, 32, regs, 32);
    for (int w = 0; w < 4; ++w) hashes[4 * (u64)i + w] = h[w];
}
