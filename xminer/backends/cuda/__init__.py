"""CUDA backend: the same RandomX kernels compiled by nvcc (see compile.py).

Running them needs a CUDA driver and pycuda; :func:`cuda_status` reports whether that is
possible here and never raises.
"""

from __future__ import annotations

from xminer.backends.cuda.compile import (
    CUDA_ARCHS,
    CudaCompileError,
    compile_cuda,
    cuda_source,
    find_nvcc,
)
from xminer.backends.cuda.status import cuda_status

__all__ = [
    "CUDA_ARCHS",
    "CudaCompileError",
    "compile_cuda",
    "cuda_source",
    "cuda_status",
    "find_nvcc",
]
