"""Running xminer as a program in a test: a process to read lines from, or a ``--bench``
hash sum."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from xminer.cli import main

ROOT = Path(__file__).resolve().parents[1]


def spawn(*args: str, home: Path | None = None) -> subprocess.Popen[str]:
    """``python -m xminer --no-color ARGS``, output (stdout and stderr) on a text pipe.

    With ``home``, HOME and the working directory are that folder (no config file is found
    there); else the repository root.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    if home is not None:
        env["HOME"] = str(home)
        env.pop("XDG_CONFIG_HOME", None)
    return subprocess.Popen(
        [sys.executable, "-m", "xminer", "--no-color", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        cwd=home or ROOT,
    )  # fmt: skip


def stop_process(proc: subprocess.Popen[Any], grace: float) -> None:
    """SIGTERM, ``grace`` seconds to end, then SIGKILL; reaped either way (a process that
    outlives SIGKILL for a minute fails the test rather than hanging it)."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(60)


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


def run(*argv: str) -> int:
    """``xminer ARGV`` in this process: its exit code (what it prints goes to capsys)."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    return int(info.value.code or 0)
