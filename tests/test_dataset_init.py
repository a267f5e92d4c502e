"""The generated dataset builder (xminer/randomx/datasetinit.py) against the library's items."""

from __future__ import annotations

import ctypes
import os
import random
import threading

import pytest

from xminer.randomx import datasetinit, superscalar
from xminer.randomx.binding import Cache, Dataset, Flags, dataset_item_count, recommended_flags
from xminer.randomx.cachemem import cache_memory, cache_memory_address
from xminer.randomx.context import build_dataset

pytestmark = pytest.mark.skipif(not datasetinit.supported(), reason="needs AVX-512 F/DQ/VL/BW")

KEYS = [bytes(32), b"test key 000", bytes(range(60))]


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasetinit, "_failed", False)
    monkeypatch.setattr(datasetinit, "_by_key", {})


@pytest.fixture(scope="module", params=KEYS, ids=["zero", "short", "sixty"])
def cache_and_dataset(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A library cache for the key and a library dataset (no huge pages: only the pages the
    sampled items touch are ever committed)."""
    cache = Cache(recommended_flags())
    cache.init(request.param)
    dataset = Dataset(recommended_flags() & ~Flags.LARGE_PAGES)
    yield cache, dataset
    dataset.release()
    cache.release()


def generated(cache: Cache, start: int, count: int) -> bytes:
    fn = datasetinit.items_function(cache.key or b"")
    assert fn is not None  # CI has gcc and this CPU has AVX-512: never silently the library
    out = ctypes.create_string_buffer(count * 64)
    fn(cache_memory_address(cache), ctypes.addressof(out), start, count)
    return out.raw


def library(cache: Cache, dataset: Dataset, start: int, count: int) -> bytes:
    dataset.init_items(cache, start, count)
    return ctypes.string_at(dataset.memory() + start * 64, count * 64)


def sample_ranges() -> list[tuple[int, int]]:
    total = dataset_item_count()
    rng = random.Random(16)
    ranges = [(0, 48), (total - 37, 37), (total - 1, 1), (1, 1), (24, 5)]
    ranges += [(rng.randrange(total - 1000), rng.randrange(1, 1000)) for _ in range(4)]
    return ranges


@pytest.mark.parametrize("start,count", sample_ranges())
def test_items_equal_library(cache_and_dataset, start: int, count: int) -> None:  # type: ignore[no-untyped-def]
    cache, dataset = cache_and_dataset
    assert generated(cache, start, count) == library(cache, dataset, start, count)


def test_item_equals_python_reference(cache_and_dataset) -> None:  # type: ignore[no-untyped-def]
    """The spec's algorithm in Python (superscalar.dataset_item), independent of the library."""
    cache, _ = cache_and_dataset
    programs = superscalar.generate_programs(cache.key or b"")
    number = 1_234_567
    expected = superscalar.dataset_item(cache_memory(cache), programs, number)
    assert generated(cache, number, 1) == expected


def test_native_off_falls_back_to_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XMINER_NATIVE", "0")
    assert datasetinit.items_function(bytes(32)) is None


def test_no_compiler_falls_back_to_library(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    assert datasetinit.items_function(b"fresh key for no compiler") is None


def test_cancel_kills_the_compiler(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cancel = threading.Event()
    cancel.set()
    assert datasetinit.items_function(b"fresh key for cancel", cancel) is None
    assert not datasetinit._failed  # a cancelled build is no reason to give up the C path
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # no half-built library left


def test_build_dataset_fills_through_generated_code(
    cache_and_dataset,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """build_dataset's chunks on 3 threads land where the library puts them (the first 5,003
    items stand for the whole dataset: same chunking, same addresses)."""
    cache, reference = cache_and_dataset
    count = 5003
    monkeypatch.setattr("xminer.randomx.context.dataset_item_count", lambda: count)
    dataset = Dataset(recommended_flags() & ~Flags.LARGE_PAGES)
    try:
        fractions: list[float] = []
        build_dataset(dataset, cache, 3, fractions.append)
        assert datasetinit._by_key  # the generated code did the work, not the library
        assert fractions[-1] == 1.0
        built = ctypes.string_at(dataset.memory(), count * 64)
    finally:
        dataset.release()
    assert built == library(cache, reference, 0, count)


def test_prune_keeps_the_newest_builds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One library per seed accumulates in the cache: only the newest few stay."""
    built = []
    for age in range(7):
        path = tmp_path / f"dsinit-{age}.so"
        path.write_bytes(b"")
        os.utime(path, (1000 - age, 1000 - age))
        built.append(path)
    other = tmp_path / "scanloop-x.so"
    other.write_bytes(b"")
    datasetinit._prune(built[0])
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == sorted([p.name for p in built[: datasetinit.KEEP_BUILT]] + [other.name])
