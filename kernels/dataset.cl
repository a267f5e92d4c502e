/*
 * dataset.cl - RandomX dataset items (spec 7.3).
 * Light mode computes an item from the 256 MiB cache with the 8 SuperscalarHash programs
 * generated on the host (xminer/randomx/superscalar.py, pack_programs):
 *   per program (SS_PROGRAM_STRIDE words): word 0 = size | address_register << 16, word 1
 *   unused, then per instruction word A = type | dst << 8 | src << 16 | shift << 24 |
 *   rotation << 32 and word B = the 64-bit operand (sign-extended imm32 or reciprocal).
 * Fast mode reads items from the host-built dataset, split in chunks of chunk_items items.
 */

#define SS_MAX_SIZE 512
#define SS_PROGRAM_STRIDE (2 + 2 * SS_MAX_SIZE)
#define SS_CACHE_ACCESSES 8
#define CACHE_ITEM_MASK ((256u * 1024u * 1024u / 64u) - 1u)

#define SS_ISUB_R 0
#define SS_IXOR_R 1
#define SS_IADD_RS 2
#define SS_IMUL_R 3
#define SS_IROR_C 4
#define SS_IADD_C7 5
#define SS_IXOR_C7 6
#define SS_IADD_C8 7
#define SS_IXOR_C8 8
#define SS_IADD_C9 9
#define SS_IXOR_C9 10
#define SS_IMULH_R 11
#define SS_ISMULH_R 12
#define SS_IMUL_RCP 13

DEVFN void superscalar_run(u64 r[8], GLOBAL const u64* prog, u32 size) {
    for (u32 i = 0; i < size; ++i) {
        u64 a = prog[2 + 2 * i];
        u64 operand = prog[3 + 2 * i];
        u32 dst = (u32)(a >> 8) & 7, src = (u32)(a >> 16) & 7;
        switch ((u32)a & 0xFF) {
        case SS_ISUB_R: r[dst] -= r[src]; break;
        case SS_IXOR_R: r[dst] ^= r[src]; break;
        case SS_IADD_RS: r[dst] += r[src] << ((a >> 24) & 3); break;
        case SS_IMUL_R: r[dst] *= r[src]; break;
        case SS_IROR_C: r[dst] = ROTR64(r[dst], (u32)(a >> 32)); break;
        case SS_IADD_C7:
        case SS_IADD_C8:
        case SS_IADD_C9: r[dst] += operand; break;
        case SS_IXOR_C7:
        case SS_IXOR_C8:
        case SS_IXOR_C9: r[dst] ^= operand; break;
        case SS_IMULH_R: r[dst] = MULHI_U64(r[dst], r[src]); break;
        case SS_ISMULH_R: r[dst] = MULHI_I64(r[dst], r[src]); break;
        default: r[dst] *= operand; break; /* SS_IMUL_RCP */
        }
    }
}

DEVFN void dataset_item_light(u64 r[8], GLOBAL const u64* cache, GLOBAL const u64* programs,
                              u64 item) {
    u64 r0 = (item + 1) * 6364136223846793005UL;
    r[0] = r0;
    r[1] = r0 ^ 9298411001130361340UL;
    r[2] = r0 ^ 12065312585734608966UL;
    r[3] = r0 ^ 9306329213124626780UL;
    r[4] = r0 ^ 5281919268842080866UL;
    r[5] = r0 ^ 10536153434571861004UL;
    r[6] = r0 ^ 3398623926847679864UL;
    r[7] = r0 ^ 9549104520008361294UL;
    u64 address = item;
    for (u32 p = 0; p < SS_CACHE_ACCESSES; ++p) {
        GLOBAL const u64* mix = cache + (u64)((u32)address & CACHE_ITEM_MASK) * 8;
        GLOBAL const u64* prog = programs + p * SS_PROGRAM_STRIDE;
        u32 header = (u32)prog[0];
        superscalar_run(r, prog, header & 0xFFFF);
        for (int j = 0; j < 8; ++j) r[j] ^= mix[j];
        address = r[(header >> 16) & 7];
    }
}

/* Where the VM reads dataset items from: light (cache + programs) or fast (chunks). */
typedef struct {
    GLOBAL const u64* chunk[4];
    GLOBAL const u64* programs;
    u32 chunk_items;
    u32 light;
} DatasetSource;

DEVFN void dataset_item(u64 r[8], const DatasetSource* ds, u64 item) {
    if (ds->light) {
        dataset_item_light(r, ds->chunk[0], ds->programs, item);
        return;
    }
    u32 c = (u32)(item / ds->chunk_items);
    u64 at = (item - (u64)c * ds->chunk_items) * 8;
    GLOBAL const u64* base = c == 0 ? ds->chunk[0] : c == 1 ? ds->chunk[1] : c == 2 ? ds->chunk[2] : ds->chunk[3];
    for (int j = 0; j < 8; ++j) r[j] = base[at + j];
}

/* Test entry: items start .. start+count-1 in light mode. */
KERNEL void test_dataset_items(GLOBAL const u64* cache, GLOBAL const u64* programs, u64 start,
                               GLOBAL u64* out, u32 count) {
    u32 i = GID0;
    if (i >= count) return;
    u64 r[8];
    dataset_item_light(r, cache, programs, start + i);
    for (int j = 0; j < 8; ++j) out[8 * (u64)i + j] = r[j];
}
