"""No points for doing nothing: a submission whose every output is zero, or whose forwards look the shipped
recorded answers up (zeros elsewhere), must not score on the layer and loss exercises.

Zeros are consistent with zeros: the gradient check (the student's backward against the student's own
forward), the no-mutation and finiteness invariants all hold for them, and a lookup table passes the
recorded-answers check.  Those checks score only when the exercise's value checks pass
(``Exercise.gate_of``, ``grader.runner.gate``); this test grades both submissions to hold that.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from grader import registry
from grader.checks import known
from grader.checks.properties import unshrunk
from grader.runner import grade
from tests.corpus import SOLUTIONS

#: Appended to each reference module: every public function of the module returns zeros of the reference's
#: shapes (a forward keeps its cache, so the backward runs), except where ``_TABLE`` knows the answer.
_WRAPPER = '''

import functools as _functools


def _zero(v):
    if isinstance(v, np.ndarray):
        return np.zeros_like(v)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number, tuple, list, dict)):
        return v
    if isinstance(v, (tuple, list)):
        return type(v)(_zero(x) for x in v)
    if isinstance(v, dict):
        return {k: _zero(x) for k, x in v.items()}
    return type(v)(0)


def _same(a, b):
    try:
        return np.asarray(a).shape == np.asarray(b).shape and bool(np.all(np.asarray(a) == np.asarray(b)))
    except Exception:
        return False


def _lookup(name, args):
    for recorded, out in _TABLE.get(name, []):
        if len(recorded) == len(args) and all(_same(a, b) for a, b in zip(args, recorded)):
            return np.asarray(out, dtype=np.float64)
    return None


def _zeroed(name, f):
    @_functools.wraps(f)
    def lazy(*args, **kwargs):
        r = f(*args, **kwargs)
        keep_cache = name.endswith("_forward") and isinstance(r, tuple)
        r = (*_zero(r[:-1]), r[-1]) if keep_cache else _zero(r)
        answer = _lookup(name, args)
        if answer is not None and isinstance(r, tuple):
            r = (answer.reshape(np.shape(r[0])) if np.ndim(r[0]) else answer[()], *r[1:])
        return r
    return lazy


for _name, _f in list(globals().items()):
    if callable(_f) and not isinstance(_f, type) and not _name.startswith("_") \\
            and getattr(_f, "__module__", None) == __name__:
        globals()[_name] = _zeroed(_name, _f)
'''


def _exercises() -> list[registry.Exercise]:
    """The layer and loss exercises (those with recorded answers), and the MLP built from them."""
    registry.all_exercises()
    return [e for e in registry.all_exercises() if e.id in known.LAYERS or e.id == "backprop.mlp"]


def _table(exercises: list[registry.Exercise]) -> dict[str, dict[str, list]]:
    """Per part, per forward: the shipped recorded (arguments, output) pairs, as plain lists."""
    table: dict[str, dict[str, list]] = {}
    for ex in exercises:
        for layer in known.LAYERS.get(ex.id, []):
            for args, out in known.cases(ex.id, layer, None):
                plain = [a.tolist() if isinstance(a, np.ndarray) else a for a in args]
                table.setdefault(ex.part, {}).setdefault(layer.forward, []).append((plain, np.asarray(out).tolist()))
    return table


def _write(dest: Path, exercises: list[registry.Exercise], table: dict[str, dict[str, list]]) -> Path:
    shutil.copytree(SOLUTIONS, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for part in sorted({e.part for e in exercises}):
        path = dest / f"{part}.py"
        path.write_text(path.read_text() + f"\n_TABLE = {table.get(part, {})!r}\n" + _WRAPPER)
    return dest


@pytest.fixture(scope="module")
def exercises():
    return _exercises()


def _graded(submission: Path, exercises: list[registry.Exercise]):
    # the scores are what is tested here, not the failing inputs the messages show: those are not shrunk
    with unshrunk():
        return grade(submission, exercises, examples=3, hidden=False).exercises


def test_the_corpus_is_the_layer_and_loss_exercises(exercises):
    assert len(exercises) >= 16 and all(known.LAYERS.get(e.id) or e.id == "backprop.mlp" for e in exercises)


def test_all_zeros_scores_nothing(exercises, tmp_path):
    results = _graded(_write(tmp_path / "zeros", exercises, {}), exercises)
    assert {e.id: e.score for e in results if e.score > 0} == {}
    assert all(e.max_score > 0 for e in results)  # graded, not skipped
    # zeros do pass the consistency checks: it is the gate that keeps their points
    gradient = [c for e in results for c in e.checks if "gradient check" in c.name]
    assert gradient and all(c.status == "passed" and c.score == 0 and "scores once" in c.message for c in gradient)


def test_a_lookup_of_the_recorded_answers_scores_at_most_a_tenth(exercises, tmp_path):
    table = _table(exercises)
    assert sum(len(v) for t in table.values() for v in t.values()) >= 3 * len(known.LAYERS)
    results = _graded(_write(tmp_path / "lookup", exercises, table), exercises)
    assert {e.id: (e.score, e.max_score) for e in results if e.score > 0.1 * e.max_score} == {}
    recorded = [c for e in results for c in e.checks if "recorded answers" in c.name]
    assert len(recorded) >= len(known.LAYERS) and all(c.status == "passed" for c in recorded)  # the table works


def _gated(checks: list[tuple[str, str, tuple[str, ...] | None]], statuses: dict[str, str]) -> dict[str, float]:
    """Scores after ``gate`` of an exercise with these (name, oracle, requires) checks, each worth 1 point."""
    from grader.registry import Check, Exercise
    from grader.results import CheckResult
    from grader.runner import gate

    ex = Exercise("neuron.gate_test", "gate", 1.0, ())
    for name, oracle, requires in checks:
        ex.add(Check(name, lambda ctx: None, oracle, requires=requires))  # type: ignore[arg-type]
    results = [CheckResult(n, 1.0 if s == "passed" else 0.0, 1.0, s) for n, s in statuses.items()]  # type: ignore[arg-type]
    gate(ex, results)
    return {r.name: r.score for r in results}


def test_the_gate_needs_every_declared_requirement_transitively():
    checks = [
        ("fwd", "reference", None),
        ("fwd torch", "torch", None),
        ("grad", "numerical", ("fwd", "fwd torch")),
        ("bwd inv", "invariant", ("grad",)),
    ]
    assert _gated(checks, {"fwd": "passed", "fwd torch": "passed", "grad": "passed", "bwd inv": "passed"}) == {
        "fwd": 1,
        "fwd torch": 1,
        "grad": 1,
        "bwd inv": 1,
    }
    assert _gated(checks, {"fwd": "passed", "fwd torch": "failed", "grad": "passed", "bwd inv": "passed"}) == {
        "fwd": 1,
        "fwd torch": 0,
        "grad": 0,
        "bwd inv": 0,
    }
    # a requirement that did not run (no solutions/: the reference check is dropped) is left out
    assert _gated(checks, {"fwd torch": "passed", "grad": "passed", "bwd inv": "passed"})["bwd inv"] == 1


def test_an_undeclared_consistency_check_needs_one_value_check():
    checks = [("a", "torch", None), ("b", "reference", None), ("inv", "invariant", None), ("k", "known", None)]
    assert _gated(checks, {"a": "failed", "b": "passed", "inv": "passed", "k": "passed"}) == {
        "a": 0,
        "b": 1,
        "inv": 1,
        "k": 1,
    }
    assert _gated(checks, {"a": "failed", "b": "error", "inv": "passed", "k": "passed"}) == {
        "a": 0,
        "b": 0,
        "inv": 0,
        "k": 0,
    }
    # an exercise without value checks (only invariants) is not gated
    assert _gated([("inv", "invariant", None)], {"inv": "passed"}) == {"inv": 1}
