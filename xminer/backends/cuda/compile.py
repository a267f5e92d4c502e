"""Compile the shared RandomX kernels (kernels/, compat.h dialect) with nvcc.

``compile_cuda`` makes PTX for the CI check (every arch, no warnings); ``device_binary``
makes what the host side loads: a CUBIN for the device's own architecture (PTX for the
newest older one when nvcc does not know the device's), cached per architecture in
``~/.cache/xminer/cuda`` ($XDG_CACHE_HOME honoured) under a digest of the source, the target,
the flags and nvcc's version.

nvcc 13 targets compute capability 7.5 and newer only (no sm_70), hence CUDA_ARCHS.
FP contraction is switched off with -fmad=false (RandomX needs unfused mul/add); the
rounding-mode operations use CUDA's __dadd_rd-style intrinsics (see compat.h).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from xminer.backends.gpu.kernel_source import kernel_source, source_digest

CUDA_ARCHS: tuple[str, ...] = ("sm_75", "sm_80", "sm_90")
NVCC_FLAGS: tuple[str, ...] = ("-ptx", "-fmad=false", "-std=c++17", "--Werror", "all-warnings")
#: the entry points the host launches and their pycuda argument formats (P pointer, I u32),
#: in kernels/randomx.cl's parameter order (tests compare them with the PTX)
ENTRY_POINTS: dict[str, str] = {
    "rx_init": "PPIIIPI",
    "rx_fill_scratchpad": "PPI",
    "rx_compile_program": "PPPII",
    "rx_run_program": "PPPPPPPPPIII",
    "rx_run_program_piece": "PPPPPPPPPIIIII",
    "rx_finish": "PPPPIIII",
    "rx_init_dataset": "PPPIII",
}
#: flags of the binaries the host side loads (-cubin or -ptx is added); warnings are logged
RUNTIME_FLAGS: tuple[str, ...] = ("-fmad=false", "-std=c++17")


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


def _nvcc(compiler: str, source: str, flags: list[str], arch: str) -> tuple[bytes, str]:
    """Run nvcc on source: (output bytes, warnings)."""
    with tempfile.TemporaryDirectory(prefix="xminer-cuda-") as tmp:
        src = Path(tmp) / "randomx.cu"
        out = Path(tmp) / "randomx.out"
        src.write_text(source)
        cmd = [compiler, *flags, f"-arch={arch}", "-o", str(out), str(src)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise CudaCompileError(f"cannot run nvcc: {exc}") from None
        if proc.returncode != 0:
            raise CudaCompileError(f"nvcc failed for {arch}:\n{proc.stderr}{proc.stdout}")
        return out.read_bytes(), (proc.stderr + proc.stdout).strip()


def compile_cuda(arch: str = "sm_90", nvcc: str | None = None) -> PtxResult:
    """PTX for one architecture; raises CudaCompileError with nvcc's messages on failure."""
    compiler = nvcc or find_nvcc()
    if compiler is None:
        raise CudaCompileError("nvcc not found")
    ptx, warnings = _nvcc(compiler, cuda_source(), list(NVCC_FLAGS), arch)
    return PtxResult(arch, ptx.decode(), warnings)


@dataclass(frozen=True)
class EntryUsage:
    """What ptxas -v reports for one kernel: registers a thread, stack frame and spill bytes a
    thread, static shared memory bytes a block."""

    registers: int
    stack: int
    spills: int
    shared: int


#: the executor's entry points and ptxas limits for them (issue 13: registers and stack)
EXECUTOR_ENTRIES = ("rx_run_program", "rx_run_program_piece")
EXECUTOR_MAX_REGISTERS = 128


def ptxas_usage(arch: str = "sm_90", nvcc: str | None = None) -> dict[str, EntryUsage]:
    """ptxas -v's resource usage of every entry point, compiled to a CUBIN for arch."""
    compiler = nvcc or find_nvcc()
    if compiler is None:
        raise CudaCompileError("nvcc not found")
    flags = ["-cubin", *RUNTIME_FLAGS, "-Xptxas", "-v"]
    _, report = _nvcc(compiler, cuda_source(), flags, arch)
    usage: dict[str, EntryUsage] = {}
    name, stack, spills = "", 0, 0
    for line in report.splitlines():
        if found := re.search(r"Compiling entry function '(\w+)'", line):
            name, stack, spills = found.group(1), 0, 0
        elif found := re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores", line):
            stack, spills = int(found.group(1)), int(found.group(2))
        elif found := re.search(r"Used (\d+) registers", line):
            shared = re.search(r"(\d+) bytes smem", line)
            usage[name] = EntryUsage(
                int(found.group(1)), stack, spills, int(shared.group(1)) if shared else 0
            )
    return usage


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xminer" / "cuda"


@functools.cache
def nvcc_info(nvcc: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(--version text, real architectures sm_XY, virtual ones compute_XY) of an nvcc."""

    def ask(*args: str) -> str:
        try:
            proc = subprocess.run([nvcc, *args], capture_output=True, text=True, check=False)
        except OSError:
            return ""
        return proc.stdout if proc.returncode == 0 else ""

    version = " ".join(ask("--version").split()) or "nvcc"
    codes = tuple(ask("--list-gpu-code").split()) or CUDA_ARCHS
    virtual = tuple(ask("--list-gpu-arch").split()) or tuple(
        a.replace("sm_", "compute_") for a in codes
    )
    return version, codes, virtual


def _arch_number(name: str) -> int:
    found = re.search(r"_(\d+)", name)
    return int(found.group(1)) if found else 0


def choose_target(
    capability: tuple[int, int], codes: tuple[str, ...], virtual: tuple[str, ...]
) -> tuple[str, str]:
    """("cubin", "sm_XY") when nvcc knows the device; else ("ptx", newest older compute_XY)."""
    number = capability[0] * 10 + capability[1]
    if f"sm_{number}" in codes:
        return "cubin", f"sm_{number}"
    older = [v for v in virtual if _arch_number(v) <= number]
    if not older:
        known = ", ".join(codes)
        raise CudaCompileError(
            f"nvcc cannot build for compute capability {capability[0]}.{capability[1]} "
            f"(it knows {known})"
        )
    return "ptx", max(older, key=_arch_number)


@dataclass(frozen=True)
class DeviceBinary:
    """A compiled module for one device architecture: kind is "cubin" or "ptx"."""

    kind: str
    arch: str
    image: bytes
    path: Path
    cached: bool  # read from the cache (no nvcc run)
    warnings: str = ""


def _binary_path(kind: str, arch: str, nvcc_version: str, source: str) -> Path:
    digest = source_digest(source, kind, arch, nvcc_version, *RUNTIME_FLAGS)
    return cache_dir() / f"randomx-{arch}-{digest[:32]}.{kind}"


def cached_binary(capability: tuple[int, int], nvcc: str | None = None) -> Path | None:
    """The cached binary for a device when there is one (None also when nvcc is missing)."""
    compiler = nvcc or find_nvcc()
    if compiler is None:
        return None
    version, codes, virtual = nvcc_info(compiler)
    try:
        kind, arch = choose_target(capability, codes, virtual)
    except CudaCompileError:
        return None
    path = _binary_path(kind, arch, version, cuda_source())
    return path if path.exists() else None


def device_binary(capability: tuple[int, int], nvcc: str | None = None) -> DeviceBinary:
    """The module image for a device of this compute capability, from the cache or nvcc."""
    compiler = nvcc or find_nvcc()
    if compiler is None:
        raise CudaCompileError("nvcc not found (set CUDA_HOME or put it on PATH)")
    version, codes, virtual = nvcc_info(compiler)
    kind, arch = choose_target(capability, codes, virtual)
    source = cuda_source()
    path = _binary_path(kind, arch, version, source)
    if path.exists():
        return DeviceBinary(kind, arch, path.read_bytes(), path, cached=True)
    image, warnings = _nvcc(compiler, source, [f"-{kind}", *RUNTIME_FLAGS], arch)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(image)
    tmp.replace(path)  # atomic: a second process never reads half a file
    return DeviceBinary(kind, arch, image, path, cached=False, warnings=warnings)
