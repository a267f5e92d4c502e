"""A CUDA worker thread: a GpuWorker over a CudaRandomX."""

from __future__ import annotations

from typing import Any

from xminer.backends.cuda.threads import CudaThread
from xminer.backends.gpu.worker import GpuWorker


class CudaWorker(GpuWorker):
    config: CudaThread

    def make_gpu(self, mode: str) -> Any:
        from xminer.backends.cuda.randomx import CudaRandomX

        gpu = CudaRandomX(
            self.config.index, mode=mode, intensity=self.config.intensity,
            threads=self.config.threads, bfactor=self.config.bfactor, bsleep=self.config.bsleep,
            dataset_host=self.config.dataset_host,
        )  # fmt: skip
        self.info.details["dataset_host"] = gpu.dataset_host  # what it does, not the hint
        return gpu
