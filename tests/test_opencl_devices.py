"""OpenCL enumeration and thread settings; importing the backend never fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import spawn
from xminer.backends.opencl import (
    OclThread,
    device_listing,
    list_devices,
    opencl_status,
)
from xminer.backends.opencl.devices import OclDevice, OclPlatform, list_platforms
from xminer.backends.opencl.threads import default_thread
from xminer.randomx.constants import SCRATCHPAD_SIZE


def test_status_and_listing_never_raise() -> None:
    ok, reason = opencl_status()
    assert reason
    text = device_listing()
    assert isinstance(text, str) and text
    if not ok:
        assert list_devices() == []


@pytest.mark.opencl
def test_pocl_device_listed() -> None:
    ok, reason = opencl_status()
    if not ok:
        pytest.skip(reason)
    devices = list_devices()
    assert devices
    assert devices[0].key == "0:0"
    assert devices[0].name in device_listing()
    thread = default_thread(devices[0])
    assert isinstance(thread, OclThread)
    assert thread.intensity >= 1 and thread.worksize == 8  # PoCL: neither NVIDIA nor AMD
    assert thread.intensity * (SCRATCHPAD_SIZE + 8192) <= devices[0].global_mem


def test_missing_pyopencl_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pyopencl the backend says why instead of failing at import."""
    import sys

    monkeypatch.setitem(sys.modules, "pyopencl", None)
    ok, reason = opencl_status()
    assert not ok and "pyopencl unavailable" in reason
    assert list_devices() == []
    assert "pyopencl unavailable" in device_listing()


def test_thread_bfactor_from_the_opencl_section() -> None:
    """XMRig's bfactor of an opencl thread entry reaches its OclThread (default 0)."""
    from xminer.config.model import Config

    threads = [{"device": "0:0", "intensity": 4, "bfactor": 6}, {"device": "0:0", "intensity": 2}]
    options = Config.from_json({"opencl": {"enabled": True, "threads": threads}}).opencl.to_json()
    plans = plan(options, [])
    assert [(p.intensity, p.bfactor) for p in plans] == [(4, 6), (2, 0)]

    device = OclDevice(0, 0, "PoCL", "cpu", "vendor", "CPU", 2, 1 << 32, 1 << 30, "OpenCL C 1.2")
    assert [p.bfactor for p in plan({}, [device])] == [0]
    assert [p.bfactor for p in plan({"bfactor": 3}, [device])] == [3]


def plan(body: dict[str, Any], devices: list[OclDevice]) -> list[OclThread]:
    """The plan for an opencl section given as JSON; "_cpu_backend": whether the CPU backend
    runs; "intensity", "worksize", "bfactor": the older section-wide keys."""
    from xminer.backends.opencl.threads import plan_threads
    from xminer.config.model import OpenCl

    body = dict(body)
    cpu_backend = bool(body.pop("_cpu_backend", False))
    older = {k: body.pop(k) for k in ("intensity", "worksize", "bfactor") if k in body}
    section = OpenCl.from_json(body)
    section.extra.update(older)
    return plan_threads(section, devices, cpu_backend)


# ---- platform, devices-hint, CPU devices and XMRig's thread profiles (opencl section) -------
POCL = OclPlatform(0, "FULL_PROFILE", "OpenCL 3.0 PoCL", "Portable Computing Language",
                    "The pocl project", "cl_khr_icd")  # fmt: skip
NVIDIA = OclPlatform(1, "FULL_PROFILE", "OpenCL 3.0 CUDA", "NVIDIA CUDA", "NVIDIA Corporation",
                      "cl_khr_fp64")  # fmt: skip
AMD = OclPlatform(2, "FULL_PROFILE", "OpenCL 2.1 AMD-APP", "AMD Accelerated Parallel Processing",
                   "Advanced Micro Devices, Inc.", "cl_khr_fp64")  # fmt: skip


def gpu(platform: int, index: int) -> OclDevice:
    return OclDevice(platform, index, "GPU platform", f"gpu{index}", "vendor", "GPU", 64,
                      16 << 30, 4 << 30, "OpenCL C 1.2", "01:00.0", "board")  # fmt: skip


def keys(plans: list[OclThread]) -> list[str]:
    return [p.device for p in plans]


def test_platform_index_or_vendor_string() -> None:
    from xminer.backends.opencl.devices import select_platforms

    both = [POCL, NVIDIA]
    assert select_platforms(1, both) == [NVIDIA]
    assert select_platforms("1", both) == [NVIDIA]  # digits: an index, as the CLI gives it
    assert select_platforms("nvidia", both) == [NVIDIA]  # vendor or name, any case
    assert select_platforms("POCL", both) == [POCL]
    assert select_platforms("AMD", [POCL, NVIDIA, AMD]) == [AMD]
    # the default "AMD" matching nothing takes every platform (PoCL out of the box)
    assert select_platforms("AMD", both) == both
    assert select_platforms(None, both) == both
    with pytest.raises(ValueError, match="platform 2 not found"):
        select_platforms(2, both)
    with pytest.raises(ValueError, match='platform "INTEL" not found'):
        select_platforms("INTEL", both)


def test_devices_hint_picks_indexes_within_the_platform() -> None:

    devices = [gpu(1, 0), gpu(1, 1), gpu(1, 2)]
    assert keys(plan({}, devices)) == ["1:0", "1:1", "1:2"]
    assert keys(plan({"devices-hint": "0,2"}, devices)) == ["1:0", "1:2"]
    assert keys(plan({"devices-hint": [1]}, devices)) == ["1:1"]
    assert keys(plan({"devices-hint": 2}, devices)) == ["1:2"]
    assert keys(plan({"devices": "1:1"}, devices)) == ["1:1"]  # the older form
    assert keys(plan({"devices-hint": "7"}, devices)) == []


@pytest.mark.opencl
def test_pocl_cpu_device_left_to_the_cpu_backend() -> None:
    """PoCL's CPU device: used when the CPU backend is off (or unknown), or when named."""

    ok, reason = opencl_status()
    if not ok:
        pytest.skip(reason)
    pocl = [d for d in list_devices() if d.is_cpu]
    assert pocl, "PoCL lists a CPU device"
    cpu = pocl[0]
    assert keys(plan({}, pocl)) == [d.key for d in pocl]
    assert keys(plan({"_cpu_backend": False}, pocl)) == [d.key for d in pocl]
    assert plan({"_cpu_backend": True}, pocl) == []
    named = {"_cpu_backend": True, "devices-hint": str(cpu.device_index)}
    assert keys(plan(named, pocl)) == [cpu.key]
    # a GPU of another platform is used either way
    assert keys(plan({"_cpu_backend": True}, [*pocl, gpu(1, 0)])) == ["1:0"]
    profile = {"_cpu_backend": True, "rx": [{"index": cpu.device_index, "intensity": 2}]}
    assert plan(profile, pocl) == []
    assert keys(plan({**profile, "_cpu_backend": False}, pocl)) == [cpu.key]


def test_opencl_learns_whether_the_cpu_backend_runs() -> None:
    from xminer.backends.cpu.threads import cpu_runs
    from xminer.config.model import Config

    assert cpu_runs(Config.from_json({"opencl": {"enabled": True}})) is True
    assert cpu_runs(Config.from_json({"cpu": {"enabled": False}})) is False
    assert cpu_runs(Config.from_json({"cpu": {"rx": False}})) is False


def test_xmrig_thread_profile() -> None:
    """XMRig's entries: index within the platform, one worker per element of threads."""
    from xminer.config.model import Config

    section = {
        "enabled": True,
        "rx": [
            {"index": 0, "intensity": 896, "worksize": 8, "threads": [-1, -1], "bfactor": 6,
             "gcn_asm": True, "dataset_host": False},
            {"index": 1, "intensity": 64, "worksize": 4, "threads": [3], "bfactor": 0},
            {"index": 9, "intensity": 64, "threads": [-1]},  # no such device: skipped
        ],
        "rx/0": "rx",
    }  # fmt: skip
    options = dict(Config.from_json({"opencl": section}).opencl.to_json())
    plans = plan(options, [gpu(0, 0), gpu(0, 1)])
    assert [(p.device, p.intensity, p.worksize, p.bfactor, p.threads, p.affinity) for p in plans] \
        == [("0:0", 896, 8, 6, [-1, -1], -1), ("0:0", 896, 8, 6, [-1, -1], -1),
            ("0:1", 64, 4, 0, [3], 3)]  # fmt: skip
    assert [p.index for p in plans] == [0, 0, 1]
    assert keys(plan({**options, "devices-hint": "1"}, [gpu(0, 0), gpu(0, 1)])) == ["0:1"]
    # "rx/0" before "rx"; false: no threads; defaults for what an entry leaves out
    assert plan({**options, "rx/0": False}, [gpu(0, 0)]) == []
    bare = plan({"rx": [{"index": 0}]}, [gpu(0, 0)])
    assert [(p.intensity, p.worksize, p.bfactor, p.threads) for p in bare] == [
        (default_thread(gpu(0, 0)).intensity, 8, 0, [-1])
    ]


@pytest.mark.opencl
def test_backend_availability_follows_the_platform_choice() -> None:
    from xminer.backends.base import BackendContext
    from xminer.backends.opencl.backend import OpenCLBackend
    from xminer.config.model import Config
    from xminer.job import JobSlot
    from xminer.randomx.context import RandomXContext
    from xminer.state import SharedState

    ok, reason = opencl_status()
    if not ok:
        pytest.skip(reason)
    platforms = list_platforms()
    rx = RandomXContext(mode="light")

    def backend(cpu_backend: bool = False, **section: object) -> OpenCLBackend:
        config = Config.from_json({"cpu": {"enabled": cpu_backend}, "opencl": section})
        return OpenCLBackend(BackendContext(SharedState(), rx, JobSlot(), None, config))  # type: ignore[arg-type]

    default = backend()
    assert default.availability() is None  # "AMD" matches no PoCL platform: all of them
    assert default.api_fields() == {"platform": platforms[0].to_json()}
    assert backend(platform=0).availability() is None
    missing = backend(platform=len(platforms))
    assert f"platform {len(platforms)} not found" in (missing.availability() or "")
    assert "not found" in (backend(platform="NoSuchVendor").availability() or "")
    left = backend(cpu_backend=True, platform=0).availability() or ""
    if all(d.is_cpu for d in list_devices()):
        assert "left to the CPU backend" in left


def test_print_platforms_lists_them_and_exits_0(tmp_path: Path) -> None:
    """--print-platforms: XMRig's listing (every platform's index, profile, version, name,
    vendor, extensions), each platform's devices, exit status 0; no pool or --bench needed."""
    proc = spawn("--print-platforms", home=tmp_path)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    platforms = list_platforms()
    assert out.splitlines()[0] == f"Number of platforms:        {len(platforms)}"
    for p in platforms:
        assert f"  Index:                    {p.index}" in out
        assert f"  Name:                     {p.name}" in out
        assert f"  Vendor:                   {p.vendor}" in out
    assert "Device:" in out  # PoCL's CPU device


def test_default_worksize_per_vendor() -> None:
    """A warp on NVIDIA, a wavefront on AMD GPUs, 8 on other devices (CPUs through PoCL)."""
    from dataclasses import replace

    from xminer.backends.opencl.threads import default_worksize

    card = gpu(0, 0)
    assert default_worksize(replace(card, vendor="NVIDIA Corporation")) == 32
    assert default_worksize(replace(card, vendor="Advanced Micro Devices, Inc.")) == 64
    assert default_worksize(replace(card, vendor="Intel(R) Corporation")) == 8
    assert default_worksize(replace(card, vendor="AuthenticAMD", type="CPU")) == 8
