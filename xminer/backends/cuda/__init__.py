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


def create_backend(ctx: object, options: dict[str, object] | None = None) -> object:
    """The miner's factory hook (imports the Backend machinery only when used)."""
    from xminer.backends.cuda.backend import create_backend as create

    return create(ctx, options)  # type: ignore[arg-type]


__all__ = [
    "CUDA_ARCHS",
    "CudaCompileError",
    "compile_cuda",
    "create_backend",
    "cuda_source",
    "cuda_status",
    "find_nvcc",
]
