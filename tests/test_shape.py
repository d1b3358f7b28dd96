"""The package's shape (issue 11): module-level imports inside ``grader`` form no cycle (``if TYPE_CHECKING:``
imports count: a cycle for the type checker is one for the reader too), and the core never imports the
instructor's tools or the notebook tools.  Imports inside functions are deliberate lazy imports and are left
out."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "grader"
CORE = (
    "grader.i18n",
    "grader.registry",
    "grader.reference",
    "grader.runner",
    "grader.results",
    "grader.secret",
    "grader.checks",
    "grader.exercises",
    "grader.reporters",
    "grader.isolation",
)


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports at module level, and inside module-level ``if`` blocks (``if TYPE_CHECKING:``)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in tree.body:
        found += (
            [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
            if isinstance(node, (ast.If, ast.Import, ast.ImportFrom))
            else []
        )
    return found


def graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    modules = {module_name(p, package.parent): p for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        for node in top_level_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            else:
                continue
            for t in targets:
                while t and t not in modules:  # grader.checks.context.Context -> grader.checks.context
                    t = t.rpartition(".")[0]
                # a package naming its own modules (``grader.checks`` -> ``grader.checks.x``) is not an edge back
                if t and t != mod and t.startswith("grader") and not t.startswith(mod + "."):
                    edges[mod].add(t)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_cycle():
    edges = graph()
    assert len(edges) > 60 and sum(map(len, edges.values())) > 150
    assert cycles(edges) == []


def test_the_cycle_finder_finds_one(tmp_path):
    pkg = tmp_path / "grader"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from grader.sub import b\n")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from grader.a import x\n"
    )
    assert cycles(graph(pkg)) == [["grader.a", "grader.sub.b"]]


def test_the_core_never_imports_the_instructors_or_the_notebook_tools():
    edges = graph()
    bad = {
        (m, t)
        for m, ts in edges.items()
        if m.startswith(CORE)
        for t in ts
        if t.startswith(("grader.instructor", "grader.notebooks", "grader.commands", "grader.cli"))
    }
    assert bad == set()
