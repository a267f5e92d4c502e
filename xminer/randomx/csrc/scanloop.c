/*
 * xminer's batch loop: hash nonces start .. start+count-1 of one blob on one VM, pipelined
 * through randomx_calculate_hash_first/next/last, in C so that a whole batch runs without
 * Python's GIL (ctypes releases it for the call).  Without it every hash would wait for the
 * GIL once, and a busy HTTP API would take hashrate away.
 *
 * The loop stops early when *epoch moves away from `seen` (the miner got a new job), when
 * *halt is non-zero (pause, stop) or, with `stop_at_share`, one hash after a share (the
 * pipeline's input in flight is finished) so that the caller sends the share at once; the
 * return value is how many nonces were hashed.  *progress grows by one per hash (an atomic
 * store, read by the miner's hashrate sampler while the batch runs).  Shares (hash tail <
 * target) go to share_nonces / share_hashes, which must hold `count` entries.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <randomx.h>

#define NONCE_OFFSET 39

static void put_nonce(uint8_t *blob, uint32_t nonce)
{
    for (int i = 0; i < 4; i++) {
        blob[NONCE_OFFSET + i] = (uint8_t)(nonce >> (8 * i));
    }
}

static uint64_t hash_tail(const uint8_t *hash)
{
    uint64_t tail = 0;
    for (int i = 7; i >= 0; i--) {
        tail = (tail << 8) | hash[24 + i];
    }
    return tail;
}

uint32_t xminer_scan(randomx_vm *vm, uint8_t *blob, size_t size, uint32_t start, uint32_t count,
                     uint64_t target, const uint32_t *epoch, uint32_t seen, const uint32_t *halt,
                     uint32_t stop_at_share, uint64_t *progress, uint64_t *tail_xor,
                     uint32_t *share_nonces, uint8_t *share_hashes, uint32_t *share_count)
{
    uint8_t hash[RANDOMX_HASH_SIZE];
    uint32_t done = 0;
    uint32_t shares = 0;
    uint64_t xor_sum = 0;
    uint64_t hashed = __atomic_load_n(progress, __ATOMIC_RELAXED);

    if (count > 0 && size >= NONCE_OFFSET + 4) {
        put_nonce(blob, start);
        randomx_calculate_hash_first(vm, blob, size);
        for (;;) {
            const uint32_t nonce = start + done;
            const int more = done + 1 < count && __atomic_load_n(epoch, __ATOMIC_RELAXED) == seen &&
                             __atomic_load_n(halt, __ATOMIC_RELAXED) == 0 &&
                             !(stop_at_share && shares > 0);
            if (more) {
                put_nonce(blob, nonce + 1);
                randomx_calculate_hash_next(vm, blob, size, hash);
            } else {
                randomx_calculate_hash_last(vm, hash);
            }
            const uint64_t tail = hash_tail(hash);
            xor_sum ^= tail;
            done++;
            __atomic_store_n(progress, ++hashed, __ATOMIC_RELAXED);
            if (tail < target) {
                share_nonces[shares] = nonce;
                memcpy(share_hashes + (size_t)shares * RANDOMX_HASH_SIZE, hash, RANDOMX_HASH_SIZE);
                shares++;
            }
            if (!more) {
                break;
            }
        }
    }
    *tail_xor = xor_sum;
    *share_count = shares;
    return done;
}
