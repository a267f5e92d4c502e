"""The generated dataset builder (xminer/randomx/datasetinit.py) against the library's items."""

from __future__ import annotations

import ctypes
import os
import random
import threading
import time
from pathlib import Path

import pytest

from xminer.randomx import datasetinit, superscalar
from xminer.randomx.binding import Cache, Dataset, Flags, dataset_item_count, recommended_flags
from xminer.randomx.cachemem import cache_memory, cache_memory_address
from xminer.randomx.context import build_dataset

pytestmark = pytest.mark.skipif(not datasetinit.supported_isas(), reason="needs AVX2 or AVX-512")
ISAS = datasetinit.supported_isas()

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


def generated(cache: Cache, start: int, count: int, isa: datasetinit.Isa | None = None) -> bytes:
    fn = datasetinit.items_function(cache.key or b"", isa=isa)
    assert fn is not None  # CI has gcc and this CPU has AVX2: never silently the library
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


@pytest.mark.parametrize("isa", ISAS, ids=[isa.name for isa in ISAS])
@pytest.mark.parametrize("start,count", sample_ranges())
def test_items_equal_library(
    cache_and_dataset,  # type: ignore[no-untyped-def]
    isa: datasetinit.Isa,
    start: int,
    count: int,
) -> None:
    cache, dataset = cache_and_dataset
    assert generated(cache, start, count, isa) == library(cache, dataset, start, count)


def test_best_isa_first() -> None:
    """AVX-512 (8 items a vector, native 64-bit multiply) wins over AVX2 where both exist."""
    names = [isa.name for isa in datasetinit.ISAS]
    assert names.index("AVX-512") < names.index("AVX2")
    assert all(isa.cpu_flags <= datasetinit.cpu_flags() for isa in ISAS)


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
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # where cc's own temporary files go
    cancel = threading.Event()

    def cancel_once_cc1_runs() -> None:
        deadline = time.monotonic() + 60
        while not compilers_on(tmp_path, "cc1") and time.monotonic() < deadline:
            time.sleep(0.02)
        cancel.set()

    canceller = threading.Thread(target=cancel_once_cc1_runs)
    canceller.start()
    assert datasetinit.items_function(b"fresh key for cancel", cancel) is None
    canceller.join()
    assert not datasetinit._failed  # a cancelled build is no reason to give up the C path
    deadline = time.monotonic() + 60
    while compilers_on(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not compilers_on(tmp_path)
    # No half-built library, and no assembly from an orphaned cc1 that went on compiling.
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def compilers_on(path: Path, program: str = "") -> list[int]:
    """Live processes whose command line names ``path`` and ``program`` (zombies have none)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_text() if proc.name.isdigit() else ""
            if str(path) in cmdline and program in cmdline:
                found.append(int(proc.name))
        except OSError:
            continue
    return found


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


def test_no_vector_unit_falls_back_to_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasetinit, "cpu_flags", lambda: {"sse2", "aes"})
    assert datasetinit.items_function(bytes(32)) is None
