/*
 * blake2b.cl - BLAKE2b (RFC 7693), unkeyed, output 1..64 bytes.  Messages come either as
 * bytes in global memory (with an optional 32-bit nonce patched in, for mining blobs) or as
 * little-endian 64-bit words in private memory (RandomX register file, generator states).
 */

CONST_VAR u64 BLAKE2B_IV[8] = {
    0x6a09e667f3bcc908UL, 0xbb67ae8584caa73bUL, 0x3c6ef372fe94f82bUL, 0xa54ff53a5f1d36f1UL,
    0x510e527fade682d1UL, 0x9b05688c2b3e6c1fUL, 0x1f83d9abfb41bd6bUL, 0x5be0cd19137e2179UL};

CONST_VAR u8 BLAKE2B_SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

#define BLAKE2B_G(a, b, c, d, x, y)        \
    do {                                   \
        v[a] = v[a] + v[b] + (x);          \
        v[d] = ROTR64(v[d] ^ v[a], 32);    \
        v[c] = v[c] + v[d];                \
        v[b] = ROTR64(v[b] ^ v[c], 24);    \
        v[a] = v[a] + v[b] + (y);          \
        v[d] = ROTR64(v[d] ^ v[a], 16);    \
        v[c] = v[c] + v[d];                \
        v[b] = ROTR64(v[b] ^ v[c], 63);    \
    } while (0)

DEVFN void blake2b_compress(u64 h[8], const u64 m[16], u64 counter, int last) {
    u64 v[16];
    for (int i = 0; i < 8; ++i) {
        v[i] = h[i];
        v[i + 8] = BLAKE2B_IV[i];
    }
    v[12] ^= counter;
    if (last) v[14] = ~v[14];
    for (int r = 0; r < 12; ++r) {
        BLAKE2B_G(0, 4, 8, 12, m[BLAKE2B_SIGMA[r][0]], m[BLAKE2B_SIGMA[r][1]]);
        BLAKE2B_G(1, 5, 9, 13, m[BLAKE2B_SIGMA[r][2]], m[BLAKE2B_SIGMA[r][3]]);
        BLAKE2B_G(2, 6, 10, 14, m[BLAKE2B_SIGMA[r][4]], m[BLAKE2B_SIGMA[r][5]]);
        BLAKE2B_G(3, 7, 11, 15, m[BLAKE2B_SIGMA[r][6]], m[BLAKE2B_SIGMA[r][7]]);
        BLAKE2B_G(0, 5, 10, 15, m[BLAKE2B_SIGMA[r][8]], m[BLAKE2B_SIGMA[r][9]]);
        BLAKE2B_G(1, 6, 11, 12, m[BLAKE2B_SIGMA[r][10]], m[BLAKE2B_SIGMA[r][11]]);
        BLAKE2B_G(2, 7, 8, 13, m[BLAKE2B_SIGMA[r][12]], m[BLAKE2B_SIGMA[r][13]]);
        BLAKE2B_G(3, 4, 9, 14, m[BLAKE2B_SIGMA[r][14]], m[BLAKE2B_SIGMA[r][15]]);
    }
    for (int i = 0; i < 8; ++i) h[i] ^= v[i] ^ v[i + 8];
}

DEVFN void blake2b_init(u64 h[8], u32 outlen) {
    for (int i = 0; i < 8; ++i) h[i] = BLAKE2B_IV[i];
    h[0] ^= 0x01010000UL ^ (u64)outlen;
}

/* Byte i of a global message, with bytes nonce_at..nonce_at+3 replaced by the LE nonce
 * when nonce_at < len. */
DEVFN u32 blake2b_msg_byte(GLOBAL const u8* msg, u32 i, u32 nonce_at, u32 nonce) {
    if (i >= nonce_at && i < nonce_at + 4) return (nonce >> (8 * (i - nonce_at))) & 0xFF;
    return msg[i];
}

/* BLAKE2b of len bytes at msg (global), nonce patched in at byte nonce_at (pass nonce_at >=
 * len for none); the digest's words are written to out[0 .. (outlen+7)/8). */
DEVFN void blake2b_global(u64 out[8], u32 outlen, GLOBAL const u8* msg, u32 len, u32 nonce_at,
                          u32 nonce) {
    u64 h[8], m[16];
    blake2b_init(h, outlen);
    u32 done = 0;
    do {
        u32 block_len = len - done > 128 ? 128 : len - done;
        for (int w = 0; w < 16; ++w) m[w] = 0;
        for (u32 i = 0; i < block_len; ++i)
            m[i >> 3] |= (u64)blake2b_msg_byte(msg, done + i, nonce_at, nonce) << (8 * (i & 7));
        done += block_len;
        blake2b_compress(h, m, (u64)done, done == len);
    } while (done < len);
    for (int i = 0; i < 8; ++i) out[i] = h[i];
}

/* BLAKE2b of nwords little-endian words in private memory (nwords * 8 bytes). */
DEVFN void blake2b_words(u64 out[8], u32 outlen, const u64* words, u32 nwords) {
    u64 h[8], m[16];
    blake2b_init(h, outlen);
    u32 done = 0;
    do {
        u32 n = nwords - done > 16 ? 16 : nwords - done;
        for (u32 w = 0; w < 16; ++w) m[w] = w < n ? words[done + w] : 0;
        done += n;
        blake2b_compress(h, m, (u64)done * 8, done == nwords);
    } while (done < nwords);
    for (int i = 0; i < 8; ++i) out[i] = h[i];
}

/* Test entry: item i hashes meta[2i+1] bytes at inputs + meta[2i] into out[8i ..]. */
KERNEL void test_blake2b(GLOBAL const u8* inputs, GLOBAL const u32* meta, u32 outlen,
                         GLOBAL u64* out, u32 count) {
    u32 i = GID0;
    if (i >= count) return;
    u64 h[8];
    u32 len = meta[2 * i + 1];
    blake2b_global(h, outlen, inputs + meta[2 * i], len, len, 0);
    for (int w = 0; w < 8; ++w) out[8 * i + w] = h[w];
}
