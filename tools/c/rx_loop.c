/* The baseline for tools/bench_cpu.py: RandomX's own API in a plain C loop.
 * Builds the dataset on INIT threads, then hashes for SECONDS on THREADS threads, one VM each,
 * pipelined with randomx_calculate_hash_first/next, as a miner's inner loop does.
 * usage: rx_loop THREADS[,THREADS...] SECONDS INIT_THREADS LARGE_PAGES(0|1)
 * prints: init_ms=N large_pages=0|1, then per thread count: threads=T hashes=N seconds=S */
#include <randomx.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static randomx_cache *cache;
static randomx_dataset *dataset;
static randomx_flags flags;
static atomic_int stop_flag;
static unsigned long item_count;

struct init_arg { unsigned long start, count; };
struct hash_arg { int index; uint64_t hashes; };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *init_thread(void *p) {
    struct init_arg *a = p;
    randomx_init_dataset(dataset, cache, a->start, a->count);
    return NULL;
}

static void *hash_thread(void *p) {
    struct hash_arg *a = p;
    randomx_vm *vm = randomx_create_vm(flags, NULL, dataset);
    if (!vm) { fprintf(stderr, "create_vm failed\n"); exit(1); }
    uint8_t blob[76] = {0}, out[RANDOMX_HASH_SIZE];
    uint32_t nonce = (uint32_t)a->index << 28;
    memcpy(blob + 39, &nonce, 4);
    randomx_calculate_hash_first(vm, blob, sizeof blob);
    while (!atomic_load(&stop_flag)) {
        nonce++;
        memcpy(blob + 39, &nonce, 4);
        randomx_calculate_hash_next(vm, blob, sizeof blob, out);
        a->hashes++;
    }
    randomx_calculate_hash_last(vm, out);
    randomx_destroy_vm(vm);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: rx_loop THREADS SECONDS INIT LARGE_PAGES\n"); return 2; }
    int init = atoi(argv[3]), large = atoi(argv[4]);
    double seconds = atof(argv[2]);
    flags = randomx_get_flags() | RANDOMX_FLAG_FULL_MEM | (large ? RANDOMX_FLAG_LARGE_PAGES : 0);
    cache = randomx_alloc_cache(flags);
    dataset = randomx_alloc_dataset(flags);
    if (!cache || !dataset) {
        flags &= ~RANDOMX_FLAG_LARGE_PAGES;
        if (!cache) cache = randomx_alloc_cache(flags);
        if (!dataset) dataset = randomx_alloc_dataset(flags);
    }
    if (!cache || !dataset) { fprintf(stderr, "allocation failed\n"); return 1; }
    double t0 = now();
    uint8_t key[32] = {0};
    randomx_init_cache(cache, key, sizeof key);
    item_count = randomx_dataset_item_count();
    pthread_t tid[256];
    struct init_arg ia[256];
    unsigned long per = item_count / init;
    for (int i = 0; i < init; i++) {
        ia[i].start = i * per;
        ia[i].count = i == init - 1 ? item_count - ia[i].start : per;
        pthread_create(&tid[i], NULL, init_thread, &ia[i]);
    }
    for (int i = 0; i < init; i++) pthread_join(tid[i], NULL);
    double init_ms = (now() - t0) * 1000;

    printf("init_ms=%.0f large_pages=%d\n", init_ms, (flags & RANDOMX_FLAG_LARGE_PAGES) ? 1 : 0);
    struct hash_arg ha[256];
    for (char *tok = strtok(argv[1], ","); tok; tok = strtok(NULL, ",")) {
        int threads = atoi(tok);
        atomic_store(&stop_flag, 0);
        double h0 = now();
        for (int i = 0; i < threads; i++) {
            ha[i].index = i; ha[i].hashes = 0;
            pthread_create(&tid[i], NULL, hash_thread, &ha[i]);
        }
        struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
        nanosleep(&ts, NULL);
        atomic_store(&stop_flag, 1);
        uint64_t total = 0;
        for (int i = 0; i < threads; i++) { pthread_join(tid[i], NULL); total += ha[i].hashes; }
        printf("threads=%d hashes=%llu seconds=%.3f\n", threads, (unsigned long long)total,
               now() - h0);
        fflush(stdout);
    }
    randomx_release_dataset(dataset);
    randomx_release_cache(cache);
    return 0;
}
