"""The reference solutions: imported into the grader (trusted code) and, for prerequisites, sent to the
worker as source so a later exercise is graded with the reference versions of what it builds on."""
from __future__ import annotations

import ast
import importlib
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from grader.registry import PARTS, Exercise, prerequisite_closure

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"


def available(solutions: Path = SOLUTIONS) -> bool:
    """Whether reference solutions are here (a Gradescope zip holds only the parts it grades)."""
    return solutions.is_dir() and any(solutions.glob("*.py"))


@lru_cache(maxsize=None)
def module(part: str, solutions: Path = SOLUTIONS) -> ModuleType:
    """Import ``solutions/<part>.py`` without leaving plain names like ``neuron`` in ``sys.modules``."""
    path = solutions / f"{part}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no reference solution {path}")
    saved_path = list(sys.path)
    saved = {n: sys.modules.pop(n) for n in list(sys.modules) if (solutions / f"{n}.py").is_file()}
    sys.path.insert(0, str(solutions))
    try:
        mod = importlib.import_module(part)
    finally:
        sys.path[:] = saved_path
        for name in [n for n in list(sys.modules) if (solutions / f"{n}.py").is_file()]:
            sys.modules.pop(name)
        sys.modules.update(saved)
    return mod


def _definitions(source: str) -> dict[str, str]:
    """Top-level functions and classes of a module, by name, as source text; imports under ``""``."""
    tree = ast.parse(source)
    defs = {node.name: ast.get_source_segment(source, node) or ""
            for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    imports = [ast.get_source_segment(source, node) or "" for node in tree.body
               if isinstance(node, ast.Import)
               or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] not in (*PARTS, "__future__"))]
    defs[""] = "\n".join(imports)
    return defs


@lru_cache(maxsize=None)
def _part_definitions(part: str, solutions: Path) -> tuple[tuple[str, str], ...]:
    return tuple(_definitions((solutions / f"{part}.py").read_text()).items())


def prerequisites(ex: Exercise, solutions: Path = SOLUTIONS) -> tuple[str, dict[str, list[str]]]:
    """Source of the reference functions ``ex`` builds on (with their private helpers), and their names by part.

    Empty when there are no prerequisites or no reference (a student release grades with the
    student's own earlier exercises).
    """
    closure = prerequisite_closure(ex)
    if not closure or not available(solutions):
        return "", {}
    names: dict[str, list[str]] = {}
    chunks: list[str] = []
    seen: set[str] = set()
    for pre in closure:
        defs = dict(_part_definitions(pre.part, solutions))
        if defs[""] not in chunks:
            chunks.insert(0, defs[""])
        wanted = [n for n in pre.functions if n in defs]
        helpers = [n for n in defs if n.startswith("_") and n not in seen]  # "" (imports) is not "_"
        for name in helpers + wanted:
            if name not in seen:
                chunks.append(defs[name])
                seen.add(name)
        names.setdefault(pre.part, []).extend(wanted)
    return "\n\n".join(chunks) + "\n", names
