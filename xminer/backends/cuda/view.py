"""How the CUDA backend shows itself (no pycuda needed): NVML's readings in its health lines."""

from __future__ import annotations

from typing import Any, ClassVar

from xminer.backends.cuda.nvml import GpuHealth
from xminer.backends.gpu.view import GpuView


class CudaView(GpuView):
    name: ClassVar[str] = "cuda"

    @classmethod
    def describe_health(cls, reading: dict[str, Any]) -> str:
        return GpuHealth.from_json(reading).describe()
