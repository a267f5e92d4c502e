"""OpenCL enumeration and thread settings; importing the backend never fails."""

from __future__ import annotations

import pytest

from xminer.backends.opencl import (
    ThreadConfig,
    device_listing,
    list_devices,
    opencl_status,
)
from xminer.backends.opencl.devices import DeviceInfo, default_thread


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
    assert isinstance(thread, ThreadConfig)
    assert thread.intensity >= 1 and thread.worksize == 1
    assert thread.memory_bytes() <= devices[0].global_mem


def test_missing_pyopencl_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pyopencl the backend says why instead of failing at import."""
    import sys

    monkeypatch.setitem(sys.modules, "pyopencl", None)
    ok, reason = opencl_status()
    assert not ok and "pyopencl unavailable" in reason
    assert list_devices() == []
    assert "pyopencl unavailable" in device_listing()


def test_thread_bfactor_from_the_opencl_section() -> None:
    """XMRig's bfactor of an opencl thread entry reaches its ThreadConfig (default 0)."""
    from xminer.backends.opencl.backend import plan_threads
    from xminer.config.model import Config

    threads = [{"device": "0:0", "intensity": 4, "bfactor": 6}, {"device": "0:0", "intensity": 2}]
    options = Config.from_json({"opencl": {"enabled": True, "threads": threads}}).opencl.to_json()
    plans = plan_threads(dict(options), [])
    assert [(p.intensity, p.bfactor) for p in plans] == [(4, 6), (2, 0)]

    device = DeviceInfo(0, 0, "PoCL", "cpu", "vendor", "CPU", 2, 1 << 32, 1 << 30, "OpenCL C 1.2")
    assert [p.bfactor for p in plan_threads({}, [device])] == [0]
    assert [p.bfactor for p in plan_threads({"bfactor": 3}, [device])] == [3]
