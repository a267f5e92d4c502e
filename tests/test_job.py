"""Targets and the shared nonce space."""

from __future__ import annotations

import threading

import pytest

from xminer.job import Job, JobSlot, NonceAllocator, difficulty_of, target_from_hex


def job(**kw: object) -> Job:
    base = {"job_id": "1", "blob": bytes(76), "seed_hash": bytes(32), "target": 2**60}
    base.update(kw)
    return Job(**base)  # type: ignore[arg-type]


def test_four_byte_target_as_xmrig_expands_it() -> None:
    t = target_from_hex("ffffff00")  # difficulty 256
    assert difficulty_of(t) == 256
    assert target_from_hex("f3220000") == 0xFFFFFFFFFFFFFFFF // (0xFFFFFFFF // 0x22F3)


def test_eight_byte_target_is_used_directly() -> None:
    assert target_from_hex("0100000000000000") == 1


@pytest.mark.parametrize("bad", ["", "ff", "00000000", "zz000000", "0011223344"])
def test_bad_targets(bad: str) -> None:
    with pytest.raises(ValueError):
        target_from_hex(bad)


def test_allocator_is_disjoint_across_threads() -> None:
    alloc = NonceAllocator(job(bench_size=10_000))
    seen: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        while True:
            start, count = alloc.next_batch(37)
            if not count:
                return
            with lock:
                seen.extend(range(start, start + count))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(10_000))
    assert alloc.exhausted


def test_nicehash_keeps_the_pool_byte() -> None:
    blob = bytearray(76)
    blob[42] = 0xAB
    alloc = NonceAllocator(job(blob=bytes(blob), nicehash=True))
    start, count = alloc.next_batch(100)
    assert start >> 24 == 0xAB and count == 100


def test_pool_job_starts_at_blob_nonce_and_covers_2_32() -> None:
    blob = bytearray(76)
    blob[39:43] = (5).to_bytes(4, "little")
    alloc = NonceAllocator(job(blob=bytes(blob)))
    assert alloc.next_batch(3) == (5, 3)
    assert alloc.next_batch(2**33)[1] == 2**32 - 3


def test_slot_sequence_bumps() -> None:
    slot = JobSlot()
    seq0 = slot.get()[0]
    slot.set(job())
    seq1, current, alloc = slot.get()
    assert seq1 == seq0 + 1 and current is not None and alloc is not None
