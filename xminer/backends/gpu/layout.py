"""The kernels' buffer layout and launch constants, shared by the OpenCL and CUDA hosts.

Words are 8 bytes unless said; kernels/README.md describes the buffers.
"""

from __future__ import annotations

from xminer.randomx.constants import HASH_SIZE, SCRATCHPAD_SIZE

# Layout of the per-hash buffers of kernels/randomx.cl (words of 8 bytes unless said).
PROGRAM_COUNT = 8
PROGRAM_ITERATIONS = 2048
STATE_WORDS = 48  # 0-7 seed, 8 fprc, 9 ma | mx << 32, 16-47 register file
PROGRAM_WORDS = 16 + 256
CODE_WORDS = 2 * 256  # a program's micro-ops (kernels/uops.cl)
MAX_LANES = 64  # hashes a work-group at most (the 4-lane kernels: 256 work-items)
SCRATCHPAD_STRIDE = SCRATCHPAD_SIZE + 64  # bytes from one hash's scratchpad to the next
#: kernels run by several work-items a hash (one AES column each); the others by one
LANES_PER_HASH = {"rx_fill_scratchpad": 4, "rx_finish": 4}
#: kernels whose work-group memory is sized at launch: the VM registers, REGISTER_SLOTS words a
#: hash (RF_SLOTS in kernels/uops.cl); OpenCL passes it as their first argument
REGISTER_SLOTS = 41
LOCAL_REGISTERS = ("rx_run_program", "rx_run_program_piece")
HASH_BYTES = HASH_SIZE
NONCE_OFFSET = 39
#: rx_finish's result buffer: a 16-byte header (u32 hits found, u32 low and high halves of the
#: XOR of every tail, u32 unused) and then RESULT_CAPACITY hits of 40 bytes (u64 index in the
#: launch, the hash); kernels/randomx.cl's RX_RESULT_*
RESULT_HEADER_BYTES = 16
HIT_BYTES = 8 + HASH_BYTES
#: hits a launch keeps (XMRig's output buffer holds as many); a launch that finds more is read
#: again whole (every hash), so a share is never lost: at a pool's difficulty a launch finds
#: none or one, only a target that most hashes meet (tests, benches at diff 1) overflows
RESULT_CAPACITY = 255
MAX_DATASET_CHUNKS = 4  # rx_run_program takes ds0..ds3
#: rx_compile_program's program source: the seed (1st program), the register file's hash
#: (the others), or the programs buffer as it is (tests)
FROM_SEED, FROM_REGISTERS, FROM_PROGRAM = 0, 1, 2
#: XMRig's bfactor: each program's iterations in 2**bfactor launches (11: one iteration a
#: launch; XMRig's configs accept up to 12, clamped here)
MAX_BFACTOR = 11


#: rx_init_dataset launches (items): the first size, then doubled or halved to take about
#: DATASET_LAUNCH_S each, so that a stop between launches waits for one short launch only
DATASET_FIRST_LAUNCH = 4096
DATASET_LAUNCH_S = (0.1, 0.5)
DATASET_LANES = MAX_LANES  # its work-group size (the kernel holds MAX_LANES items' registers)


def per_hash_bytes() -> int:
    """Device memory for one hash in flight (scratchpad, state, program, micro-ops, hash)."""
    words = STATE_WORDS + PROGRAM_WORDS
    return SCRATCHPAD_STRIDE + words * 8 + CODE_WORDS * 8 + HASH_BYTES
