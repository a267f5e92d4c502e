"""Shared fixtures for the GPU kernel tests: kernels are built once per session on PoCL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault(
    "POCL_CACHE_DIR",
    os.environ.get("XMINER_POCL_CACHE") or str(Path.home() / ".cache" / "xminer" / "pocl"),
)

WORKSIZE = 1  # fixed local size: PoCL generates code once per local size


@pytest.fixture(scope="session")
def opencl_kernels() -> Any:
    from xminer.backends.opencl import opencl_status

    ok, reason = opencl_status()
    if not ok:
        pytest.skip(reason)
    from xminer.backends.opencl.randomx import compiled_kernels

    return compiled_kernels()


@pytest.fixture(scope="session")
def light_rx(opencl_kernels: Any) -> Any:
    from xminer.backends.opencl.randomx import OpenCLRandomX

    rx = OpenCLRandomX(mode="light", intensity=8, worksize=WORKSIZE)
    yield rx
    rx.close()
