"""Whether CUDA kernels can run here: driver, pycuda, device.  Never raises."""

from __future__ import annotations

import ctypes


def cuda_status() -> tuple[bool, str]:
    """(usable, reason)."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError as exc:
        return False, f"unavailable: no CUDA driver ({exc})"
    try:
        import pycuda.driver as drv
    except ImportError as exc:
        return False, f"unavailable: pycuda missing ({exc})"
    try:
        drv.init()
        count = drv.Device.count()
    except drv.Error as exc:
        return False, f"unavailable: {exc}"
    if count == 0:
        return False, "unavailable: no CUDA device"
    return True, f"{count} CUDA device(s)"
