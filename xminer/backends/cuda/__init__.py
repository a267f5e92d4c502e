"""CUDA backend: the same RandomX kernels compiled by nvcc (see compile.py), run by pycuda.

Running them needs a CUDA driver, a device and pycuda; :func:`cuda_status` reports whether
that is possible here and never raises.  Import ``xminer.backends.cuda.randomx`` (pycuda,
numpy) only when it says so.

backend.py: the Backend (and NVML's health readings); worker.py: its thread; devices.py: the
devices; threads.py: the thread plan; randomx.py: the runtime (contexts, buffers, launches);
compile.py: nvcc and the kernel cache; nvml.py: the sensors; view.py: how it shows itself.
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
from xminer.backends.cuda.devices import CudaDevice, device_listing, list_devices
from xminer.backends.cuda.status import cuda_status
from xminer.backends.cuda.threads import CudaThread


def create_backend(ctx: object) -> object:
    """The miner's factory hook (imports the Backend machinery only when used)."""
    from xminer.backends.cuda.backend import create_backend as create

    return create(ctx)  # type: ignore[arg-type]


__all__ = [
    "CUDA_ARCHS",
    "CudaCompileError",
    "CudaDevice",
    "CudaThread",
    "compile_cuda",
    "create_backend",
    "cuda_source",
    "cuda_status",
    "device_binary",
    "device_listing",
    "find_nvcc",
    "list_devices",
]
