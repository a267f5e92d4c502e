/*
 * aes.cl - software AES rounds with x86 AESENC/AESDEC semantics (one round, then XOR with the
 * round key) and the RandomX generators/hash built on them (spec 3.2-3.4).  A 16-byte AES
 * state is 4 little-endian u32 columns; a 64-byte RandomX state is 16 u32 (4 columns of 4).
 * Needs aes_tables.h.
 */


/* AESENC: ShiftRows, SubBytes, MixColumns, XOR key. */
DEVFN void aes_enc_round(u32 s[4], u32 k0, u32 k1, u32 k2, u32 k3) {
    u32 t0 = RX_AES_TE[s[0] & 0xFF] ^ ROTL32(RX_AES_TE[(s[1] >> 8) & 0xFF], 8) ^
             ROTL32(RX_AES_TE[(s[2] >> 16) & 0xFF], 16) ^ ROTL32(RX_AES_TE[s[3] >> 24], 24);
    u32 t1 = RX_AES_TE[s[1] & 0xFF] ^ ROTL32(RX_AES_TE[(s[2] >> 8) & 0xFF], 8) ^
             ROTL32(RX_AES_TE[(s[3] >> 16) & 0xFF], 16) ^ ROTL32(RX_AES_TE[s[0] >> 24], 24);
    u32 t2 = RX_AES_TE[s[2] & 0xFF] ^ ROTL32(RX_AES_TE[(s[3] >> 8) & 0xFF], 8) ^
             ROTL32(RX_AES_TE[(s[0] >> 16) & 0xFF], 16) ^ ROTL32(RX_AES_TE[s[1] >> 24], 24);
    u32 t3 = RX_AES_TE[s[3] & 0xFF] ^ ROTL32(RX_AES_TE[(s[0] >> 8) & 0xFF], 8) ^
             ROTL32(RX_AES_TE[(s[1] >> 16) & 0xFF], 16) ^ ROTL32(RX_AES_TE[s[2] >> 24], 24);
    s[0] = t0 ^ k0;
    s[1] = t1 ^ k1;
    s[2] = t2 ^ k2;
    s[3] = t3 ^ k3;
}

/* AESDEC: InvShiftRows, InvSubBytes, InvMixColumns, XOR key. */
DEVFN void aes_dec_round(u32 s[4], u32 k0, u32 k1, u32 k2, u32 k3) {
    u32 t0 = RX_AES_TD[s[0] & 0xFF] ^ ROTL32(RX_AES_TD[(s[3] >> 8) & 0xFF], 8) ^
             ROTL32(RX_AES_TD[(s[2] >> 16) & 0xFF], 16) ^ ROTL32(RX_AES_TD[s[1] >> 24], 24);
    u32 t1 = RX_AES_TD[s[1] & 0xFF] ^ ROTL32(RX_AES_TD[(s[0] >> 8) & 0xFF], 8) ^
             ROTL32(RX_AES_TD[(s[3] >> 16) & 0xFF], 16) ^ ROTL32(RX_AES_TD[s[2] >> 24], 24);
    u32 t2 = RX_AES_TD[s[2] & 0xFF] ^ ROTL32(RX_AES_TD[(s[1] >> 8) & 0xFF], 8) ^
             ROTL32(RX_AES_TD[(s[0] >> 16) & 0xFF], 16) ^ ROTL32(RX_AES_TD[s[3] >> 24], 24);
    u32 t3 = RX_AES_TD[s[3] & 0xFF] ^ ROTL32(RX_AES_TD[(s[2] >> 8) & 0xFF], 8) ^
             ROTL32(RX_AES_TD[(s[1] >> 16) & 0xFF], 16) ^ ROTL32(RX_AES_TD[s[0] >> 24], 24);
    s[0] = t0 ^ k0;
    s[1] = t1 ^ k1;
    s[2] = t2 ^ k2;
    s[3] = t3 ^ k3;
}

#define AES_ENC_KEY(col, keys, at) aes_enc_round(col, keys[at], keys[at + 1], keys[at + 2], keys[at + 3])
#define AES_DEC_KEY(col, keys, at) aes_dec_round(col, keys[at], keys[at + 1], keys[at + 2], keys[at + 3])

DEVFN void aes_load_state(u32 c[4][4], const u64 st[8]) {
    for (int i = 0; i < 4; ++i) {
        c[i][0] = (u32)st[2 * i];
        c[i][1] = (u32)(st[2 * i] >> 32);
        c[i][2] = (u32)st[2 * i + 1];
        c[i][3] = (u32)(st[2 * i + 1] >> 32);
    }
}

DEVFN void aes_store_state(u64 st[8], u32 c[4][4]) {
    for (int i = 0; i < 4; ++i) {
        st[2 * i] = (u64)c[i][0] | (u64)c[i][1] << 32;
        st[2 * i + 1] = (u64)c[i][2] | (u64)c[i][3] << 32;
    }
}

/* AesGenerator1R: nblocks 64-byte outputs from state st (updated) into out (global words). */
DEVFN void aes_gen1r(u64 st[8], GLOBAL u64* out, u32 nblocks) {
    u32 c[4][4];
    aes_load_state(c, st);
    for (u32 b = 0; b < nblocks; ++b) {
        AES_DEC_KEY(c[0], RX_AES_GEN1R_KEYS, 0);
        AES_ENC_KEY(c[1], RX_AES_GEN1R_KEYS, 4);
        AES_DEC_KEY(c[2], RX_AES_GEN1R_KEYS, 8);
        AES_ENC_KEY(c[3], RX_AES_GEN1R_KEYS, 12);
        for (int i = 0; i < 4; ++i) {
            out[8 * b + 2 * i] = (u64)c[i][0] | (u64)c[i][1] << 32;
            out[8 * b + 2 * i + 1] = (u64)c[i][2] | (u64)c[i][3] << 32;
        }
    }
    aes_store_state(st, c);
}

/* AesGenerator4R: nblocks 64-byte outputs from state st (updated) into out. */
DEVFN void aes_gen4r(u64 st[8], GLOBAL u64* out, u32 nblocks) {
    u32 c[4][4];
    aes_load_state(c, st);
    for (u32 b = 0; b < nblocks; ++b) {
        for (int r = 0; r < 4; ++r) {
            AES_DEC_KEY(c[0], RX_AES_GEN4R_KEYS, 4 * r);
            AES_ENC_KEY(c[1], RX_AES_GEN4R_KEYS, 4 * r);
            AES_DEC_KEY(c[2], RX_AES_GEN4R_KEYS, 16 + 4 * r);
            AES_ENC_KEY(c[3], RX_AES_GEN4R_KEYS, 16 + 4 * r);
        }
        for (int i = 0; i < 4; ++i) {
            out[8 * b + 2 * i] = (u64)c[i][0] | (u64)c[i][1] << 32;
            out[8 * b + 2 * i + 1] = (u64)c[i][2] | (u64)c[i][3] << 32;
        }
    }
    aes_store_state(st, c);
}

/* AesHash1R of nblocks 64-byte blocks at in; the 64-byte fingerprint goes to out. */
DEVFN void aes_hash1r(u64 out[8], GLOBAL const u64* in, u32 nblocks) {
    u32 c[4][4];
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) c[i][j] = RX_AES_HASH1R_STATE[4 * i + j];
    for (u32 b = 0; b < nblocks; ++b) {
        u32 k[16];
        for (int i = 0; i < 8; ++i) {
            u64 w = in[8 * b + i];
            k[2 * i] = (u32)w;
            k[2 * i + 1] = (u32)(w >> 32);
        }
        AES_ENC_KEY(c[0], k, 0);
        AES_DEC_KEY(c[1], k, 4);
        AES_ENC_KEY(c[2], k, 8);
        AES_DEC_KEY(c[3], k, 12);
    }
    for (int x = 0; x < 2; ++x) {
        AES_ENC_KEY(c[0], RX_AES_HASH1R_XKEYS, 4 * x);
        AES_DEC_KEY(c[1], RX_AES_HASH1R_XKEYS, 4 * x);
        AES_ENC_KEY(c[2], RX_AES_HASH1R_XKEYS, 4 * x);
        AES_DEC_KEY(c[3], RX_AES_HASH1R_XKEYS, 4 * x);
    }
    aes_store_state(out, c);
}

/* Test entries: generators from 64-byte seeds (seeds updated in place), hash of blocks. */
KERNEL void test_aes_gen(GLOBAL u64* seeds, GLOBAL u64* out, u32 nblocks, u32 rounds4,
                         u32 count) {
    u32 i = GID0;
    if (i >= count) return;
    u64 st[8];
    for (int w = 0; w < 8; ++w) st[w] = seeds[8 * i + w];
    if (rounds4)
        aes_gen4r(st, out + (u64)i * 8 * nblocks, nblocks);
    else
        aes_gen1r(st, out + (u64)i * 8 * nblocks, nblocks);
    for (int w = 0; w < 8; ++w) seeds[8 * i + w] = st[w];
}

KERNEL void test_aes_hash(GLOBAL const u64* in, u32 nblocks, GLOBAL u64* out, u32 count) {
    u32 i = GID0;
    if (i >= count) return;
    u64 h[8];
    aes_hash1r(h, in + (u64)i * 8 * nblocks, nblocks);
    for (int w = 0; w < 8; ++w) out[8 * i + w] = h[w];
}

/*
 * Four lanes a hash (scratchpad fill, final AesHash1R): lane c of a hash runs the RandomX
 * state's 16-byte column c, one AES state, with the T-tables in work-group memory (TE at 0,
 * TD at 256; aes_tables_to_local, then a barrier).  AESENC and AESDEC are the same
 * instructions with another table and the neighbour columns swapped (selects on `enc`), so
 * the encrypting and decrypting lanes of a warp never diverge.
 */
#define AES_LOCAL_WORDS 512

DEVFN void aes_tables_to_local(LOCAL u32* t, u32 lane, u32 lanes) {
    for (u32 i = lane; i < 256; i += lanes) {
        t[i] = RX_AES_TE[i];
        t[256 + i] = RX_AES_TD[i];
    }
}

/* One AESENC (enc) or AESDEC round of s, then XOR with k0..k3. */
DEVFN void aes_round_lanes(u32 s[4], u32 enc, LOCAL const u32* tables, u32 k0, u32 k1, u32 k2,
                           u32 k3) {
    LOCAL const u32* t = tables + (enc ? 0 : 256);
    u32 s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
    s[0] = t[s0 & 0xFF] ^ ROTL32(t[((enc ? s1 : s3) >> 8) & 0xFF], 8) ^
           ROTL32(t[(s2 >> 16) & 0xFF], 16) ^ ROTL32(t[(enc ? s3 : s1) >> 24], 24) ^ k0;
    s[1] = t[s1 & 0xFF] ^ ROTL32(t[((enc ? s2 : s0) >> 8) & 0xFF], 8) ^
           ROTL32(t[(s3 >> 16) & 0xFF], 16) ^ ROTL32(t[(enc ? s0 : s2) >> 24], 24) ^ k1;
    s[2] = t[s2 & 0xFF] ^ ROTL32(t[((enc ? s3 : s1) >> 8) & 0xFF], 8) ^
           ROTL32(t[(s0 >> 16) & 0xFF], 16) ^ ROTL32(t[(enc ? s1 : s3) >> 24], 24) ^ k2;
    s[3] = t[s3 & 0xFF] ^ ROTL32(t[((enc ? s0 : s2) >> 8) & 0xFF], 8) ^
           ROTL32(t[(s1 >> 16) & 0xFF], 16) ^ ROTL32(t[(enc ? s2 : s0) >> 24], 24) ^ k3;
}

/* AesGenerator1R, column c of the state in st[2c], st[2c + 1] (updated): nblocks outputs,
 * this column's 16 bytes of each 64-byte block of out. */
DEVFN void aes_gen1r_lane(GLOBAL u64* st, GLOBAL u64* out, u32 nblocks, u32 c,
                          LOCAL const u32* tables) {
    u32 s[4] = {(u32)st[2 * c], (u32)(st[2 * c] >> 32), (u32)st[2 * c + 1],
                (u32)(st[2 * c + 1] >> 32)};
    u32 k0 = RX_AES_GEN1R_KEYS[4 * c], k1 = RX_AES_GEN1R_KEYS[4 * c + 1];
    u32 k2 = RX_AES_GEN1R_KEYS[4 * c + 2], k3 = RX_AES_GEN1R_KEYS[4 * c + 3];
    u32 enc = c & 1; /* columns 0 and 2 decrypt */
    for (u32 b = 0; b < nblocks; ++b) {
        aes_round_lanes(s, enc, tables, k0, k1, k2, k3);
        out[8 * (u64)b + 2 * c] = (u64)s[0] | (u64)s[1] << 32;
        out[8 * (u64)b + 2 * c + 1] = (u64)s[2] | (u64)s[3] << 32;
    }
    st[2 * c] = (u64)s[0] | (u64)s[1] << 32;
    st[2 * c + 1] = (u64)s[2] | (u64)s[3] << 32;
}

/* AesHash1R, column c: out[2c], out[2c + 1] of the 64-byte fingerprint of nblocks at in. */
DEVFN void aes_hash1r_lane(GLOBAL u64* out, GLOBAL const u64* in, u32 nblocks, u32 c,
                           LOCAL const u32* tables) {
    u32 s[4] = {RX_AES_HASH1R_STATE[4 * c], RX_AES_HASH1R_STATE[4 * c + 1],
                RX_AES_HASH1R_STATE[4 * c + 2], RX_AES_HASH1R_STATE[4 * c + 3]};
    u32 enc = (c & 1) ^ 1; /* columns 0 and 2 encrypt */
    for (u32 b = 0; b < nblocks; ++b) {
        u64 lo = in[8 * (u64)b + 2 * c], hi = in[8 * (u64)b + 2 * c + 1];
        aes_round_lanes(s, enc, tables, (u32)lo, (u32)(lo >> 32), (u32)hi, (u32)(hi >> 32));
    }
    for (u32 x = 0; x < 2; ++x)
        aes_round_lanes(s, enc, tables, RX_AES_HASH1R_XKEYS[4 * x], RX_AES_HASH1R_XKEYS[4 * x + 1],
                        RX_AES_HASH1R_XKEYS[4 * x + 2], RX_AES_HASH1R_XKEYS[4 * x + 3]);
    out[2 * c] = (u64)s[0] | (u64)s[1] << 32;
    out[2 * c + 1] = (u64)s[2] | (u64)s[3] << 32;
}
