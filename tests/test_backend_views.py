"""Backends render themselves from the shared state: a backend that is disabled or cannot run
here still has its /2/backends entry (as XMRig shows it), with no instance and no GPU runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from xminer.api.machine import floor2
from xminer.backends import KNOWN_BACKENDS
from xminer.backends.view import view_for
from xminer.state import BackendStats, SharedState, ThreadInfo

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT / "tests" / "fixtures" / "xmrig-api" / "2_backends.json"


def test_disabled_gpu_backends_render_as_xmrig_shows_them() -> None:
    """XMRig's capture has OpenCL and CUDA disabled: the views give those entries, key for key
    and in order, from empty stats (no backend was ever built)."""
    captured = {entry["type"]: entry for entry in json.loads(CAPTURE.read_text())}
    state = SharedState()
    for name in ("opencl", "cuda"):
        entry = view_for(name).api_entry(BackendStats(name), state, False, floor2)
        assert json.dumps(entry) == json.dumps(captured[name])


def test_a_disabled_cpu_keeps_its_keys() -> None:
    """The CPU's own keys, its huge pages and no memory while it does not run."""
    state = SharedState()
    state.dataset.huge_pages = (3, 5)
    entry = view_for("cpu").api_entry(BackendStats("cpu"), state, False, floor2)
    assert entry == {
        "type": "cpu", "enabled": False, "algo": None, "profile": None, "hw-aes": False,
        "priority": -1, "msr": False, "asm": False, "argon2-impl": "default",
        "hugepages": [3, 5], "memory": 0,
    }  # fmt: skip


def test_an_unavailable_opencl_shows_the_platform_it_found() -> None:
    stats = BackendStats("opencl", details={"platform": {"index": 0, "name": "PoCL"}})
    entry = view_for("opencl").api_entry(stats, SharedState(), False, floor2)
    assert entry["platform"] == {"index": 0, "name": "PoCL"} and entry["enabled"] is False


def test_hashrate_rows_and_table_units() -> None:
    state = SharedState()
    stats = state.backend("opencl")
    stats.threads = [ThreadInfo(0, state.new_counter(), 3), ThreadInfo(1, state.new_counter())]
    rows = view_for("opencl").hashrate_rows(stats)
    assert [(r.index, r.affinity, r.rates) for r in rows] == [
        (0, 3, [None, None, None]), (1, -1, [None, None, None]),
    ]  # fmt: skip
    assert [view_for(n).hashrate_unit for n in KNOWN_BACKENDS] == ["CPU #", "GPU #", "GPU #"]
    assert [view_for(n).reports_health for n in KNOWN_BACKENDS] == [False, True, True]


def test_views_import_no_gpu_runtime() -> None:
    """The API and the console ask the views of every backend; none loads pyopencl or pycuda."""
    code = (
        "import sys\n"
        "from xminer.backends.view import view_for\n"
        "for name in ('cpu', 'opencl', 'cuda'):\n"
        "    view_for(name)\n"
        "print(sorted(m for m in ('pyopencl', 'pycuda', 'numpy') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
