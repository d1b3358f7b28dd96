"""The reference solutions: imported into the grader (trusted code) only.  A later exercise is graded with
the reference versions of what it builds on (:class:`Given`), computed here at the worker's request."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import sys
from collections import Counter
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grader.isolation.worker import wire
from grader.isolation.worker.client import GivenCallError
from grader.registry import Exercise, prerequisite_closure

os.environ.setdefault("KERAS_BACKEND", "torch")  # a reference that uses Keras runs it on torch, as workers do

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"


def stubs() -> Path:
    """The stubs students start from: inside the installed package (a wheel), else the checkout's ``assignments/``."""
    packaged = Path(__file__).resolve().parent / "assignments"
    return packaged if packaged.is_dir() else ASSIGNMENTS


def available(solutions: Path = SOLUTIONS) -> bool:
    """Whether reference solutions are here (a Gradescope zip holds only the parts it grades)."""
    return solutions.is_dir() and any(solutions.glob("*.py"))


@cache
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


def _imported_parts(part: str, solutions: Path) -> set[str]:
    """The parts ``solutions/<part>.py`` imports (``from neuron import ...``): it cannot be imported without them."""
    from grader.registry import PARTS

    tree = ast.parse((solutions / f"{part}.py").read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level
    }
    return names & set(PARTS)


def solution_parts(exercise_ids: Sequence[str], solutions: Path | None = None) -> list[str]:
    """The parts whose reference grading ``exercise_ids`` needs: theirs, their prerequisites' (transitively)
    and what those reference modules import, in curriculum order."""
    from grader import registry

    solutions = solutions or SOLUTIONS
    need = {e.part for i in exercise_ids for e in [registry.get(i), *registry.prerequisite_closure(registry.get(i))]}
    todo = list(need)
    while todo:
        for dep in _imported_parts(todo.pop(), solutions) - need:
            need.add(dep)
            todo.append(dep)
    return [p for p in registry.PARTS if p in need]


class Given:
    """The reference functions and classes an exercise is graded with (its prerequisites), served to the
    worker: the worker holds stubs that send their arguments here as plain data, and only the names in
    :attr:`spec` are answered.  Instances of given classes (an optimizer) live here; the arrays their
    constructor received are kept in step with the worker's (see ``grader.isolation.worker.child._class_stub``).

    ``calls`` counts what the worker asked for, by ``"part.name"`` (instrumentation for the checks).
    """

    MAX_INSTANCES = 100_000
    #: The most bytes the arrays given to the constructors of an exercise's given objects may hold together: they
    #: live here for the whole exercise (with state of their size: an optimizer's velocity), and the student's
    #: code chooses them.  An honest exercise's optimizers hold a few MB.
    MAX_HELD_BYTES = 256 * 1024 * 1024

    def __init__(self, ex: Exercise, solutions: Path = SOLUTIONS) -> None:
        self.solutions = solutions
        self.spec: dict[str, dict[str, Any]] = {}
        self._allowed: dict[tuple[str, str], Any] = {}
        for pre in prerequisite_closure(ex) if available(solutions) else []:
            mod = module(pre.part, solutions)
            entry = self.spec.setdefault(pre.part, {"functions": [], "classes": [], "methods": {}})
            for name in pre.functions:
                obj = getattr(mod, name, None)
                if obj is None or (pre.part, name) in self._allowed:
                    continue
                self._allowed[(pre.part, name)] = obj
                if inspect.isclass(obj):
                    entry["classes"].append(name)
                    entry["methods"][name] = [m for m, f in vars(obj).items() if callable(f) and not m.startswith("_")]
                else:
                    entry["functions"].append(name)
        self._functions = {key: (obj, ".".join(key)) for key, obj in self._allowed.items() if not inspect.isclass(obj)}
        self._instances: list[tuple[Any, list[Any], str]] = []
        self._held = 0  # bytes of the arrays the instances' constructors were given
        self.calls: Counter[str] = Counter()

    def __bool__(self) -> bool:
        return bool(self._allowed)

    def __call__(self, call: dict[str, Any]) -> Any:
        kind, args, kwargs = call.get("kind"), call.get("args", []), call.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise GivenCallError("malformed call")
        if kind == "function":  # the usual call, thousands in a grade: one lookup
            key = (str(call.get("part")), str(call.get("name")))
            function = self._functions.get(key)
            if function is None:
                raise GivenCallError(f"{key[0]}.{key[1]} is not given for this exercise")
            self.calls[function[1]] += 1
            return function[0](*args, **kwargs)
        if kind == "new":
            key = (str(call.get("part")), str(call.get("name")))
            obj = self._allowed.get(key)
            if obj is None or not inspect.isclass(obj):
                raise GivenCallError(f"{key[0]}.{key[1]} is not given for this exercise")
            self.calls[".".join(key)] += 1
            if len(self._instances) >= self.MAX_INSTANCES:
                raise GivenCallError(f"more than {self.MAX_INSTANCES} objects of given classes")
            arrays = wire.arrays_in([args, kwargs], [])
            held = self._held + sum(a.nbytes for a in arrays)
            if held > self.MAX_HELD_BYTES:
                raise GivenCallError(
                    f"the objects of given classes would hold more than {self.MAX_HELD_BYTES >> 20} MB of arrays"
                )
            self._instances.append((obj(*args, **kwargs), arrays, ".".join(key)))
            self._held = held
            return len(self._instances) - 1
        if kind == "method":
            handle, name, state = call.get("handle"), str(call.get("name")), call.get("state")
            if not isinstance(handle, int) or not 0 <= handle < len(self._instances):
                raise GivenCallError("no such object")
            obj, arrays, cls = self._instances[handle]
            part, cls_name = cls.split(".", 1)
            if name not in self.spec[part]["methods"].get(cls_name, []):
                raise GivenCallError(f"{cls_name}.{name} is not given")
            if (
                not isinstance(state, list)
                or len(state) != len(arrays)
                or any(not isinstance(new, np.ndarray) or new.shape != mine.shape for new, mine in zip(state, arrays))
            ):
                raise GivenCallError(f"the arrays given to {cls_name}() changed shape")
            for mine, new in zip(arrays, state):
                mine[...] = new
            self.calls[f"{cls}.{name}"] += 1
            result = getattr(obj, name)(*args, **kwargs)
            return {"result": result, "state": [np.array(a, copy=True) for a in arrays]}
        raise GivenCallError("malformed call")
