"""An OpenCL worker thread: a GpuWorker over an OpenCLRandomX."""

from __future__ import annotations

from typing import Any

from xminer.backends.gpu.worker import GpuWorker
from xminer.backends.opencl.threads import OclThread


class OclWorker(GpuWorker):
    config: OclThread

    def make_gpu(self, mode: str) -> Any:
        from xminer.backends.opencl.randomx import OpenCLRandomX

        return OpenCLRandomX(
            self.config.device, mode=mode, intensity=self.config.intensity,
            worksize=self.config.worksize, bfactor=self.config.bfactor,
        )  # fmt: skip
