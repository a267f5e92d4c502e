/*
 * randomx.cl - the RandomX hash (spec chapter 2) as six kernels, one work-item a hash unless said:
 *   rx_init            Hash512(input) -> seed            (input = blob with nonce, or items)
 *   rx_fill_scratchpad AesGenerator1R(seed) -> 2 MiB scratchpad; seed = generator state
 *                      (4 work-items a hash, one AES column each; so is rx_finish)
 *   rx_compile_program (from the 2nd program: seed = Hash512(register file)), then
 *                      AesGenerator4R(seed) -> program, compiled to micro-ops (uops.cl)
 *   rx_run_program     2048 iterations of the compiled program by the grouped executor
 *                      (vm below); the register file goes to the state
 *   rx_run_program_piece  the same in pieces of a program (XMRig's bfactor, see below)
 *   rx_finish          AesHash1R(scratchpad) into the register file; Hash256 -> hash;
 *                      the hits (tail <= limit) and the XOR of the tails into `results`
 * rx_compile_program and rx_run_program are launched once per program (8 times), with the
 * same work-group size (the micro-op stream is interleaved across a group's lanes).
 * Per-hash global memory: scratchpad (2 MiB + 64 bytes apart), STATE_WORDS state words (seed,
 * fprc, micro-op count, register file), the generated program (PROGRAM_WORDS) and its code
 * (CODE_WORDS).
 * A program may run in pieces of `iterations` iterations from `first_iteration`: the others
 * restore from the state what carries across iterations (r0-r7, fprc, ma, mx; f and e are
 * reloaded from the scratchpad every iteration, spAddr0/1 are 0 after the first), and every
 * piece but the last saves it there (r0-r7 in the register file's words).
 * The VM's registers live in work-group memory, register-major (slot k of lane l at
 * k * lanes + l): no private array is indexed at run time, so nothing spills to a stack.
 * That memory is sized at launch: RF_SLOTS * 8 bytes a hash of the group (LOCAL_PARAM).
 * With RX_SWITCH_EXECUTOR defined, vm_switch.cl's first executor runs instead (tests only).
 * Needs compat.h, fpround.cl, blake2b.cl, aes_tables.h, aes.cl, dataset.cl, uops.cl.
 */

#define RX_SCRATCHPAD_WORDS (RX_SCRATCHPAD_L3 / 8u)
#define RX_SCRATCHPAD_STRIDE (RX_SCRATCHPAD_WORDS + 8u) /* words: 2 MiB + 64 bytes a hash */

#define STATE_WORDS 48 /* 0-7 seed, 8 fprc, 9 ma | mx << 32, 10 micro-ops, 16-47 r f e a */
#define STATE_FPRC 8
#define STATE_MAMX 9 /* between the launches of a program split by bfactor */
#define STATE_UOPS 10
#define STATE_REGS 16
#define PROGRAM_WORDS (16 + RX_PROGRAM_SIZE) /* configuration + instructions */
#define CODE_WORDS (2 * UOP_MAX)            /* micro-ops (or the switch executor's decoding) */

/* rx_compile_program's source of the program */
#define RX_FROM_SEED 0      /* the seed words of the state (the 1st program) */
#define RX_FROM_REGISTERS 1 /* Hash512 of the previous program's register file */
#define RX_FROM_PROGRAM 2   /* the program already in the programs buffer (tests) */

/* slot k of this lane's register file (rf and lanes in scope) */
#define RF(k) rf[(u32)(k) * lanes]

DEVFN u64 sp_address(u64 base, u64 imm, u32 mem) {
    u32 mask = mem == UM_L1 ? RX_L1_MASK : mem == UM_L2 ? RX_L2_MASK : RX_L3_MASK;
    return ((u32)(base + imm) & mask) >> 3;
}

/* Integer group: add (sub with neg), mul, xor, rotate (left with neg); CBRANCH's add. */
DEVFN u32 uop_int(LOCAL u64* rf, u32 lanes, u64 c, u64 imm, u64 loaded, u32 pc) {
    u32 dst = UOP_DST(c);
    u64 a = RF(dst);
    u64 b = UOP_MEM(c) ? loaded : (c & UF_IMMOP) ? imm : RF(UOP_SRC(c));
    b <<= UOP_SHIFTV(c);
    if (c & UF_NEG) b = (u64)0 - b;
    u32 op = UOP_OP(c);
    u64 x = op == UO_ADD   ? a + b + ((c & UF_ADDIMM) ? imm : 0)
            : op == UO_MUL ? a * b
            : op == UO_XOR ? a ^ b
                           : ROTR64(a, (u32)b);
    RF(dst) = x;
    if ((c & UF_BRANCH) && (x & (0xFFUL << UOP_CBIT(c))) == 0) return UOP_TARGET(c);
    return pc;
}

/* FP group: add (sub with neg) on f, mul on e, both halves in mode fprc; FSCAL on f. */
DEVFN void uop_fp(LOCAL u64* rf, u32 lanes, u64 c, u64 loaded, u32 fprc) {
    u32 dst = UOP_DST(c), src = UOP_SRC(c), op = UOP_OP(c);
    if (op == UO_FSCAL) {
        RF(dst) ^= 0x80F0000000000000UL;
        RF(dst + 1) ^= 0x80F0000000000000UL;
        return;
    }
    double y0, y1;
    if (UOP_MEM(c)) {
        y0 = int32_to_f64((u32)loaded);
        y1 = int32_to_f64((u32)(loaded >> 32));
    } else {
        y0 = AS_F64(RF(src));
        y1 = AS_F64(RF(src + 1));
    }
    if (c & UF_NEG) {
        y0 = -y0;
        y1 = -y1;
    }
    double x0 = AS_F64(RF(dst)), x1 = AS_F64(RF(dst + 1));
    if (op == UO_FADD) {
        x0 = fp_add_rm(x0, y0, fprc);
        x1 = fp_add_rm(x1, y1, fprc);
    } else {
        x0 = fp_mul_rm(x0, y0, fprc);
        x1 = fp_mul_rm(x1, y1, fprc);
    }
    RF(dst) = AS_U64(x0);
    RF(dst + 1) = AS_U64(x1);
}

DEVFN void uop_mulh(LOCAL u64* rf, u32 lanes, u64 c, u64 loaded) {
    u32 dst = UOP_DST(c);
    u64 a = RF(dst), b = UOP_MEM(c) ? loaded : RF(UOP_SRC(c));
    RF(dst) = UOP_OP(c) == UO_MULH ? MULHI_U64(a, b) : MULHI_I64(a, b);
}

DEVFN void uop_fdiv(LOCAL u64* rf, u32 lanes, u64 c, u64 loaded, u64 emask0, u64 emask1,
                    u32 fprc) {
    u32 dst = UOP_DST(c);
    double x0 = AS_F64(RF(dst)), x1 = AS_F64(RF(dst + 1));
    if (UOP_OP(c) == UO_FDIV) {
        x0 = RX_FDIV(x0, e_mask(int32_to_f64((u32)loaded), emask0), fprc);
        x1 = RX_FDIV(x1, e_mask(int32_to_f64((u32)(loaded >> 32)), emask1), fprc);
    } else {
        x0 = RX_FSQRT(x0, fprc);
        x1 = RX_FSQRT(x1, fprc);
    }
    RF(dst) = AS_U64(x0);
    RF(dst + 1) = AS_U64(x1);
}

/* Run the compiled program once (step 4 of spec 4.6.2): per micro-op one memory stage (the
 * load, or ISTORE's store), then the groups in order of frequency; CBRANCH per lane. */
DEVFN u32 execute_uops(GLOBAL const u64* RESTRICT code, u32 stride, u32 count,
                       GLOBAL u64* RESTRICT sp, LOCAL u64* RESTRICT rf, u32 lanes, u64 emask0,
                       u64 emask1, u32 fprc) {
    u32 pc = 0;
    while (pc < count) {
        u64 c = code[(u64)pc * stride];
        u64 imm = code[(u64)pc * stride + 1];
        ++pc;
        u32 group = UOP_GROUP(c), mem = UOP_MEM(c);
        u64 loaded = 0;
        if (mem) {
            u64 at = sp_address(RF(UOP_ADR(c)), imm, mem);
            if (group == UG_STORE) sp[at] = RF(UOP_SRC(c));
            else loaded = sp[at];
        }
        if (group == UG_INT) {
            pc = uop_int(rf, lanes, c, imm, loaded, pc);
        } else if (group == UG_FP) {
            uop_fp(rf, lanes, c, loaded, fprc);
        } else if (group == UG_MULH) {
            uop_mulh(rf, lanes, c, loaded);
        } else if (group == UG_FDIV) {
            uop_fdiv(rf, lanes, c, loaded, emask0, emask1, fprc);
        } else if (group == UG_SWAP) {
            u32 dst = UOP_DST(c), src = UOP_SRC(c);
            u64 t = RF(dst);
            RF(dst) = RF(src);
            RF(src) = t;
        } else if (group == UG_CFROUND) {
            fprc = (u32)ROTR64(RF(UOP_SRC(c)), (u32)imm) & 3;
        }
    }
    return fprc;
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

/* The T-tables into the group's memory, then a barrier (RX_DROP_BARRIERS: tests only, to
 * show that the tests catch a missing one). */
#ifdef RX_DROP_BARRIERS
#define RX_BARRIER_LOCAL()
#define RX_BARRIER_GLOBAL()
#else
#define RX_BARRIER_LOCAL() BARRIER_LOCAL()
#define RX_BARRIER_GLOBAL() BARRIER_GLOBAL()
#endif

/* 4 work-items a hash (work-item 4i + c: column c of hash i; see aes.cl). */
KERNEL void rx_fill_scratchpad(GLOBAL u64* state, GLOBAL u64* scratchpads, u32 count) {
    LOCAL_ARRAY(u32, tables, AES_LOCAL_WORDS);
    aes_tables_to_local(tables, LID0, LSIZE0);
    RX_BARRIER_LOCAL();
    u32 i = GID0 >> 2, c = GID0 & 3;
    if (i >= count) return;
    aes_gen1r_lane(state + (u64)i * STATE_WORDS, scratchpads + (u64)i * RX_SCRATCHPAD_STRIDE,
                   RX_SCRATCHPAD_L3 / 64, c, tables);
}


/* Seed or register-file hash -> program -> code, for hash i of count (see RX_FROM_*). */
KERNEL void rx_compile_program(GLOBAL u64* state, GLOBAL u64* programs, GLOBAL u64* code,
                               u32 source, u32 count) {
    u32 i = GID0;
    if (i >= count) return;
    GLOBAL u64* st = state + (u64)i * STATE_WORDS;
    GLOBAL u64* prog = programs + (u64)i * PROGRAM_WORDS;
    if (source == RX_FROM_REGISTERS) {
        u64 regs[32], h[8];
        for (int j = 0; j < 32; ++j) regs[j] = st[STATE_REGS + j];
        blake2b_words(h, 64, regs, 32);
        for (int w = 0; w < 8; ++w) st[w] = h[w];
    }
    if (source != RX_FROM_PROGRAM) { /* spec 4.5: 128 configuration bytes + 256 instructions */
        u64 seed[8];
        for (int w = 0; w < 8; ++w) seed[w] = st[w];
        aes_gen4r(seed, prog, PROGRAM_WORDS / 8);
    }
#ifdef RX_SWITCH_EXECUTOR
    decode_program(prog, code + (u64)i * CODE_WORDS);
    st[STATE_UOPS] = RX_PROGRAM_SIZE;
#else
    u32 stride;
    u64 base = uop_base(i, LSIZE0, count, &stride);
    st[STATE_UOPS] = compile_program(prog, code + base, stride);
#endif
}

/* Program iterations [first_iteration, first_iteration + iterations) of hash i (see the top);
 * rf: this lane's column of the work-group register file.  rx_run_program passes the
 * constants 0 and RX_PROGRAM_ITERATIONS, which the compiler folds. */
DEVFN void run_program(u32 i, u32 count, GLOBAL u64* state, GLOBAL u64* scratchpads,
                       GLOBAL const u64* programs, GLOBAL const u64* code,
                       GLOBAL const u64* ds0, GLOBAL const u64* ds1, GLOBAL const u64* ds2,
                       GLOBAL const u64* ds3, GLOBAL const u64* ss_programs, u32 chunk_items,
                       u32 light, u32 first_iteration, u32 iterations, LOCAL u64* rf) {
    const u32 lanes = LSIZE0;
    GLOBAL u64* st = state + (u64)i * STATE_WORDS;
    GLOBAL u64* sp = scratchpads + (u64)i * RX_SCRATCHPAD_STRIDE;
    GLOBAL const u64* prog = programs + (u64)i * PROGRAM_WORDS;
#ifdef RX_SWITCH_EXECUTOR
    GLOBAL const u64* up = code + (u64)i * CODE_WORDS;
#else
    u32 stride;
    GLOBAL const u64* up = code + uop_base(i, lanes, count, &stride);
#endif
    u32 nuops = (u32)st[STATE_UOPS];
    DatasetSource ds;
    ds.chunk[0] = ds0;
    ds.chunk[1] = ds1;
    ds.chunk[2] = ds2;
    ds.chunk[3] = ds3;
    ds.programs = ss_programs;
    ds.chunk_items = chunk_items;
    ds.light = light;

    for (int j = 0; j < 8; ++j) RF(RF_A + j) = AS_U64(small_positive_float(prog[j]));
    RF(RF_ZERO) = 0;
    u32 ma = (u32)prog[8] & RX_CACHE_LINE_ALIGN_MASK;
    u32 mx = (u32)prog[10];
    u32 select = (u32)prog[12];
    u32 read0 = select & 1, read1 = 2 + ((select >> 1) & 1);
    u32 read2 = 4 + ((select >> 2) & 1), read3 = 6 + ((select >> 3) & 1);
    u64 dataset_offset = (prog[13] % (RX_DATASET_EXTRA_ITEMS + 1)) * 64;
    u64 emask0 = e_mask_from(prog[14]), emask1 = e_mask_from(prog[15]);

    /* spec 4.6 */
    u32 sp0 = mx, sp1 = ma;
    if (first_iteration == 0) {
        for (int j = 0; j < 8; ++j) RF(RF_R + j) = 0;
    } else { /* a later piece: what the previous one saved */
        for (int j = 0; j < 8; ++j) RF(RF_R + j) = st[STATE_REGS + j];
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
        u64 mix = RF(read0) ^ RF(read1);
        sp0 = (sp0 ^ (u32)mix) & RX_L3_MASK64;
        sp1 = (sp1 ^ (u32)(mix >> 32)) & RX_L3_MASK64;
        for (int j = 0; j < 8; ++j) RF(RF_R + j) ^= sp[(sp0 >> 3) + j];
        for (int j = 0; j < 4; ++j) {
            u64 v = sp[(sp1 >> 3) + j];
            RF(RF_F + 2 * j) = AS_U64(int32_to_f64((u32)v));
            RF(RF_F + 2 * j + 1) = AS_U64(int32_to_f64((u32)(v >> 32)));
            u64 w = sp[(sp1 >> 3) + 4 + j];
            RF(RF_E + 2 * j) = AS_U64(e_mask(int32_to_f64((u32)w), emask0));
            RF(RF_E + 2 * j + 1) = AS_U64(e_mask(int32_to_f64((u32)(w >> 32)), emask1));
        }
#ifdef RX_SWITCH_EXECUTOR
        fprc = execute_switch(up, sp, rf, lanes, emask0, emask1, fprc);
#else
        fprc = execute_uops(up, stride, nuops, sp, rf, lanes, emask0, emask1, fprc);
#endif
        mx ^= (u32)(RF(read2) ^ RF(read3));
        mx &= RX_CACHE_LINE_ALIGN_MASK;
        dataset_item(rf + RF_ITEM * lanes, lanes, &ds, (dataset_offset + ma) / 64);
        for (int j = 0; j < 8; ++j) RF(RF_R + j) ^= RF(RF_ITEM + j);
        u32 t = mx;
        mx = ma;
        ma = t;
        for (int j = 0; j < 8; ++j) sp[(sp1 >> 3) + j] = RF(RF_R + j);
        for (int j = 0; j < 8; ++j) {
            u64 x = RF(RF_F + j) ^ RF(RF_E + j);
            RF(RF_F + j) = x;
            sp[(sp0 >> 3) + j] = x;
        }
        sp0 = 0;
        sp1 = 0;
    }
    st[STATE_FPRC] = fprc;
    if (end < RX_PROGRAM_ITERATIONS) { /* more pieces to come */
        for (int j = 0; j < 8; ++j) st[STATE_REGS + j] = RF(RF_R + j);
        st[STATE_MAMX] = (u64)ma | (u64)mx << 32;
        return;
    }
    /* the register file: the next rx_compile_program hashes it, rx_finish completes it */
    for (int j = 0; j < 32; ++j) st[STATE_REGS + j] = RF(j);
}

/* A whole program (bfactor 0). */
KERNEL void rx_run_program(LOCAL_PARAM(u64, registers) GLOBAL u64* state,
                           GLOBAL u64* scratchpads, GLOBAL const u64* programs,
                           GLOBAL const u64* code, GLOBAL const u64* ds0, GLOBAL const u64* ds1,
                           GLOBAL const u64* ds2, GLOBAL const u64* ds3,
                           GLOBAL const u64* ss_programs, u32 chunk_items, u32 light,
                           u32 count) {
    LOCAL_DYNAMIC(u64, registers);
    u32 i = GID0;
    if (i >= count) return;
    run_program(i, count, state, scratchpads, programs, code, ds0, ds1, ds2, ds3, ss_programs,
                chunk_items, light, 0, RX_PROGRAM_ITERATIONS, registers + LID0);
}

/* A piece of a program (bfactor > 0): iterations from first_iteration. */
KERNEL void rx_run_program_piece(LOCAL_PARAM(u64, registers) GLOBAL u64* state,
                                 GLOBAL u64* scratchpads, GLOBAL const u64* programs,
                                 GLOBAL const u64* code, GLOBAL const u64* ds0,
                                 GLOBAL const u64* ds1, GLOBAL const u64* ds2,
                                 GLOBAL const u64* ds3, GLOBAL const u64* ss_programs,
                                 u32 chunk_items, u32 light, u32 first_iteration,
                                 u32 iterations, u32 count) {
    LOCAL_DYNAMIC(u64, registers);
    u32 i = GID0;
    if (i >= count) return;
    run_program(i, count, state, scratchpads, programs, code, ds0, ds1, ds2, ds3, ss_programs,
                chunk_items, light, first_iteration, iterations, registers + LID0);
}

/* rx_finish's result buffer (u32 words): the hits found (counted by an atomic; only the first
 * `capacity` are stored, the count goes on, so the host knows when it lost some), the XOR of
 * every hash's tail in two 32-bit halves, then `capacity` hits of RX_HIT_WORDS u64 words: the
 * hash's index in the launch, then its 32 bytes.  The host zeroes the first 4 words first. */
#define RX_RESULT_COUNT 0
#define RX_RESULT_XOR 1 /* 1: low half, 2: high half */
#define RX_RESULT_HEADER 4
#define RX_HIT_WORDS 5

/* A hit: a slot from the counter, written when the buffer has room. */
DEVFN void record_hit(GLOBAL u32* results, u32 capacity, u32 index, const u64* h) {
    u32 slot = ATOMIC_INC_U32(results + RX_RESULT_COUNT);
    if (slot >= capacity) return;
    GLOBAL u64* hit = (GLOBAL u64*)(results + RX_RESULT_HEADER) + (u64)slot * RX_HIT_WORDS;
    hit[0] = index;
    for (int w = 0; w < 4; ++w) hit[1 + w] = h[w];
}

/* 4 work-items a hash: AesHash1R's column c into register a (the state's words 40-47), a
 * barrier, then the hash's first work-item hashes the register file, writes the hash and,
 * when its tail (bytes 24-31, little-endian: the word h[3]) is at most limit_hi:limit_lo,
 * records a hit; the group's tails are XORed in work-group memory and its first work-item
 * XORs them into the result's sum (one atomic a half and a group). */
KERNEL void rx_finish(GLOBAL u64* state, GLOBAL const u64* scratchpads, GLOBAL u64* hashes,
                      GLOBAL u32* results, u32 capacity, u32 limit_lo, u32 limit_hi,
                      u32 count) {
    LOCAL_ARRAY(u32, tables, AES_LOCAL_WORDS);
    LOCAL_ARRAY(u64, tails, RX_MAX_LANES);
    aes_tables_to_local(tables, LID0, LSIZE0);
    RX_BARRIER_LOCAL();
    u32 i = GID0 >> 2, c = GID0 & 3;
    GLOBAL u64* st = state + (u64)i * STATE_WORDS;
    if (i < count)
        aes_hash1r_lane(st + STATE_REGS + 24, scratchpads + (u64)i * RX_SCRATCHPAD_STRIDE,
                        RX_SCRATCHPAD_L3 / 64, c, tables);
    RX_BARRIER_GLOBAL();
    if (c == 0) {
        u64 tail = 0;
        if (i < count) {
            u64 regs[32];
            for (int j = 0; j < 32; ++j) regs[j] = st[STATE_REGS + j];
            u64 h[8];
            blake2b_words(h, 32, regs, 32);
            for (int w = 0; w < 4; ++w) hashes[4 * (u64)i + w] = h[w];
            tail = h[3];
            if (tail <= ((u64)limit_hi << 32 | limit_lo)) record_hit(results, capacity, i, h);
        }
        tails[LID0 >> 2] = tail;
    }
    RX_BARRIER_LOCAL();
    if (LID0 != 0) return;
    u64 sum = 0;
    for (u32 k = 0; k < LSIZE0 >> 2; ++k) sum ^= tails[k];
    if ((u32)sum) ATOMIC_XOR_U32(results + RX_RESULT_XOR, (u32)sum);
    if ((u32)(sum >> 32)) ATOMIC_XOR_U32(results + RX_RESULT_XOR + 1, (u32)(sum >> 32));
}
