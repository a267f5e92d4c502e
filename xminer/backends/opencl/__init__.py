"""OpenCL backend: RandomX kernels through pyopencl (optional; importing never fails).

Use :func:`opencl_status` to learn whether it can run here, and import
``xminer.backends.opencl.randomx`` (which needs pyopencl and numpy) only when it can.

backend.py: the Backend; worker.py: its thread; devices.py: platforms and devices;
threads.py: the thread plan; randomx.py: the runtime (kernels, buffers, launches);
view.py: how it shows itself.
"""

from __future__ import annotations

from xminer.backends.opencl.devices import (
    OclDevice,
    device_listing,
    list_devices,
    opencl_status,
)
from xminer.backends.opencl.threads import OclThread


def create_backend(ctx: object) -> object:
    """The miner's factory hook (imports the Backend machinery only when used)."""
    from xminer.backends.opencl.backend import create_backend as create

    return create(ctx)  # type: ignore[arg-type]


__all__ = [
    "OclDevice",
    "OclThread",
    "create_backend",
    "device_listing",
    "list_devices",
    "opencl_status",
]
