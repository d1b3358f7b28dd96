"""The forbidden-import policy: a numpy-only part may not let torch, scipy or sklearn compute its answer.

Two detectors, both reported as notes on the exercise (and in the JSON):

* static — an ``ast`` scan of the submission's ``<part>.py`` (and the local modules it imports) for
  ``import``/``from ... import`` statements and ``__import__("...")`` / ``importlib.import_module("...")``
  calls with a literal name;
* run time — the worker's ``sys.addaudithook`` "import" hook (``grader.isolation.worker.child``) records modules
  that student code itself imports (not those a library imports for itself), including imports hidden
  behind ``exec`` or computed names.

The policy itself (which parts, which packages, which sub-modules are allowed) is
``grader.registry.FORBIDDEN``.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable
from pathlib import Path

from grader.i18n import N_, _
from grader.registry import Exercise

_IMPORT_FUNCS = {"__import__", "import_module"}
#: The penalty ``deepgrade grade`` should apply (``check`` warns only): a forbidden import scores 0.
GRADE_PENALTY = 1.0


def imported_modules(source: str) -> list[tuple[str, int]]:
    """(dotted module name, line) of every absolute import visible in ``source``.

    ``from a import b`` gives ``a.b`` (``b`` may be a sub-module); a file that does not parse gives [].
    """
    return list(_remembered(source) if len(source) <= _SCANNED_CHARS else _imports(source))


#: Sources whose imports are remembered, and the longest remembered: a grade scans each of a submission's files once
#: per exercise that imports it (parsing them again was about 5% of the grader's CPU on the numpy exercises); a
#: batch process keeps them from one student to the next, so a long file (a submission may unpack to 64 MB) is
#: scanned each time instead of being held.
_SCANNED = 32
_SCANNED_CHARS = 256 * 1024


@functools.lru_cache(maxsize=_SCANNED)
def _remembered(source: str) -> tuple[tuple[str, int], ...]:
    return _imports(source)


def _imports(source: str) -> tuple[tuple[str, int], ...]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ()
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(f"{node.module}.{a.name}" if a.name != "*" else node.module, node.lineno) for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in _IMPORT_FUNCS:
                found.append((node.args[0].value, node.lineno))
    return tuple(found)


def static_imports(submission: Path, part: str) -> list[tuple[str, str]]:
    """(module, "file:line") imported by ``<part>.py`` and, transitively, by the local modules it imports."""
    out: list[tuple[str, str]] = []
    todo, seen = [part], set()
    while todo:
        name = todo.pop()
        path = Path(submission) / f"{name}.py"
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        for module, line in imported_modules(path.read_text(errors="replace")):
            out.append((module, f"{path.name}:{line}"))
            todo.append(module.split(".")[0])
    return out


def _allowed(module: str, allowed: Iterable[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


def violations(ex: Exercise, imports: Iterable[tuple[str, str]], how: str) -> list[str]:
    """Notes for the imports (module, where) that ``ex``'s part forbids: one per package and place.

    A parent package imported on the way to an allowed sub-module at the same place is not counted
    (``from sklearn.datasets import load_digits`` loads ``sklearn`` too).
    """
    forbidden, allowed = ex.forbidden
    imports = list(imports)
    found: dict[tuple[str, str], str] = {}  # (package, where) -> the most specific module seen there
    for module, where in imports:
        top = module.split(".")[0]
        if top not in forbidden or _allowed(module, allowed):
            continue
        if any(w == where and m.startswith(module + ".") and _allowed(m, allowed) for m, w in imports):
            continue
        if len(module) > len(found.get((top, where), "")):
            found[(top, where)] = module
    return [
        _("forbidden import ({how}): {where} imports {module}; {file} must use numpy only").format(
            how=_(how), where=where, module=module, file=f"{ex.part}.py"
        )
        for (_package, where), module in found.items()
    ]


def check_submission(ex: Exercise, submission: Path, runtime: Iterable[tuple[str, str, str]]) -> list[str]:
    """All policy notes for ``ex``: the static scan, then what the worker saw (part, module, where) that the
    scan did not."""
    if not ex.forbidden[0]:
        return []
    static_found = static_imports(submission, ex.part)
    static = violations(ex, static_found, N_("static"))
    seen = {(m.split(".")[0], w) for m, w in static_found}
    dynamic = [(m, w) for p, m, w in runtime if p == ex.part and (m.split(".")[0], w) not in seen]
    return static + violations(ex, dynamic, N_("run time"))
