"""Hash stages on the device: initial Blake2b, scratchpad fill, program generation, one program
run (whole or in pieces, as bfactor splits it)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from tests import rxref

pytestmark = pytest.mark.opencl

SCRATCHPAD = 2 * 1024 * 1024
ITERATIONS = 2048


def _read(ck: Any, buf: Any, size: int, offset: int = 0) -> bytes:
    import pyopencl as cl

    out = np.empty(size, np.uint8)
    cl.enqueue_copy(ck.queue, out, buf, src_offset=offset)
    return out.tobytes()


def test_seed_fill_and_program_generation(light_rx: Any) -> None:
    import pyopencl as cl

    from xminer.backends.opencl import randomx as ocl

    rx = light_rx  # the stages are driven on its (internal) per-hash buffers
    rx.set_key(b"stage key")
    ck = rx.ck
    data = b"stage test input"
    flags = cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR
    inputs = cl.Buffer(ck.context, flags, hostbuf=np.frombuffer(data, np.uint8))
    meta = cl.Buffer(ck.context, flags, hostbuf=np.array([0, len(data)], np.uint32))
    zero = np.uint32(0)
    ocl.launch(ck, "rx_init", 1, 1, inputs, meta, zero, zero, zero, rx._state)
    seed = _read(ck, rx._state, 64)
    assert seed == hashlib.blake2b(data, digest_size=64).digest()

    ocl.launch(ck, "rx_fill_scratchpad", 1, 1, rx._state, rx._scratchpads)
    head = _read(ck, rx._scratchpads, 256)
    tail = _read(ck, rx._scratchpads, 128, SCRATCHPAD - 128)
    gen1_state = _read(ck, rx._state, 64)
    assert head == rxref.aes_gen1r(seed, 4)[0]
    assert tail[64:] == rxref.aes_gen1r(tail[:64], 1)[0]
    assert gen1_state == tail[64:]  # the generator state is its last output

    ocl.launch(ck, "rx_compile_program", 1, 1, rx._state, rx._programs, rx._code, zero)
    program = _read(ck, rx._programs, ocl.PROGRAM_WORDS * 8)
    assert program == rxref.aes_gen4r(gen1_state, ocl.PROGRAM_WORDS // 8)[0]


# (first_iteration, iterations) launches of one program: whole (rx_run_program, bfactor 0),
# and rx_run_program_piece in one piece and in uneven pieces, the last one asking for more
# iterations than are left
PIECES = {
    "whole": [],
    "one-piece": [(0, ITERATIONS)],
    "pieces": [(0, 1), (1, 700), (701, 1), (702, ITERATIONS)],
}


@pytest.mark.parametrize("pieces", list(PIECES.values()), ids=list(PIECES))
def test_one_program_run_matches_python_vm(light_rx: Any, pieces: list[tuple[int, int]]) -> None:
    """Program 0 of a hash on the device, in launches of first_iteration, iterations, vs the
    Python VM (tests/rxref.run_program)."""

    import pyopencl as cl

    from xminer.backends.opencl import randomx as ocl

    key, data = b"program run key", b"one program"
    rx = light_rx
    rx.set_key(key)
    ck = rx.ck
    flags = cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR
    inputs = cl.Buffer(ck.context, flags, hostbuf=np.frombuffer(data, np.uint8))
    meta = cl.Buffer(ck.context, flags, hostbuf=np.array([0, len(data)], np.uint32))
    zero = np.uint32(0)
    ocl.launch(ck, "rx_init", 1, 1, inputs, meta, zero, zero, zero, rx._state)
    ocl.launch(ck, "rx_fill_scratchpad", 1, 1, rx._state, rx._scratchpads)
    scratchpad = bytearray(_read(ck, rx._scratchpads, SCRATCHPAD))
    chunks = [rx._chunks[0], rx._dummy, rx._dummy, rx._dummy]
    common = (
        rx._state, rx._scratchpads, rx._programs, rx._code, *chunks, rx._ss_programs,
        np.uint32(1), np.uint32(1),
    )  # fmt: skip
    ocl.launch(ck, "rx_compile_program", 1, 1, rx._state, rx._programs, rx._code, zero)
    if not pieces:
        ocl.launch(ck, "rx_run_program", 1, 1, *common)
    for first, iterations in pieces:
        piece = (np.uint32(first), np.uint32(iterations))
        ocl.launch(ck, "rx_run_program_piece", 1, 1, *common, *piece)
    state = _read(ck, rx._state, ocl.STATE_WORDS * 8)
    program = _read(ck, rx._programs, ocl.PROGRAM_WORDS * 8)
    device_regs, device_fprc = state[16 * 8 : 48 * 8], int.from_bytes(state[64:72], "little")

    with rxref.library_items(key) as item:
        regs, fprc = rxref.run_program(program, scratchpad, 0, item)
    assert fprc == device_fprc
    assert regs == device_regs
    assert bytes(scratchpad) == _read(ck, rx._scratchpads, SCRATCHPAD)
