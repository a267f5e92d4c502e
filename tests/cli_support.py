"""Running xminer as a program in a test: its ``--bench`` hash sum."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def bench_sum(home: Path, *args: str, keep_cache: bool = False) -> str:
    """``xminer --bench`` as a program in home (no config file found); its 'hash sum = ...'.

    keep_cache: XDG_CACHE_HOME stays the caller's (CUDA kernels from the cache); OpenCL on
    PoCL needs only POCL_CACHE_DIR, which stays in any case.
    """
    env = {**os.environ, "HOME": str(home)}
    if keep_cache:
        env["XDG_CACHE_HOME"] = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    proc = subprocess.run(
        [sys.executable, "-m", "xminer", "--no-color", "--print-time=0", *args],
        capture_output=True, text=True, timeout=600, env=env, cwd=home,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = re.search(r"hash sum = ([0-9A-F]{16})", proc.stdout)
    assert found, proc.stdout
    return found.group(1)
