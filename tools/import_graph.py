"""A package's import graph: its modules, their lines, import cycles, what importing one loads.

    python tools/import_graph.py [--root xminer] [--lines] [--check] [--loads MODULE]...

Each import is one of three kinds: at module level (runs when the module is imported), inside a
function (runs when the function is called: still a runtime dependency, only a later one) or
under ``if TYPE_CHECKING:`` (never runs).  A cycle of the first two kinds is a runtime
cycle; one that closes only through TYPE_CHECKING imports is reported apart, since it cannot
fail an import, but it still ties two rooms together: ``--check`` exits 1 on either.
``--loads MODULE`` imports MODULE in a fresh interpreter and counts the package's modules that
it loaded.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MODULE_LEVEL, IN_FUNCTION, TYPING = "module level", "in a function", "TYPE_CHECKING"
RUNTIME = (MODULE_LEVEL, IN_FUNCTION)
ROOT = Path(__file__).resolve().parents[1] / "xminer"


@dataclass
class Graph:
    lines: dict[str, int] = field(default_factory=dict)  # module -> lines
    edges: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (from, to) -> kinds

    def add(self, source: str, target: str, kind: str) -> None:
        if source != target:
            self.edges.setdefault((source, target), set()).add(kind)

    def successors(self, kinds: Iterable[str]) -> dict[str, list[str]]:
        wanted = set(kinds)
        out: dict[str, list[str]] = {module: [] for module in self.lines}
        for (source, target), found in sorted(self.edges.items()):
            if found & wanted:
                out[source].append(target)
        return out


def module_name(root: Path, path: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(test: ast.expr) -> bool:
    name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
    return name == "TYPE_CHECKING"


def imports(node: ast.AST, kind: str = MODULE_LEVEL) -> Iterator[tuple[ast.AST, str]]:
    """Every import statement under ``node`` with the kind of place it sits in."""
    for child in ast.iter_child_nodes(node):
        yield from classify(child, kind)


def classify(node: ast.AST, kind: str) -> Iterator[tuple[ast.AST, str]]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node, kind
    elif isinstance(node, ast.If) and is_type_checking(node.test):
        for stmt in node.body:
            yield from classify(stmt, TYPING)
        for stmt in node.orelse:  # the else branch of TYPE_CHECKING is what runs
            yield from classify(stmt, kind)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        yield from imports(node, TYPING if kind == TYPING else IN_FUNCTION)
    else:
        yield from imports(node, kind)


def known(name: str, modules: dict[str, int]) -> str | None:
    """The longest prefix of ``name`` that is one of the package's modules."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def targets(node: ast.AST, module: str, is_package: bool, modules: dict[str, int]) -> set[str]:
    if isinstance(node, ast.Import):
        found = {known(alias.name, modules) for alias in node.names}
    else:
        assert isinstance(node, ast.ImportFrom)
        base = module
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, node.module] if node.module else package)
        else:
            base = node.module or ""
        # ``from a import b`` imports the module a.b when there is one, else a name of a
        found = {known(f"{base}.{alias.name}", modules) for alias in node.names}
    return {name for name in found if name is not None}


def build(root: Path) -> Graph:
    graph = Graph()
    files = {module_name(root, path): path for path in sorted(root.rglob("*.py"))}
    trees: dict[str, ast.Module] = {}
    for module, path in files.items():
        text = path.read_text(encoding="utf-8")
        graph.lines[module] = len(text.splitlines())
        trees[module] = ast.parse(text, str(path))
    for module, tree in trees.items():
        is_package = files[module].name == "__init__.py"
        for node, kind in imports(tree):
            for target in targets(node, module, is_package, graph.lines):
                graph.add(module, target, kind)
    return graph


def cycles(successors: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in successors[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(successors) + 100))
    for node in successors:
        if node not in index:
            visit(node)
    return sorted(found)


def describe(graph: Graph, component: list[str]) -> list[str]:
    members = set(component)
    lines = ["  " + ", ".join(component)]
    for (source, target), kinds in sorted(graph.edges.items()):
        if source in members and target in members:
            lines.append(f"    {source} -> {target} ({', '.join(sorted(kinds))})")
    return lines


def loads(module: str, root: Path) -> list[str]:
    """The package's modules that ``import module`` loads, in a fresh interpreter."""
    code = (
        "import importlib, sys; importlib.import_module(sys.argv[1]); "
        "print('\\n'.join(sorted(m for m in sys.modules "
        "if m == sys.argv[2] or m.startswith(sys.argv[2] + '.'))))"
    )
    env = {**os.environ, "PYTHONPATH": str(root.parent)}
    done = subprocess.run(
        [sys.executable, "-c", code, module, root.name],
        capture_output=True,
        text=True,
        env=env,
        cwd=root.parent,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"import {module} failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout.split()


def report(graph: Graph, root: Path, args: argparse.Namespace) -> int:
    counts = {kind: sum(kind in k for k in graph.edges.values()) for kind in (*RUNTIME, TYPING)}
    print(f"{root.name}: {len(graph.lines)} modules, {sum(graph.lines.values())} lines")
    print("imports: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    if args.lines:
        width = max(len(m) for m in graph.lines)
        for module, count in sorted(graph.lines.items()):
            print(f"  {module:<{width}} {count:>6}")
    runtime = cycles(graph.successors(RUNTIME))
    typing_only = [c for c in cycles(graph.successors((*RUNTIME, TYPING))) if c not in runtime]
    print(f"runtime import cycles: {len(runtime) or 'none'}")
    for component in runtime:
        print("\n".join(describe(graph, component)))
    print(f"cycles through TYPE_CHECKING imports only: {len(typing_only) or 'none'}")
    for component in typing_only:
        print("\n".join(describe(graph, component)))
    for module in args.loads:
        print(f"import {module} loads {len(loads(module, root))} {root.name} modules")
    return 1 if args.check and (runtime or typing_only) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the package folder")
    parser.add_argument("--lines", action="store_true", help="lines per module")
    parser.add_argument("--check", action="store_true", help="exit 1 on any import cycle")
    parser.add_argument("--loads", action="append", default=[], metavar="MODULE")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    return report(build(root), root, args)


if __name__ == "__main__":
    sys.exit(main())
