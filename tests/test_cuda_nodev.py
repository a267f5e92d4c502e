"""The CUDA backend where a driver is installed but pycuda or a GPU is missing.

``tools/cuda_nodev_stub.py`` builds a libcuda.so.1 whose every call fails with
CUDA_ERROR_NO_DEVICE; with it first on LD_LIBRARY_PATH (read at process start, hence the
subprocesses) the machine looks like one with a driver and no card: pycuda, where it is
installed (the ``xminer[cuda]`` extra), imports and finds no device; where it is not (CI),
the backend says pycuda is missing.  Needs a C compiler and cuda.h (the CUDA toolkit).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xminer.backends.cuda.compile import ENTRY_POINTS

pytestmark = pytest.mark.cuda

ROOT = Path(__file__).resolve().parents[1]
HEADER = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "include" / "cuda.h"
NO_DEVICE = "no CUDA-capable device is detected"


def _pycuda_dir() -> str | None:
    spec = importlib.util.find_spec("pycuda")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


PYCUDA_DIR = _pycuda_dir()
skip_reason = (
    f"no {HEADER} (CUDA toolkit)"
    if not HEADER.exists()
    else "no C compiler"
    if shutil.which("cc") is None
    else None
)
if skip_reason:
    pytest.skip(skip_reason, allow_module_level=True)
needs_pycuda = pytest.mark.skipif(
    PYCUDA_DIR is None,
    reason="pycuda not installed (the xminer[cuda] extra; kernels/README.md says how to build it)",
)


@pytest.fixture(scope="module")
def stub_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("nodev")
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "cuda_nodev_stub.py"), str(out), "--header",
         str(HEADER)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return out


def run(
    stub: Path, home: Path, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    paths = [str(ROOT), PYCUDA_DIR or "", os.environ.get("PYTHONPATH", "")]
    env = {
        **os.environ,
        "LD_LIBRARY_PATH": f"{stub}:{os.environ.get('LD_LIBRARY_PATH', '')}",
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env,
        cwd=home,
    )  # fmt: skip


PROBE = """
import json
from xminer.backends.cuda import cuda_status, device_listing, list_devices
from xminer.backends.cuda.backend import CudaBackend
import xminer.backends.cuda.randomx as randomx   # imports: pycuda.driver loads the stub
import pycuda.driver as drv
backend = CudaBackend.__new__(CudaBackend)
backend.options = {}
try:
    randomx.cuda_device(0)
    made = "made"
except RuntimeError as exc:
    made = str(exc)
print(json.dumps({"status": cuda_status(), "devices": list_devices(), "listing": device_listing(),
                  "available": backend.availability(), "context": made,
                  "driver_version": drv.get_version()}))
"""


@needs_pycuda
def test_no_device_reported_cleanly(stub_dir: Path, tmp_path: Path) -> None:
    proc = run(stub_dir, tmp_path, "-c", PROBE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["status"] == [False, f"unavailable: cuInit failed: {NO_DEVICE}"]
    assert got["devices"] == []
    assert got["listing"] == f"CUDA: unavailable: cuInit failed: {NO_DEVICE}"
    assert got["available"] == got["status"][1]
    assert got["context"] == "no CUDA device"
    assert proc.stderr == ""


@needs_pycuda
def test_kernels_compile_through_the_host_path(stub_dir: Path, tmp_path: Path) -> None:
    """device_binary (what CudaContext.load uses): a CUBIN for sm_90 with the four entry
    points, written to the cache and read back from it the second time."""
    code = """
import json
from xminer.backends.cuda.compile import ENTRY_POINTS, cached_binary, device_binary
first = device_binary((9, 0))
second = device_binary((9, 0))
print(json.dumps({"kind": first.kind, "arch": first.arch, "cached": [first.cached, second.cached],
    "same": first.image == second.image, "path": str(first.path), "warnings": first.warnings,
    "found": str(cached_binary((9, 0))),
    "entries": [name for name in ENTRY_POINTS if name.encode() + b"\\0" in first.image]}))
"""
    proc = run(stub_dir, tmp_path, "-c", code)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (got["kind"], got["arch"], got["cached"], got["same"]) == (
        "cubin", "sm_90", [False, True], True
    )  # fmt: skip
    assert got["warnings"] == ""
    assert got["path"].startswith(str(tmp_path / "cache" / "xminer" / "cuda"))
    assert got["found"] == got["path"]
    assert got["entries"] == list(ENTRY_POINTS)


def test_miner_goes_on_without_cuda(stub_dir: Path, tmp_path: Path) -> None:
    """--cuda on a machine with a driver and no card (or without pycuda): one log line with
    the reason, the CPU benchmarks on."""
    proc = run(
        stub_dir, tmp_path, "-m", "xminer", "--no-color", "--print-time=0", "--cuda",
        "-t", "1", "--bench=2", "--randomx-mode=light",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if " cuda " in line]
    assert len(lines) == 1, proc.stdout
    if PYCUDA_DIR is None:
        assert "disabled: unavailable: pycuda missing (No module named 'pycuda')" in lines[0]
    else:
        assert lines[0].endswith(f"disabled: unavailable: cuInit failed: {NO_DEVICE}")
    assert "hash sum = " in proc.stdout
