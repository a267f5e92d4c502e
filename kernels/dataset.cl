/*
 * dataset.cl - RandomX dataset items (spec 7.3).
 * Light mode computes an item from the 256 MiB cache with the 8 SuperscalarHash programs
 * generated on the host (xminer/randomx/superscalar.py, pack_programs):
 *   per program (SS_PROGRAM_STRIDE words): word 0 = size | address_register << 16, word 1
 *   unused, then per instruction word A = type | dst << 8 | src << 16 | shift << 24 |
 *   rotation << 32 and word B = the 64-bit operand (sign-extended imm32 or reciprocal).
 * Fast mode reads items from the dataset, split in chunks of chunk_items items; rx_init_dataset
 * builds it on the device from the cache (a range of items a launch), or the host uploads or
 * maps one the library built.
 * The 8 registers of an item live in work-group memory, a column per lane (no private array
 * indexed at run time, which a GPU would put on its stack).
 */

#define RX_MAX_LANES 64 /* work-group size limit of the kernels with work-group registers */
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

/* Registers in work-group memory, one lane's column: register k at r[k * stride]. */
#define SSR(k) r[(u32)(k) * stride]

DEVFN void superscalar_run(LOCAL u64* r, u32 stride, GLOBAL const u64* prog, u32 size) {
    for (u32 i = 0; i < size; ++i) {
        u64 a = prog[2 + 2 * i];
        u64 operand = prog[3 + 2 * i];
        u32 dst = (u32)(a >> 8) & 7, src = (u32)(a >> 16) & 7;
        u64 x = SSR(dst), y = SSR(src);
        switch ((u32)a & 0xFF) {
        case SS_ISUB_R: x -= y; break;
        case SS_IXOR_R: x ^= y; break;
        case SS_IADD_RS: x += y << ((a >> 24) & 3); break;
        case SS_IMUL_R: x *= y; break;
        case SS_IROR_C: x = ROTR64(x, (u32)(a >> 32)); break;
        case SS_IADD_C7:
        case SS_IADD_C8:
        case SS_IADD_C9: x += operand; break;
        case SS_IXOR_C7:
        case SS_IXOR_C8:
        case SS_IXOR_C9: x ^= operand; break;
        case SS_IMULH_R: x = MULHI_U64(x, y); break;
        case SS_ISMULH_R: x = MULHI_I64(x, y); break;
        default: x *= operand; break; /* SS_IMUL_RCP */
        }
        SSR(dst) = x;
    }
}

/* Item number item into r (8 registers of stride words, see SSR). */
DEVFN void dataset_item_light(LOCAL u64* r, u32 stride, GLOBAL const u64* cache,
                              GLOBAL const u64* programs, u64 item) {
    u64 r0 = (item + 1) * 6364136223846793005UL;
    SSR(0) = r0;
    SSR(1) = r0 ^ 9298411001130361340UL;
    SSR(2) = r0 ^ 12065312585734608966UL;
    SSR(3) = r0 ^ 9306329213124626780UL;
    SSR(4) = r0 ^ 5281919268842080866UL;
    SSR(5) = r0 ^ 10536153434571861004UL;
    SSR(6) = r0 ^ 3398623926847679864UL;
    SSR(7) = r0 ^ 9549104520008361294UL;
    u64 address = item;
    for (u32 p = 0; p < SS_CACHE_ACCESSES; ++p) {
        GLOBAL const u64* mix = cache + (u64)((u32)address & CACHE_ITEM_MASK) * 8;
        GLOBAL const u64* prog = programs + p * SS_PROGRAM_STRIDE;
        u32 header = (u32)prog[0];
        superscalar_run(r, stride, prog, header & 0xFFFF);
        for (int j = 0; j < 8; ++j) SSR(j) ^= mix[j];
        address = SSR((header >> 16) & 7);
    }
}

/* Where the VM reads dataset items from: light (cache + programs) or fast (chunks). */
typedef struct {
    GLOBAL const u64* chunk[4];
    GLOBAL const u64* programs;
    u32 chunk_items;
    u32 light;
} DatasetSource;

DEVFN void dataset_item(LOCAL u64* r, u32 stride, const DatasetSource* ds, u64 item) {
    if (ds->light) {
        dataset_item_light(r, stride, ds->chunk[0], ds->programs, item);
        return;
    }
    u32 c = (u32)(item / ds->chunk_items);
    u64 at = (item - (u64)c * ds->chunk_items) * 8;
    GLOBAL const u64* base = c == 0 ? ds->chunk[0] : c == 1 ? ds->chunk[1] : c == 2 ? ds->chunk[2] : ds->chunk[3];
    for (int j = 0; j < 8; ++j) SSR(j) = base[at + j];
}

/* Test entry: items start .. start+count-1 in light mode. */
KERNEL void test_dataset_items(GLOBAL const u64* cache, GLOBAL const u64* programs, u64 start,
                               GLOBAL u64* out, u32 count) {
    LOCAL_ARRAY(u64, regs, 8 * RX_MAX_LANES);
    u32 i = GID0;
    if (i >= count) return;
    LOCAL u64* r = regs + LID0;
    u32 stride = LSIZE0;
    dataset_item_light(r, stride, cache, programs, start + i);
    for (int j = 0; j < 8; ++j) out[8 * (u64)i + j] = SSR(j);
}

/* Fast mode's dataset on the device: items first .. first+count-1 from the cache, written to
 * the chunk out whose first item is chunk_first (first >= chunk_first, the range within the
 * chunk).  At most RX_MAX_LANES work-items a group. */
KERNEL void rx_init_dataset(GLOBAL const u64* cache, GLOBAL const u64* programs, GLOBAL u64* out,
                            u32 chunk_first, u32 first, u32 count) {
    LOCAL_ARRAY(u64, regs, 8 * RX_MAX_LANES);
    u32 i = GID0;
    if (i >= count) return;
    LOCAL u64* r = regs + LID0;
    u32 stride = LSIZE0;
    u32 item = first + i;
    dataset_item_light(r, stride, cache, programs, item);
    GLOBAL u64* to = out + (u64)(item - chunk_first) * 8;
    for (int j = 0; j < 8; ++j) to[j] = SSR(j);
}
