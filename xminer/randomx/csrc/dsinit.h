/* Frame of the generated dataset builder (xminer/randomx/datasetinit.py writes the body).
 *
 * xminer_dsinit(cache, out, start, count) writes dataset items start..start+count-1 (RandomX
 * spec 7.3) to out, 64 bytes each.  Registers r0..r7 of LANES items live in one vector each
 * (batch a: a0..a7, batch b: b0..b7, ...); a cache line is prefetched when its address is
 * known, one program before it is mixed in.  Lines are transposed into register vectors. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#if LANES == 8 /* AVX-512: one zmm per register */
typedef uint64_t V __attribute__((vector_size(64)));
typedef int64_t SV __attribute__((vector_size(64)));
#define MUL32(a, b) ((V)_mm512_mul_epu32((__m512i)(a), (__m512i)(b)))
#define LANE_NUMBERS {0, 1, 2, 3, 4, 5, 6, 7}
#elif LANES == 4 /* AVX2: one ymm per register */
typedef uint64_t V __attribute__((vector_size(32)));
typedef int64_t SV __attribute__((vector_size(32)));
#define MUL32(a, b) ((V)_mm256_mul_epu32((__m256i)(a), (__m256i)(b)))
#define LANE_NUMBERS {0, 1, 2, 3}
#else
#error LANES must be 8 or 4
#endif
#define CACHE_MASK 4194303ULL /* 256 MiB / 64 - 1 */
#define ITEM_MUL 6364136223846793005ULL

/* High 64 bits of the unsigned 128-bit product, from four 32x32 products. */
static inline __attribute__((always_inline)) V mulhi(V a, V b) {
    V ah = a >> 32, bh = b >> 32;
    V t = MUL32(ah, b) + (MUL32(a, b) >> 32);
    V w = (t & 0xffffffffULL) + MUL32(a, bh);
    return MUL32(ah, bh) + (t >> 32) + (w >> 32);
}

/* Signed high product: the unsigned one minus b when a < 0 and minus a when b < 0. */
static inline __attribute__((always_inline)) V smulhi(V a, V b) {
    V h = mulhi(a, b);
    h -= (V)((SV)a >> 63) & b;
    h -= (V)((SV)b >> 63) & a;
    return h;
}

#if LANES == 8
/* m[j] lane i -> m[i] lane j (8x8 words): lines of 8 items -> registers r0..r7, and back. */
static inline __attribute__((always_inline)) void transpose(V *m) {
    const V even = {0, 8, 2, 10, 4, 12, 6, 14}, odd = {1, 9, 3, 11, 5, 13, 7, 15};
    const V pair_lo = {0, 1, 8, 9, 4, 5, 12, 13}, pair_hi = {2, 3, 10, 11, 6, 7, 14, 15};
    const V quad_lo = {0, 1, 2, 3, 8, 9, 10, 11}, quad_hi = {4, 5, 6, 7, 12, 13, 14, 15};
    V t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = __builtin_shuffle(m[k], m[k + 1], even);
        t[k + 1] = __builtin_shuffle(m[k], m[k + 1], odd);
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = __builtin_shuffle(t[k], t[k + 2], pair_lo);
        u[k + 1] = __builtin_shuffle(t[k + 1], t[k + 3], pair_lo);
        u[k + 2] = __builtin_shuffle(t[k], t[k + 2], pair_hi);
        u[k + 3] = __builtin_shuffle(t[k + 1], t[k + 3], pair_hi);
    }
    for (int k = 0; k < 4; k++) {
        m[k] = __builtin_shuffle(u[k], u[k + 4], quad_lo);
        m[k + 4] = __builtin_shuffle(u[k], u[k + 4], quad_hi);
    }
}
#else
/* 4x4 words in place: m[j] lane i -> m[i] lane j. */
static inline __attribute__((always_inline)) void transpose4(V *m) {
    const V even = {0, 4, 2, 6}, odd = {1, 5, 3, 7}, lo = {0, 1, 4, 5}, hi = {2, 3, 6, 7};
    V t0 = __builtin_shuffle(m[0], m[1], even), t1 = __builtin_shuffle(m[0], m[1], odd);
    V t2 = __builtin_shuffle(m[2], m[3], even), t3 = __builtin_shuffle(m[2], m[3], odd);
    m[0] = __builtin_shuffle(t0, t2, lo);
    m[1] = __builtin_shuffle(t1, t3, lo);
    m[2] = __builtin_shuffle(t0, t2, hi);
    m[3] = __builtin_shuffle(t1, t3, hi);
}

/* 4 lines of 8 words (m[2j], m[2j+1] = line j) <-> registers r0..r7 of 4 items (m[i]). */
static inline __attribute__((always_inline)) void transpose(V *m) {
    V lo[4] = {m[0], m[2], m[4], m[6]}, hi[4] = {m[1], m[3], m[5], m[7]};
    transpose4(lo);
    transpose4(hi);
    for (int k = 0; k < 4; k++) {
        m[k] = lo[k];
        m[k + 4] = hi[k];
    }
}

/* Registers r0..r7 of 4 items -> 4 lines of 8 words (m[2j], m[2j+1] = line j). */
static inline __attribute__((always_inline)) void untranspose(V *m) {
    V lo[4] = {m[0], m[1], m[2], m[3]}, hi[4] = {m[4], m[5], m[6], m[7]};
    transpose4(lo);
    transpose4(hi);
    for (int k = 0; k < 4; k++) {
        m[2 * k] = lo[k];
        m[2 * k + 1] = hi[k];
    }
}
#endif

#define BEGIN_ITEMS                                                                    \
    void xminer_dsinit(const uint8_t *cache, uint8_t *out, uint64_t start, uint64_t count) { \
        const uint64_t end = start + count;                                            \
        for (uint64_t first = start; first < end; first += LANES * BATCHES) {

#define INIT_REGS(v, i)                                                              \
    V v##n = (V)LANE_NUMBERS + (first + (i) * LANES);                    \
    V v##0 = (v##n + 1) * ITEM_MUL;                                                  \
    V v##1 = v##0 ^ 9298411001130361340ULL, v##2 = v##0 ^ 12065312585734608966ULL;   \
    V v##3 = v##0 ^ 9306329213124626780ULL, v##4 = v##0 ^ 5281919268842080866ULL;   \
    V v##5 = v##0 ^ 10536153434571861004ULL, v##6 = v##0 ^ 3398623926847679864ULL;   \
    V v##7 = v##0 ^ 9549104520008361294ULL;                                          \
    V v##addr = v##n;                                                                \
    const uint8_t *v##line[LANES];

#define FETCH(v)                                                     \
    for (int j = 0; j < LANES; j++) {                                \
        v##line[j] = cache + (v##addr[j] & CACHE_MASK) * 64;         \
        __builtin_prefetch(v##line[j], 0, 0);                        \
    }

#define MIX(v, address)                                                \
    {                                                                  \
        V m[8];                                                        \
        for (int j = 0; j < LANES; j++) memcpy(&m[j * 8 / LANES], v##line[j], 64); \
        transpose(m);                                                  \
        v##0 ^= m[0]; v##1 ^= m[1]; v##2 ^= m[2]; v##3 ^= m[3];        \
        v##4 ^= m[4]; v##5 ^= m[5]; v##6 ^= m[6]; v##7 ^= m[7];        \
        v##addr = address;                                             \
    }

#if LANES == 8
#define TO_LINES transpose
#else
#define TO_LINES untranspose
#endif

#define STORE(v, i)                                                          \
    {                                                                        \
        V m[8] = {v##0, v##1, v##2, v##3, v##4, v##5, v##6, v##7};           \
        TO_LINES(m);                                                         \
        uint64_t base = first + (i) * LANES;                                 \
        for (int j = 0; j < LANES; j++)                                      \
            if (base + j < end) memcpy(out + (base + j - start) * 64, &m[j * 8 / LANES], 64); \
    }

#define END_ITEMS \
        }         \
    }
