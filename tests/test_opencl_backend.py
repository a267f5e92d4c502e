"""The OpenCL backend inside the miner's machinery: job slot, RandomX context, result sink."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import bench_sum
from tests.config_support import gpu_only
from tests.test_worker_progress import CollectingSink
from xminer.backends import BackendUnavailable, create_backend
from xminer.backends.base import BackendContext
from xminer.job import Job, JobSlot
from xminer.randomx.context import RandomXContext
from xminer.state import SharedState

pytestmark = pytest.mark.opencl


def test_registry_exposes_opencl_and_cuda() -> None:
    rx = RandomXContext(mode="light", huge_pages=False)
    for name in ("opencl", "cuda"):
        ctx = BackendContext(SharedState(), rx, JobSlot(), CollectingSink(), gpu_only(name))
        try:
            backend = create_backend(name, ctx)
        except BackendUnavailable as exc:
            raise AssertionError(f"{name}: {exc}") from None
        assert backend.name == name


def test_benchmark_job_hashes_match_cpu(opencl_kernels: Any) -> None:
    rx = RandomXContext(mode="light", huge_pages=False)
    seed = bytes(32)
    rx.prepare(seed)
    sink = CollectingSink()
    ctx = BackendContext(SharedState(), rx, JobSlot(), sink, gpu_only(intensity=4))
    backend = create_backend("opencl", ctx)
    assert backend.availability() is None
    bench = 8
    job = Job("bench", bytes(76), seed, target=2**64 // 3, bench_size=bench, source="benchmark")
    ctx.slot.set(job)
    backend.start()
    try:
        deadline = time.monotonic() + 120
        while sink.hashes() < bench and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        backend.stop()
    assert sink.hashes() == bench
    tail_xor = 0
    shares = []
    for _, result in sink.results:
        tail_xor ^= result.tail_xor
        shares += result.shares
    expected_xor = 0
    for nonce in range(bench):
        digest = rx.verify_hash(job.blob_with_nonce(nonce))
        expected_xor ^= int.from_bytes(digest[24:32], "little")
        if int.from_bytes(digest[24:32], "little") < job.target:
            assert (nonce, digest) in shares
    assert tail_xor == expected_xor
    assert len(shares) == sum(
        int.from_bytes(rx.verify_hash(job.blob_with_nonce(n))[24:32], "little") < job.target
        for n in range(bench)
    )


def test_opencl_benchmark_sum_equals_the_cpu_one(opencl_kernels: Any, tmp_path: Path) -> None:
    """What the issue asks of --bench=2000, on a size PoCL hashes in seconds (light mode)."""
    size = "--bench=24"
    gpu = bench_sum(tmp_path, "--no-cpu", "--opencl", size, "--randomx-mode=light")
    cpu = bench_sum(tmp_path, "-t", "2", size, "--randomx-mode=light")  # XOR rule, as the GPU
    assert gpu == cpu


# XMRig's opencl thread in /2/backends (SCHEMA.md §3 opencl; RandomX, no health reader)
THREAD_LAYOUT = {
    "index": int, "intensity": int, "worksize": int, "threads": list, "bfactor": int,
    "gcn_asm": bool, "dataset_host": bool, "affinity": int, "hashrate": list,
    "board": str, "name": str, "bus_id": str, "cu": int, "global_mem": int,
}  # fmt: skip


def test_backends_entry_has_xmrigs_opencl_layout(opencl_kernels: Any) -> None:
    """/2/backends on PoCL: the platform object and XMRig's thread keys, in order and typed."""
    import jsonschema

    from tests.api_support import OPENAPI, TOKEN, RunningMiner, load_capture, shape_diff
    from xminer.backends.opencl import list_devices
    from xminer.config.model import Http

    profile = {"index": 0, "intensity": 1, "worksize": 1, "threads": [-1, -1], "bfactor": 0}
    opencl = {"enabled": True, "platform": 0, "rx": [profile], "rx/0": "rx"}
    api = Http(enabled=True, port=0, access_token=TOKEN, restricted=False)
    with RunningMiner(api, 0, opencl=opencl) as rm:  # the CPU backend off: its device used

        def entry() -> dict[str, Any]:
            return rm.get("/2/backends").json()[1]

        rm.wait_for(lambda: "threads" in entry(), 120)
        body = rm.get("/2/backends").json()
    ocl = body[1]
    assert list(ocl) == ["type", "enabled", "algo", "profile", "platform", "hashrate", "threads"]
    assert ocl["type"] == "opencl" and ocl["enabled"] is True and ocl["algo"] == "rx/0"
    xmrig = load_capture("poolmode/p_ocl_platform0_2_backends")[1]["platform"]
    assert shape_diff(ocl["platform"], xmrig) == []
    assert ocl["platform"]["index"] == 0 and ocl["platform"]["profile"] == "FULL_PROFILE"
    assert len(ocl["threads"]) == 2  # one worker per element of the entry's threads
    device = list_devices()[0]
    for thread in ocl["threads"]:
        assert list(thread) == list(THREAD_LAYOUT)
        for key, kind in THREAD_LAYOUT.items():
            assert type(thread[key]) is kind, (key, thread[key])
        assert thread["threads"] == [-1, -1] and thread["affinity"] == -1
        assert (thread["index"], thread["intensity"], thread["worksize"]) == (0, 1, 1)
        assert (thread["gcn_asm"], thread["dataset_host"]) == (False, False)
        assert len(thread["hashrate"]) == 3
        assert (thread["board"], thread["name"]) == (device.board or device.name, device.name)
        assert (thread["bus_id"], thread["cu"]) == (device.bus_id, device.compute_units)
        assert thread["global_mem"] > 0  # PoCL reports a share of the free memory: it varies
    doc = json.loads(OPENAPI.read_text())
    schema = {"$ref": "#/components/schemas/Backends", "components": doc["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)


def test_platform_shown_when_no_device_is_used(opencl_kernels: Any) -> None:
    """XMRig's p_ocl_platform0 capture: --opencl-platform=0 with the CPU backend on, PoCL's CPU
    device left to it: the entry is disabled but names the platform."""
    from tests.api_support import TOKEN, RunningMiner, load_capture, shape_diff
    from xminer.backends.opencl import list_devices
    from xminer.config.model import Http

    if not all(d.is_cpu for d in list_devices() if d.platform_index == 0):
        pytest.skip("platform 0 has a device that is not a CPU")
    api = Http(enabled=True, port=0, access_token=TOKEN, restricted=False)
    with RunningMiner(api, 1, opencl={"enabled": True, "platform": 0}) as rm:
        rm.wait_for(lambda: rm.get("/2/backends").json()[1]["platform"] is not None, 60)
        ocl = rm.get("/2/backends").json()[1]
        assert rm.miner is not None
        reason = rm.miner.state.backend("opencl").unavailable_reason
    xmrig = load_capture("poolmode/p_ocl_platform0_2_backends")[1]
    assert shape_diff(ocl, xmrig) == []
    assert {k: ocl[k] for k in ("enabled", "algo", "profile")} == {
        "enabled": False, "algo": None, "profile": None
    }  # fmt: skip
    assert ocl["platform"]["index"] == 0
    assert "left to the CPU backend" in reason


def test_fast_mode_device_build_ends_on_stop(
    opencl_kernels: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GPU worker in fast mode builds the dataset on the device from the context's cache
    (no host dataset: the context holds the cache only, as on a GPU-only rig); a stop in the
    middle of that build (a quarter of an hour on PoCL) ends the thread between two launches."""
    from xminer.backends.opencl.randomx import OpenCLRandomX

    monkeypatch.setattr(OpenCLRandomX, "build_on_device", True)  # PoCL: a CPU device
    rx = RandomXContext(mode="light", huge_pages=False)
    seed = bytes(32)
    rx.prepare(seed)
    rx.mode = "fast"  # the cache only: GpuWorker.key_dataset hands set_key no dataset
    ctx = BackendContext(SharedState(), rx, JobSlot(), CollectingSink(), gpu_only(intensity=1))
    backend = create_backend("opencl", ctx)
    ctx.slot.set(Job("j", bytes(76), seed, target=0))
    try:
        with caplog.at_level(logging.INFO, logger="xminer"):
            backend.start()
            worker = backend.workers[0]
            deadline = time.monotonic() + 300
            while not (worker.gpu is not None and len(worker.gpu._chunks) == 3):
                assert time.monotonic() < deadline, "the device build did not start"
                time.sleep(0.05)  # the dataset's 3 chunks of at most 1 GiB: its build is on
            assert worker.gpu.key is None and worker.gpu.mode == "fast"
            assert backend.stop(timeout=60)
        assert "dataset ready" not in caplog.text
        assert "failed" not in caplog.text
    finally:
        backend.stop()
        rx.release()
