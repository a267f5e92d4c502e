"""Compile the shared RandomX kernels (kernels/, compat.h dialect) to PTX with nvcc.

nvcc 13 targets compute capability 7.5 and newer only (no sm_70), hence CUDA_ARCHS.
FP contraction is switched off with -fmad=false (RandomX needs unfused mul/add); the
rounding-mode operations use CUDA's __dadd_rd-style intrinsics (see compat.h).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from xminer.backends.kernel_source import kernel_source

CUDA_ARCHS: tuple[str, ...] = ("sm_75", "sm_80", "sm_90")
NVCC_FLAGS: tuple[str, ...] = ("-ptx", "-fmad=false", "-std=c++17", "--Werror", "all-warnings")


class CudaCompileError(RuntimeError):
    """nvcc is missing or rejected the source."""


@dataclass(frozen=True)
class PtxResult:
    arch: str
    ptx: str
    warnings: str


def find_nvcc() -> str | None:
    """nvcc from $CUDA_HOME/$CUDA_PATH, PATH, or /usr/local/cuda."""
    for root in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if root and (Path(root) / "bin" / "nvcc").exists():
            return str(Path(root) / "bin" / "nvcc")
    return shutil.which("nvcc")


def cuda_source() -> str:
    """The kernel translation unit for nvcc (compat.h selects the CUDA dialect)."""
    return kernel_source()


def compile_cuda(arch: str = "sm_90", nvcc: str | None = None) -> PtxResult:
    """PTX for one architecture; raises CudaCompileError with nvcc's messages on failure."""
    compiler = nvcc or find_nvcc()
    if compiler is None:
        raise CudaCompileError("nvcc not found")
    with tempfile.TemporaryDirectory(prefix="xminer-cuda-") as tmp:
        src = Path(tmp) / "randomx.cu"
        out = Path(tmp) / "randomx.ptx"
        src.write_text(cuda_source())
        cmd = [compiler, *NVCC_FLAGS, f"-arch={arch}", "-o", str(out), str(src)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise CudaCompileError(f"nvcc failed for {arch}:\n{proc.stderr}{proc.stdout}")
        return PtxResult(arch, out.read_text(), (proc.stderr + proc.stdout).strip())
