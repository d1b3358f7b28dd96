"""Every mutant is rejected by the check meant to catch it; every correct alternative gets full marks."""

from __future__ import annotations

import pytest

from grader import registry
from grader.checks.properties import unshrunk
from grader.runner import grade
from tests.corpus import alternatives, mutants

MUTANTS = mutants()
ALTERNATIVES = alternatives()


@pytest.mark.parametrize("mutant", MUTANTS, ids=[f"{m.exercise}:{m.name}" for m in MUTANTS])
def test_mutant_is_rejected_by_its_check(mutant, tmp_path):
    ex = registry.get(mutant.exercise)
    targets = [c for c in ex.checks if mutant.catches in c.name]
    assert targets, f"no check of {ex.id} is named like {mutant.catches!r}"
    # the public check must catch it (its hidden twin runs the same property on more and larger inputs); the
    # verdict is what is tested here, so the failing input is not shrunk (tests/test_messages.py reads messages)
    with unshrunk():
        result = grade(
            mutant.write(tmp_path / "sub"), [ex], examples=25, hidden=False, only=lambda c: mutant.catches in c.name
        )
    statuses = {c.name: c.status for c in result.exercises[0].checks}
    assert any(s in ("failed", "error") for s in statuses.values()), statuses
    failed = next(c for c in result.exercises[0].checks if c.status != "passed")
    assert failed.message, "a rejection must say why"


@pytest.mark.parametrize("alt", ALTERNATIVES, ids=[f"{a.exercise}:{a.name}" for a in ALTERNATIVES])
def test_correct_alternative_passes(alt, tmp_path):
    ex = registry.get(alt.exercise)
    # hidden twins included: they draw up to 3x the examples on larger shapes, hence the smaller public budget
    result = grade(alt.write(tmp_path / "sub"), [ex], examples=10, hidden=True)
    bad = {c.name: c.message for c in result.exercises[0].checks if c.status != "passed"}
    assert not bad, bad


def test_every_exercise_has_three_mutants():
    counts = {e.id: 0 for e in registry.all_exercises()}
    for m in MUTANTS:
        counts[m.exercise] += 1
    assert {k: v for k, v in counts.items() if v < 3} == {}
