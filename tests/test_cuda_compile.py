"""The kernels compile in the CUDA dialect: nvcc -ptx for sm_75/80/90, no warnings; the host's
argument formats match the kernels; without a usable GPU the backend says why.

nvcc 13 supports compute capability 7.5 and newer only, so sm_70 is not built.
"""

from __future__ import annotations

import re

import pytest

from tests.config_support import miner_config
from xminer.backends.cuda import CUDA_ARCHS, compile_cuda, cuda_status, find_nvcc
from xminer.backends.cuda.compile import (
    ENTRY_POINTS,
    EXECUTOR_ENTRIES,
    EXECUTOR_MAX_REGISTERS,
    CudaCompileError,
    choose_target,
    ptxas_usage,
)
from xminer.backends.gpu.kernel_source import KERNEL_NAMES, kernel_source
from xminer.miner import Miner

pytestmark = pytest.mark.cuda


def _entry_body(ptx: str, name: str) -> str:
    start = ptx.index(f".entry {name}(")
    following = ptx.find(".entry ", start + 1)
    return ptx[start : following if following > 0 else len(ptx)]


@pytest.mark.skipif(find_nvcc() is None, reason="nvcc not installed")
@pytest.mark.parametrize("arch", CUDA_ARCHS)
def test_ptx_for_arch(arch: str) -> None:
    result = compile_cuda(arch)
    assert result.warnings == ""
    assert re.search(rf"^\.target {arch}\b", result.ptx, re.M)
    for name in KERNEL_NAMES:
        assert f".visible .entry {name}(" in result.ptx
    # the grouped executor: FP add/sub/mul round to nearest and correct by the sign of the
    # exact error (no per-mode instruction); division and square root use CUDA's rounded ones
    for entry in ("rx_run_program", "rx_run_program_piece"):
        vm = _entry_body(result.ptx, entry)
        assert "add.rn.f64" in vm and "mul.rn.f64" in vm
        assert "add.rm.f64" not in vm and "mul.rp.f64" not in vm
        assert "div.rz.f64" in vm and "sqrt.rp.f64" in vm
    # the host's argument formats (P = 64-bit pointer, I = u32) are the entry points' params
    for name, fmt in ENTRY_POINTS.items():
        head = _entry_body(result.ptx, name).split(")", 1)[0]
        kinds = re.findall(r"\.param\s+\.(u64|u32)", head)
        assert "".join("P" if k == "u64" else "I" for k in kinds) == fmt, name


@pytest.mark.skipif(find_nvcc() is None, reason="nvcc not installed")
@pytest.mark.parametrize("arch", CUDA_ARCHS)
def test_executor_registers_and_stack(arch: str) -> None:
    """The gate of issue 13: the executor's kernels within 128 registers a thread and with no
    stack (the VM's registers are in shared memory, nothing private is indexed at run time)."""
    usage = ptxas_usage(arch)
    assert set(usage) == set(KERNEL_NAMES)
    for entry in EXECUTOR_ENTRIES:
        assert usage[entry].registers <= EXECUTOR_MAX_REGISTERS, (entry, usage[entry])
        assert usage[entry].stack == 0 and usage[entry].spills == 0, (entry, usage[entry])


def test_host_formats_follow_the_kernel_source() -> None:
    """ENTRY_POINTS against the kernels' parameter lists (a pointer or a u32 each)."""
    # LOCAL_PARAM(...): work-group memory, an OpenCL argument only (CUDA: dynamic shared memory)
    source = re.sub(r"LOCAL_PARAM\([^)]*\)", "", kernel_source())
    for name, fmt in ENTRY_POINTS.items():
        found = re.search(rf"KERNEL void {name}\(([^)]*)\)", source)
        assert found, name
        params = [p.strip() for p in found.group(1).split(",")]
        assert all("*" in p or p.startswith("u32 ") for p in params), params
        assert "".join("P" if "*" in p else "I" for p in params) == fmt, name
        assert params[-1] == "u32 count"  # the host appends count, as OpenCL's launch() does


def test_choose_target() -> None:
    codes = ("sm_75", "sm_80", "sm_86", "sm_90", "sm_120")
    virtual = tuple(c.replace("sm_", "compute_") for c in codes)
    assert choose_target((9, 0), codes, virtual) == ("cubin", "sm_90")
    assert choose_target((8, 6), codes, virtual) == ("cubin", "sm_86")
    assert choose_target((8, 9), codes, virtual) == ("ptx", "compute_86")  # JIT by the driver
    assert choose_target((13, 0), codes, virtual) == ("ptx", "compute_120")
    with pytest.raises(CudaCompileError, match=r"compute capability 7\.0"):
        choose_target((7, 0), codes, virtual)


def test_cuda_status_never_raises() -> None:
    ok, reason = cuda_status()
    assert isinstance(ok, bool) and reason
    if not ok:
        assert reason.startswith("unavailable")


def test_backend_unavailable_without_a_usable_gpu() -> None:
    """--cuda where the driver, pycuda or a device is missing: the reason, no exception."""
    ok, reason = cuda_status()
    if ok:
        pytest.skip("a CUDA device is usable here")
    miner = Miner(miner_config(0, cuda={"enabled": True}))
    miner.build_backends()
    assert "cuda" not in miner.backends
    stats = miner.state.backend("cuda")
    assert stats.unavailable_reason == reason and not stats.enabled
