"""How the OpenCL backend shows itself (no pyopencl needed)."""

from __future__ import annotations

from typing import ClassVar

from xminer.backends.gpu.view import GpuView


class OclView(GpuView):
    name: ClassVar[str] = "opencl"
    #: XMRig shows the platform it selected even when no device on it is used (null: none)
    absent_fields: ClassVar[dict[str, object]] = {"platform": None}
