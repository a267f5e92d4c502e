"""The kernels compile in the CUDA dialect: nvcc -ptx for sm_75/80/90, no warnings.

nvcc 13 supports compute capability 7.5 and newer only, so sm_70 is not built.
"""

from __future__ import annotations

import re

import pytest

from xminer.backends.cuda import CUDA_ARCHS, compile_cuda, cuda_status, find_nvcc
from xminer.backends.kernel_source import KERNEL_NAMES

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
    # -fmad=false: the VM's floating point is never contracted into FMA
    vm = _entry_body(result.ptx, "rx_run_program")
    assert "fma.rn.f64" not in vm
    assert "add.rm.f64" in vm and "div.rz.f64" in vm and "sqrt.rp.f64" in vm


def test_cuda_status_never_raises() -> None:
    ok, reason = cuda_status()
    assert isinstance(ok, bool) and reason
    if not ok:
        assert reason.startswith("unavailable")
