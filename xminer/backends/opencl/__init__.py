"""OpenCL backend: RandomX kernels through pyopencl (optional; importing never fails).

Use :func:`opencl_status` to learn whether it can run here, and import
``xminer.backends.opencl.randomx`` (which needs pyopencl and numpy) only when it can.
"""

from __future__ import annotations

from xminer.backends.opencl.devices import (
    DeviceInfo,
    ThreadConfig,
    device_listing,
    list_devices,
    opencl_status,
)

__all__ = ["DeviceInfo", "ThreadConfig", "device_listing", "list_devices", "opencl_status"]
