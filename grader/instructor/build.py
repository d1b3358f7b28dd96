"""One source per exercise: ``solutions/`` carries ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (nbgrader's
markers); ``assignments/`` is generated from it, each removed body replaced by a ``NotImplementedError``
that names the exercise.  A marked block at module level (a private helper) is removed without trace.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from grader.registry import PARTS, owner_of

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_MARKER = re.compile(r"^(\s*)### (BEGIN|END) SOLUTION\s*$")


class MarkerError(ValueError):
    """Unbalanced or misplaced solution markers."""


def _enclosing(tree: ast.Module, line: int) -> tuple[str, str]:
    """(top-level name, innermost function name) around ``line`` (1-based)."""
    top = ""
    inner: tuple[str, int] | None = None  # (name, first line) of the innermost function so far
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.lineno <= line <= (
            node.end_lineno or node.lineno
        ):
            if node in tree.body:
                top = node.name
            if not isinstance(node, ast.ClassDef) and (inner is None or node.lineno > inner[1]):
                inner = (node.name, node.lineno)
    return top, inner[0] if inner else ""


def strip_solutions(source: str, part: str, filename: str = "<solution>") -> str:
    """The student version of a solution file."""
    tree = ast.parse(source, filename)
    out: list[str] = []
    lines = source.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        m = _MARKER.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        if m.group(2) != "BEGIN":
            raise MarkerError(f"{filename}:{i + 1}: {END} without {BEGIN}")
        indent, start = m.group(1), i
        i += 1
        while i < len(lines) and not _MARKER.match(lines[i]):
            i += 1
        if i == len(lines) or _MARKER.match(lines[i]).group(2) != "END":  # type: ignore[union-attr]
            raise MarkerError(f"{filename}:{start + 1}: {BEGIN} without a matching {END}")
        i += 1
        if not indent:
            continue  # a module-level block (a reference-only helper) disappears
        top, fn = _enclosing(tree, start + 1)
        ex = owner_of(f"{top}.{fn}", part) or owner_of(top, part)  # a method may be its own exercise
        ex_id = ex.id if ex else f"{part}.{top}"
        out.append(f"{indent}# YOUR CODE HERE ({ex_id})\n")
        out.append(f'{indent}raise NotImplementedError("{ex_id}: write {fn or top}")\n')
    return "".join(out)


def build(solutions: Path, assignments: Path, *, check: bool = False) -> list[str]:
    """Write (or, with ``check``, compare) every ``assignments/<part>.py``; returns the stale file names."""
    stale = []
    for part in PARTS:
        src = solutions / f"{part}.py"
        if not src.is_file():
            continue
        text = strip_solutions(src.read_text(), part, str(src))
        dst = assignments / f"{part}.py"
        if not dst.is_file() or dst.read_text() != text:
            stale.append(dst.name)
            if not check:
                assignments.mkdir(parents=True, exist_ok=True)
                dst.write_text(text)
    return stale
