"""CUDA backend: the same RandomX kernels compiled by nvcc (see compile.py), run by pycuda.

Running them needs a CUDA driver, a device and pycuda; :func:`cuda_status` reports whether
that is possible here and never raises.  Import ``xminer.backends.cuda.randomx`` (pycuda,
numpy) only when it says so.
"""

from __future__ import annotations

from xminer.backends.cuda.compile import (
    CUDA_ARCHS,
    CudaCompileError,
    compile_cuda,
    cuda_source,
    device_binary,
    find_nvcc,
)
from xminer.backends.cuda.devices import (
    CudaDeviceInfo,
    CudaThreadConfig,
    device_listing,
    list_devices,
)
from xminer.backends.cuda.status import cuda_status


def create_backend(ctx: object) -> object:
    """The miner's factory hook (imports the Backend machinery only when used)."""
    from xminer.backends.cuda.backend import create_backend as create

    return create(ctx)  # type: ignore[arg-type]


__all__ = [
    "CUDA_ARCHS",
    "CudaCompileError",
    "CudaDeviceInfo",
    "CudaThreadConfig",
    "compile_cuda",
    "create_backend",
    "cuda_source",
    "cuda_status",
    "device_binary",
    "device_listing",
    "find_nvcc",
    "list_devices",
]
