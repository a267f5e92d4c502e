"""The real library through our binding reproduces the official vectors, light and fast."""

from __future__ import annotations

import pytest

from tests.rx_vectors import VECTORS
from xminer.randomx import VM, Cache, Flags, recommended_flags
from xminer.randomx.context import RandomXContext


@pytest.fixture(scope="module")
def flags() -> Flags:
    return recommended_flags() & ~Flags.LARGE_PAGES


def test_flags_from_library(flags: Flags) -> None:
    assert flags & Flags.HARD_AES or not flags  # this CPU has AES; the library says so


@pytest.mark.parametrize("key", sorted({v[0] for v in VECTORS}))
def test_light_mode_vectors(flags: Flags, key: bytes) -> None:
    cache = Cache(flags)
    cache.init(key)
    vm = VM(flags, cache, None)
    try:
        for k, data, expected in VECTORS:
            if k == key:
                assert vm.hash(data).hex() == expected
    finally:
        vm.destroy()
        cache.release()


@pytest.mark.slow
def test_fast_mode_vectors_and_reseed() -> None:
    """One context, two seeds: the dataset is rebuilt in place and VMs see the new one."""
    rx = RandomXContext("fast", init_threads=0, huge_pages=True)
    try:
        for key in (b"test key 000", b"test key 001"):
            progress: list[float] = []
            assert rx.prepare(key, progress.append)
            assert progress and progress[-1] == pytest.approx(1.0)
            assert not rx.prepare(key)  # same seed: nothing to do
            vm = rx.create_vm()
            try:
                assert vm.full_mem
                for k, data, expected in VECTORS:
                    if k == key:
                        assert vm.hash(data).hex() == expected
                        assert rx.verify_hash(data).hex() == expected
            finally:
                vm.destroy()
    finally:
        rx.release()


def test_light_context_reseed_refreshes_vm() -> None:
    rx = RandomXContext("light", huge_pages=False)
    try:
        rx.prepare(b"test key 000")
        vm = rx.create_vm()
        gen = rx.generation
        assert vm.hash(VECTORS[2][1]).hex() == VECTORS[2][2]
        rx.prepare(b"test key 001")
        gen = rx.refresh_vm(vm, gen)
        assert vm.hash(VECTORS[3][1]).hex() == VECTORS[3][2]
        assert rx.verify_hash(VECTORS[4][1]).hex() == VECTORS[4][2]
        vm.destroy()
    finally:
        rx.release()
