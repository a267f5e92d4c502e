"""CUDA thread planning from the cuda config section and the CLI (no GPU needed): the default
threads and blocks a device gets from its SM count and memory, the dataset in host memory for
a card too small for it, XMRig's thread profiles, the device selection and the hints, and the
order of a thread's keys in /2/backends."""

from __future__ import annotations

from typing import Any

import pytest

from xminer.backends.cuda.devices import (
    RESERVED_BYTES,
    CudaDevice,
    batch_that_fits,
    dataset_bytes,
)
from xminer.backends.cuda.threads import (
    DEFAULT_THREADS,
    CudaThread,
    dataset_fits,
    default_thread,
    plan_threads,
    resident_blocks_per_sm,
)
from xminer.backends.gpu.layout import per_hash_bytes
from xminer.config.model import Cuda

GIB = 1 << 30
# What pycuda reports for an H100 SXM and for a small card (values of real boards).
H100 = CudaDevice(0, "NVIDIA H100 80GB HBM3", (9, 0), 132, 79 * GIB, "0000:19:00.0")
SMALL = CudaDevice(1, "NVIDIA T400", (7, 5), 6, 2 * GIB, "0000:65:00.0")


def plan(body: dict[str, Any], devices: list[CudaDevice], fast: bool) -> list[Any]:
    """The plan for a cuda section given as JSON; "threads" (a number), "blocks" and
    "intensity": the older section-wide keys."""
    body = dict(body)
    older = {k: body.pop(k) for k in ("threads", "blocks", "intensity") if k in body}
    section = Cuda.from_json(body)
    section.extra.update(older)
    return plan_threads(section, devices, fast)


def test_a_big_card_fills_its_memory_with_scratchpads_and_keeps_the_dataset() -> None:
    t = default_thread(H100, fast=True)
    left = H100.total_mem - RESERVED_BYTES - dataset_bytes()
    assert (t.threads, t.blocks) == (DEFAULT_THREADS, left // per_hash_bytes() // 32)
    assert t.blocks <= H100.sm_count * resident_blocks_per_sm(H100.capability)
    assert t.intensity == t.threads * t.blocks
    assert t.dataset_host is None and dataset_fits(H100.total_mem)
    # a card with more memory than its SMs keep busy: the resident blocks
    many = CudaDevice(0, "big", (7, 5), 2, 79 * GIB, "0000:01:00.0")
    assert default_thread(many, fast=True).blocks == 2 * 16


def test_a_batch_is_lowered_to_what_the_free_memory_holds() -> None:
    per = per_hash_bytes()
    free = RESERVED_BYTES + dataset_bytes() + 100 * per
    assert batch_that_fits(1000, 32, free, dataset_bytes()) == 96  # whole blocks
    assert batch_that_fits(64, 32, free, dataset_bytes()) == 64  # fits: unchanged
    assert batch_that_fits(1000, 32, RESERVED_BYTES, 0) == 32  # one block at least


def test_a_card_too_small_for_the_dataset_keeps_it_in_host_memory() -> None:
    assert not dataset_fits(SMALL.total_mem)
    fast = default_thread(SMALL, fast=True)
    assert fast.dataset_host is True
    # all its memory but the reserve is for scratchpads
    assert fast.blocks == (SMALL.total_mem - 512 * 2**20) // per_hash_bytes() // 32
    light = default_thread(SMALL, fast=False)
    assert light.dataset_host is None and 1 <= light.blocks < fast.blocks


def test_hints_apply_to_the_generated_threads() -> None:
    options = {
        "devices-hint": "1", "bfactor-hint": 6, "bsleep-hint": 100, "threads": 64,
        "intensity": 100,
    }  # fmt: skip
    [t] = plan(options, [H100, SMALL], fast=True)
    assert (t.index, t.threads, t.blocks, t.intensity) == (1, 64, 2, 100)
    assert (t.bfactor, t.bsleep, t.dataset_host) == (6, 100, True)


def test_an_rx_profile_lists_threads_as_xmrig_writes_them() -> None:
    profile = [
        {"index": 0, "threads": 32, "blocks": 264, "bfactor": 0, "bsleep": 0},
        {"index": 0, "threads": 64, "intensity": 640, "bfactor": 3, "dataset_host": True},
        {"index": 7, "threads": 32, "blocks": 8},  # no such device: dropped
    ]
    plans = plan({"rx": profile, "rx/0": "rx"}, [H100], fast=True)
    assert [p.to_json() for p in plans] == [
        {"index": 0, "threads": 32, "blocks": 264, "intensity": 8448, "bfactor": 0, "bsleep": 0},
        {
            "index": 0, "threads": 64, "blocks": 10, "intensity": 640, "bfactor": 3,
            "bsleep": 0, "dataset_host": True,
        },
    ]  # fmt: skip
    assert plan({"rx": False}, [H100], fast=True) == []
    assert plan({"rx": profile, "devices-hint": [1]}, [H100, SMALL], fast=True) == []


@pytest.mark.parametrize("bad", [{"rx": [{"index": 0, "threads": "many"}]}, {"devices-hint": "x"}])
def test_bad_thread_settings_raise_value_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        plan(bad, [H100], fast=True)


def test_thread_keys_in_xmrigs_order() -> None:
    """/2/backends: the thread's keys, hashrate (added by the API), then the device's."""
    t = CudaThread(index=0, threads=32, blocks=528, bfactor=2, bsleep=10)
    assert list(t.api_fields()) == [
        "index", "threads", "blocks", "bfactor", "bsleep", "affinity", "dataset_host",
    ]  # fmt: skip
    assert H100.to_json() == {
        "name": "NVIDIA H100 80GB HBM3", "bus_id": "0000:19:00.0", "smx": 132, "arch": 90,
        "global_mem": 79 * GIB, "clock": 0, "memory_clock": 0,
    }  # fmt: skip
