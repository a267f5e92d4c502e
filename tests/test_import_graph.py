"""tools/import_graph.py: xminer has no import cycle; the tool finds runtime cycles and cycles
through TYPE_CHECKING imports, and counts what an import loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "import_graph.py"


def graph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=120
    )


def section(out: str, title: str) -> str:
    """The report's lines from ``title`` to the next unindented line."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rest = lines[start + 1 :]
    end = next((i for i, line in enumerate(rest) if not line.startswith(" ")), len(rest))
    return "\n".join(lines[start : start + 1 + end])


def test_xminer_has_no_import_cycle() -> None:
    done = graph("--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "runtime import cycles: none" in done.stdout
    assert "cycles through TYPE_CHECKING imports only: none" in done.stdout


def write_package(root: Path, modules: dict[str, str]) -> Path:
    package = root / "pkg"
    package.mkdir()
    for name, text in modules.items():
        (package / f"{name}.py").write_text(text)
    return package


CYCLIC = {
    "__init__": "",
    "a": "import pkg.b\n",  # a -> b at import time ...
    "b": "def later():\n    from . import a\n    return a\n",  # ... b -> a when called
    "c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.d import D\n",
    "d": "from pkg import c\nclass D: ...\n",  # c <-> d only through TYPE_CHECKING
    "e": "import os\n",
}


def test_finds_a_runtime_cycle_through_a_function_import(tmp_path: Path) -> None:
    package = write_package(tmp_path, CYCLIC)
    done = graph("--root", str(package), "--check", "--lines")
    assert done.returncode == 1, done.stdout + done.stderr
    runtime = section(done.stdout, "runtime import cycles: 1")
    assert "  pkg.a, pkg.b" in runtime
    assert "pkg.a -> pkg.b (module level)" in runtime
    assert "pkg.b -> pkg.a (in a function)" in runtime
    assert "pkg.c" not in runtime
    typing_only = section(done.stdout, "cycles through TYPE_CHECKING imports only: 1")
    assert "pkg.c -> pkg.d (TYPE_CHECKING)" in typing_only
    assert "pkg.d -> pkg.c (module level)" in typing_only
    assert "pkg: 6 modules, 10 lines" in done.stdout
    assert "  pkg.b      3" in done.stdout


def test_a_type_checking_cycle_alone_fails_check_too(tmp_path: Path) -> None:
    package = write_package(tmp_path, {**CYCLIC, "b": "X = 1\n"})
    done = graph("--root", str(package), "--check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "runtime import cycles: none" in done.stdout
    assert "cycles through TYPE_CHECKING imports only: 1" in done.stdout


def test_loads_counts_the_modules_an_import_loads(tmp_path: Path) -> None:
    package = write_package(tmp_path, CYCLIC)
    done = graph("--root", str(package), "--loads", "pkg.a", "--loads", "pkg.e")
    assert "import pkg.a loads 3 pkg modules" in done.stdout  # pkg, pkg.a, pkg.b
    assert "import pkg.e loads 2 pkg modules" in done.stdout  # pkg, pkg.e
