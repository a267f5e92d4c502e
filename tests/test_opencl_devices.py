"""OpenCL enumeration and thread settings; importing the backend never fails."""

from __future__ import annotations

import pytest

from xminer.backends.opencl import (
    ThreadConfig,
    device_listing,
    list_devices,
    opencl_status,
)
from xminer.backends.opencl.devices import default_thread


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
