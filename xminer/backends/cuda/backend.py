"""The CUDA backend's place in the registry.

The kernels build for CUDA (compile.py); a host runtime that launches them (pycuda or the
CUDA driver API) is not part of xminer yet, so this backend always reports why it cannot run.
"""

from __future__ import annotations

from typing import Any

from xminer.backends.base import Backend, BackendContext, Worker
from xminer.backends.cuda.status import cuda_status


class CudaBackend(Backend):
    name = "cuda"

    def __init__(self, ctx: BackendContext, options: dict[str, Any] | None = None) -> None:
        super().__init__(ctx)
        self.options = dict(options or {})

    def availability(self) -> str | None:
        ok, reason = cuda_status()
        if not ok:
            return reason
        return "unavailable: no CUDA host runtime in xminer yet (kernels compile: compile_cuda)"

    def make_workers(self) -> list[Worker]:
        return []


def create_backend(ctx: BackendContext, options: dict[str, Any] | None = None) -> CudaBackend:
    return CudaBackend(ctx, options)
