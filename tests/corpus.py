"""The mutant corpus and the correct alternatives: submissions made by swapping one definition of the
reference for another.  Each ``tests/mutants/<part>.py`` lists ``MUTANTS``; each
``tests/alternatives/<part>.py`` lists ``ALTERNATIVES``."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"


@dataclass(frozen=True)
class Variant:
    """A submission that differs from the reference in the top-level definitions given in ``source``."""

    exercise: str  # the exercise it belongs to
    name: str  # what is wrong (or what is different)
    source: str  # replacement definitions (functions or classes), dedented
    catches: str = ""  # mutants: a substring of the name of the check that must reject it
    part: str = ""  # the file to patch; default: the exercise's part
    merge: bool = False  # a class in ``source`` replaces only the methods it defines, not the whole class

    @property
    def file(self) -> str:
        return (self.part or self.exercise.split(".")[0]) + ".py"

    def write(self, dest: Path) -> Path:
        """Copy the reference into ``dest`` and swap in this variant's definitions."""
        shutil.copytree(SOLUTIONS, dest, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        path = dest / self.file
        path.write_text(replace_definitions(path.read_text(), textwrap.dedent(self.source), self.merge))
        return dest


def Mutant(exercise: str, name: str, source: str, catches: str, part: str = "", merge: bool = False) -> Variant:
    return Variant(exercise, name, source, catches, part, merge)


def Alternative(exercise: str, name: str, source: str, part: str = "", merge: bool = False) -> Variant:
    return Variant(exercise, name, source, "", part, merge)


def fill(template: str, defaults: dict[str, str], change: dict[str, str]) -> str:
    """A variant's source from a template: each ``<key>`` replaced by ``change[key]``, else ``defaults[key]``
    (placeholders in angle brackets, since the code holds braces)."""
    for key, value in {**defaults, **change}.items():
        template = template.replace(f"<{key}>", value)
    return template


def _merge_class(old_text: str, new_text: str) -> str:
    """``old_text`` (one class) with the definitions in the body of ``new_text`` (the same class) swapped in."""
    old, new = ast.parse(old_text).body[0], ast.parse(new_text).body[0]
    assert isinstance(old, ast.ClassDef) and isinstance(new, ast.ClassDef)

    def body_start(cls: ast.ClassDef) -> int:
        first = cls.body[0]
        return min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])]) - 1

    old_lines, new_lines = old_text.splitlines(keepends=True), new_text.splitlines(keepends=True)
    head, a = old_lines[: body_start(old)], body_start(old)
    indent = old_lines[a][: len(old_lines[a]) - len(old_lines[a].lstrip())]
    merged = replace_definitions(
        textwrap.dedent("".join(old_lines[a:])), textwrap.dedent("".join(new_lines[body_start(new) :]))
    )
    return "".join(head) + textwrap.indent(merged, indent)


def replace_definitions(module_source: str, new_source: str, merge: bool = False) -> str:
    """Replace (or append) the top-level definitions of ``new_source`` in ``module_source``.

    With ``merge``, a class that exists already keeps its other methods (see :func:`_merge_class`).
    """
    new_tree = ast.parse(new_source)
    lines = module_source.splitlines(keepends=True)
    tree = ast.parse(module_source)
    spans = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign)):
            names = (
                [node.name]
                if not isinstance(node, ast.Assign)
                else [t.id for t in node.targets if isinstance(t, ast.Name)]
            )
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            for n in names:
                spans[n] = (start - 1, node.end_lineno)
    extra, tail = [], []
    for node in new_tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            extra.append((ast.get_source_segment(new_source, node) or "") + "\n")
            continue
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not (
            isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets)
        ):
            tail.append("\n" + (ast.get_source_segment(new_source, node) or "") + "\n")  # e.g. a monkeypatch
            continue
        name = node.name if hasattr(node, "name") else node.targets[0].id  # type: ignore[attr-defined]
        text = (ast.get_source_segment(new_source, node, padded=True) or "") + "\n"
        deco = getattr(node, "decorator_list", [])
        if deco:
            first = min(d.lineno for d in deco)
            text = "".join(new_source.splitlines(keepends=True)[first - 1 : node.end_lineno]) + "\n"
        if name in spans:
            a, b = spans[name]
            if merge and isinstance(node, ast.ClassDef):
                text = _merge_class("".join(lines[a:b]), text) + "\n"
            lines[a:b] = [text] + [""] * (b - a - 1)
        else:
            lines.append("\n\n" + text)
    return "".join(extra) + "".join(lines) + "".join(tail)


def _collect(package: str, attr: str) -> list[Variant]:
    pkg = importlib.import_module(package)
    out: list[Variant] = []
    for info in pkgutil.iter_modules(pkg.__path__):
        out += getattr(importlib.import_module(f"{package}.{info.name}"), attr)
    return out


def mutants() -> list[Variant]:
    return _collect("tests.mutants", "MUTANTS")


def alternatives() -> list[Variant]:
    return _collect("tests.alternatives", "ALTERNATIVES")


def solution_lines(*parts: str) -> list[str]:
    """The distinctive lines of the reference solutions of ``parts`` (all parts if none): the stripped lines
    between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` of at least 17 characters, comments left out.
    A test that finds one of them in something a student receives has found a leak."""
    lines: list[str] = []
    for path in [SOLUTIONS / f"{p}.py" for p in parts] or sorted(SOLUTIONS.glob("*.py")):
        inside = False
        for line in path.read_text().splitlines():
            text = line.strip()
            if "BEGIN SOLUTION" in text or "END SOLUTION" in text:
                inside = "BEGIN" in text
            elif inside and len(text) > 16 and not text.startswith("#"):
                lines.append(text)
    return lines
