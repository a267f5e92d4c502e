"""The pipelined batch scan equals one-hash-at-a-time results."""

from __future__ import annotations

import ctypes
import ctypes.util
import random
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from xminer.randomx import VM, Cache, Flags, Scanner, hash_tail, recommended_flags
from xminer.randomx.scan import ChainState, Interrupt, ScanResult

KEY = b"scan test key"


@pytest.fixture(scope="module")
def vm() -> Iterator[VM]:
    flags = recommended_flags() & ~Flags.LARGE_PAGES
    cache = Cache(flags)
    cache.init(KEY)
    machine = VM(flags, cache, None)
    yield machine
    machine.destroy()
    cache.release()


def with_nonce(blob: bytes, nonce: int) -> bytes:
    b = bytearray(blob)
    struct.pack_into("<I", b, 39, nonce & 0xFFFFFFFF)
    return bytes(b)


def reference(vm: VM, blob: bytes, start: int, count: int) -> list[tuple[int, bytes]]:
    return [(n & 0xFFFFFFFF, vm.hash(with_nonce(blob, n))) for n in range(start, start + count)]


@pytest.mark.parametrize("native", [True, False], ids=["c-loop", "python-loop"])
@pytest.mark.parametrize("seed", range(4))
def test_batch_equals_single_hashes(vm: VM, seed: int, native: bool) -> None:
    rng = random.Random(seed)
    blob = rng.randbytes(rng.choice([76, 80, 112]))
    start = rng.choice([0, rng.randrange(2**32 - 16), 2**32 - 3])  # includes a wrap
    count = rng.randint(1, 9)
    singles = reference(vm, blob, start, count)
    tails = [hash_tail(h) for _, h in singles]
    # a target that makes the first and the last nonce of the batch shares
    target = max(tails[0], tails[-1]) + 1
    scanner = Scanner(vm, native)
    assert scanner.native == native  # CI has gcc: the C loop is built, never silently skipped
    scanner.set_blob(blob)
    result = scanner.scan(start, count, target)
    assert result.hashes == count
    expected_xor = 0
    for t in tails:
        expected_xor ^= t
    assert result.tail_xor == expected_xor
    assert result.shares == [(n, h) for n, h in singles if hash_tail(h) < target]
    assert result.shares[0][0] == start & 0xFFFFFFFF
    assert result.shares[-1][0] == (start + count - 1) & 0xFFFFFFFF


@pytest.mark.parametrize("native", [True, False], ids=["c-loop", "python-loop"])
def test_batch_of_one_and_nothing(vm: VM, native: bool) -> None:
    scanner = Scanner(vm, native)
    scanner.set_blob(bytes(76))
    ((_nonce, digest),) = reference(vm, bytes(76), 7, 1)
    result = scanner.scan(7, 1, 2**64)
    assert result.shares == [(7, digest)]
    assert scanner.scan(7, 0, 2**64).hashes == 0
    assert scanner.scan(7, 1, 0).shares == []


def test_chained_rule_matches_its_definition(vm: VM) -> None:
    """XMRig's one-thread rule: input k carries base ^ S_0 ^ ... ^ S_(k-1)."""
    blob = bytes(112)
    sums, folded, total = [], 0, 0
    for n in range(5):
        data = bytearray(with_nonce(blob, n))
        struct.pack_into("<Q", data, 0, folded)
        folded ^= total
        total ^= hash_tail(vm.hash(bytes(data)))
        sums.append(total)
    scanner = Scanner(vm)
    scanner.set_blob(blob)
    chain = ChainState()
    scanner.chained(0, 2, chain)
    scanner.chained(2, 3, chain)  # across batches
    assert chain.total == sums[-1]


def test_c_loop_stops_when_the_job_changes_or_mining_pauses(vm: VM) -> None:
    """A new job (the slot's epoch moves) or a pause (halt) ends a running batch after the
    hash in flight."""
    blob = bytes(range(76))
    singles = reference(vm, blob, 100, 2)
    scanner = Scanner(vm)
    scanner.set_blob(blob)
    epoch = ctypes.c_uint32(5)
    whole = scanner.scan(100, 2, 0, Interrupt(epoch, 5))
    assert whole.hashes == 2
    assert whole.tail_xor == hash_tail(singles[0][1]) ^ hash_tail(singles[1][1])
    cut = scanner.scan(100, 50, 2**64, Interrupt(epoch, 4))  # moved on before it started
    assert cut.hashes == 1 and cut.shares == [singles[0]]
    halted = scanner.scan(100, 50, 2**64, Interrupt(epoch, 5, ctypes.c_uint32(1)))  # paused
    assert halted.hashes == 1 and halted.shares == [singles[0]]


@pytest.mark.parametrize("native", [True, False], ids=["c-loop", "python-loop"])
def test_progress_moves_while_a_batch_runs(vm: VM, native: bool) -> None:
    """The live hash count grows per hash, read while the call is still running; a halt ends it."""
    progress = ctypes.c_uint64(5)
    scanner = Scanner(vm, native, progress)
    scanner.set_blob(bytes(76))
    halt = ctypes.c_uint32(0)
    got: list[ScanResult] = []
    worker = threading.Thread(
        target=lambda: got.append(scanner.scan(0, 10**6, 0, Interrupt(ctypes.c_uint32(1), 1, halt)))
    )
    worker.start()
    deadline = time.monotonic() + 120
    while progress.value <= 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert progress.value > 5 and worker.is_alive()
    halt.value = 1
    worker.join(120)
    assert not worker.is_alive()
    assert 0 < got[0].hashes < 10**6
    assert progress.value == 5 + got[0].hashes


@pytest.mark.parametrize("native", [True, False], ids=["c-loop", "python-loop"])
def test_stop_at_share_ends_the_batch_one_hash_later(vm: VM, native: bool) -> None:
    """The share is handed back at once; the pipeline's input in flight is finished."""
    blob = bytes(range(80))
    singles = reference(vm, blob, 40, 12)
    tails = [hash_tail(h) for _, h in singles]
    target = tails[3] + 1  # nonce 43 is a share, maybe some others too
    first = next(i for i, t in enumerate(tails) if t < target)
    scanner = Scanner(vm, native)
    scanner.set_blob(blob)
    cut = scanner.scan(40, 12, target, stop_at_share=True)
    assert cut.hashes == min(first + 2, 12)
    assert cut.shares[0] == singles[first]
    rest = scanner.scan(40 + cut.hashes, 12 - cut.hashes, target, stop_at_share=False)
    whole = scanner.scan(40, 12, target)
    assert cut.tail_xor ^ rest.tail_xor == whole.tail_xor
    assert cut.shares + rest.shares == whole.shares


@pytest.mark.parametrize("native", [True, False], ids=["c-loop", "python-loop"])
def test_blob_without_room_for_a_nonce_is_refused(vm: VM, native: bool) -> None:
    scanner = Scanner(vm, native)
    with pytest.raises(ValueError, match="no nonce"):
        scanner.set_blob(bytes(42))
    with pytest.raises(ValueError, match="set_blob"):
        scanner.scan(0, 1, 0)


def test_chain_stops_on_interrupt(vm: VM) -> None:
    """The one-thread benchmark chain ends on a pause or stop, and goes on where it ended."""
    scanner = Scanner(vm)
    scanner.set_blob(bytes(112))
    whole = ChainState()
    scanner.chained(0, 4, whole)
    halt = ctypes.c_uint32(1)
    pieces = ChainState()
    assert scanner.chained(0, 4, pieces, Interrupt(ctypes.c_uint32(0), 0, halt)) == 0
    halt.value = 0
    assert scanner.chained(0, 2, pieces, Interrupt(ctypes.c_uint32(0), 0, halt)) == 2
    assert scanner.chained(2, 2, pieces) == 2
    assert pieces.total == whole.total


_libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
_FE_DFL_ENV = ctypes.c_void_p(-1)  # glibc's FE_DFL_ENV: round to nearest, no FTZ/DAZ


def fp_behaviour() -> tuple[float, float]:
    """What the thread's SSE state does to float arithmetic (from variables, at run time):
    1 + 1.5 ulp/2 (1 + 2^-52 when rounding to nearest, 1 toward zero or down) and 2^-537
    squared (2^-1074, the smallest subnormal, 0 when subnormals are flushed)."""
    one, tiny = 1.0, 2.0**-537
    return one + float.fromhex("0x1.8p-53"), tiny * tiny


@pytest.mark.parametrize("native", [True, False], ids=["c-loop", "python-loop"])
def test_scan_leaves_the_callers_fp_environment(vm: VM, native: bool) -> None:
    """The library's hash_first/next/last leave the thread's SSE state as the last RandomX
    program set it (its rounding mode, subnormals flushed): the thread's later float
    arithmetic, numpy's included, must not inherit that."""
    scanner = Scanner(vm, native)
    scanner.set_blob(bytes(76))
    _libm.fesetenv(_FE_DFL_ENV)
    before = fp_behaviour()
    try:
        scanner.scan(0, 4, 2**63)
        after = fp_behaviour()
    finally:
        _libm.fesetenv(_FE_DFL_ENV)  # a failure here must not leak into later tests
    assert before == (1.0000000000000002, 5e-324)
    assert after == before
