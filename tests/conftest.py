"""Shared fixtures: the "xminer" logger reset after each test; a port something listens on; GPU
kernels built once per session on PoCL."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault(
    "POCL_CACHE_DIR",
    os.environ.get("XMINER_POCL_CACHE") or str(Path.home() / ".cache" / "xminer" / "pocl"),
)


@pytest.fixture(autouse=True)
def pristine_xminer_logger() -> Any:
    """``main()`` points the "xminer" logger at the streams of its test and stops propagation;
    pytest (9.2+) then hangs its capture handlers on that logger too.  Put it back as logging
    made it, so no test sees another's handlers (a record would be captured twice)."""
    yield
    logger = logging.getLogger("xminer")
    logger.handlers.clear()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that a socket holds (listening) for the test."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


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
