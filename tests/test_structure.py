"""The shape of the house (import cycles: tests/test_import_graph.py): a config package
that loads nothing of the running program, and the backend registry (a name -> factory
table, the CPU included)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.config_support import miner_config
from xminer.backends import BackendContext, BackendUnavailable, create_backend
from xminer.job import JobSlot
from xminer.randomx.context import RandomXContext
from xminer.state import SharedState

ROOT = Path(__file__).parents[1]


def test_config_package_loads_nothing_of_the_runtime() -> None:
    code = (
        "import json, sys; import xminer.config; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('xminer'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    leaves = {"xminer", "xminer.jsonsafe", "xminer.version"}
    assert [m for m in loaded if m not in leaves and not m.startswith("xminer.config")] == []


def context(threads: int, **config: object) -> BackendContext:
    rx = RandomXContext(mode="light", huge_pages=False)
    return BackendContext(SharedState(), rx, JobSlot(), None, miner_config(threads, **config))  # type: ignore[arg-type]


def test_the_cpu_backend_comes_from_the_registry_with_its_section() -> None:
    """The CPU backend resolves its threads from ``ctx.config.cpu`` (here a profile of three
    unpinned threads), as OpenCL and CUDA read theirs."""
    backend = create_backend("cpu", context(3))
    assert backend.name == "cpu" and len(backend.plan) == 3  # type: ignore[attr-defined]


def test_a_runtime_that_cannot_be_imported_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "xminer.backends.cuda", None)  # import raises ImportError
    with pytest.raises(BackendUnavailable, match="cuda backend not available"):
        create_backend("cuda", context(0, cuda={"enabled": True}))
    with pytest.raises(KeyError, match="unknown backend"):
        create_backend("tpu", context(0))
