/* Frame of the generated dataset builder (xminer/randomx/datasetinit.py writes the body).
 *
 * xminer_dsinit(cache, out, start, count) writes dataset items start..start+count-1 (RandomX
 * spec 7.3) to out, 64 bytes each.  Registers r0..r7 of LANES items live in one vector each
 * (batch a: a0..a7, batch b: b0..b7, ...); a cache line is prefetched when its address is
 * known, one program before it is mixed in.  Lines are transposed into register vectors. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

typedef uint64_t V __attribute__((vector_size(64)));
typedef int64_t SV __attribute__((vector_size(64)));
#define LANES 8
#define CACHE_MASK 4194303ULL /* 256 MiB / 64 - 1 */
#define ITEM_MUL 6364136223846793005ULL

static inline __attribute__((always_inline)) V mul32(V a, V b) {
    return (V)_mm512_mul_epu32((__m512i)a, (__m512i)b);
}

/* High 64 bits of the unsigned 128-bit product, from four 32x32 products. */
static inline __attribute__((always_inline)) V mulhi(V a, V b) {
    V ah = a >> 32, bh = b >> 32;
    V t = mul32(ah, b) + (mul32(a, b) >> 32);
    V w = (t & 0xffffffffULL) + mul32(a, bh);
    return mul32(ah, bh) + (t >> 32) + (w >> 32);
}

/* Signed high product: the unsigned one minus b when a < 0 and minus a when b < 0. */
static inline __attribute__((always_inline)) V smulhi(V a, V b) {
    V h = mulhi(a, b);
    h -= (V)((SV)a >> 63) & b;
    h -= (V)((SV)b >> 63) & a;
    return h;
}

/* m[j] lane i -> m[i] lane j (8x8 words). */
static inline __attribute__((always_inline)) void transpose8(V *m) {
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

#define BEGIN_ITEMS                                                                    \
    void xminer_dsinit(const uint8_t *cache, uint8_t *out, uint64_t start, uint64_t count) { \
        const uint64_t end = start + count;                                            \
        for (uint64_t first = start; first < end; first += LANES * BATCHES) {

#define INIT_REGS(v, i)                                                              \
    V v##n = (V){0, 1, 2, 3, 4, 5, 6, 7} + (first + (i) * LANES);                    \
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

#define MIX(v, address)                                              \
    {                                                                \
        V m[8];                                                      \
        for (int j = 0; j < LANES; j++) memcpy(&m[j], v##line[j], 64); \
        transpose8(m);                                               \
        v##0 ^= m[0]; v##1 ^= m[1]; v##2 ^= m[2]; v##3 ^= m[3];      \
        v##4 ^= m[4]; v##5 ^= m[5]; v##6 ^= m[6]; v##7 ^= m[7];      \
        v##addr = address;                                           \
    }

#define STORE(v, i)                                                          \
    {                                                                        \
        V m[8] = {v##0, v##1, v##2, v##3, v##4, v##5, v##6, v##7};           \
        transpose8(m);                                                       \
        uint64_t base = first + (i) * LANES;                                 \
        for (int j = 0; j < LANES; j++)                                      \
            if (base + j < end) memcpy(out + (base + j - start) * 64, &m[j], 64); \
    }

#define END_ITEMS \
        }         \
    }
