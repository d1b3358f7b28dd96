"""Hidden checks: a mechanism (twins of every standard property check), run only by ``grade``, with
their own seeds, more examples and larger shapes, and redacted from what students see."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import strategies as st
from rich.console import Console

from grader import registry
from grader.checks import strategies as S
from grader.checks.properties import for_all
from grader.isolation.worker.client import Worker
from grader.registry import HIDDEN_EXAMPLES, HIDDEN_SCALE, HIDDEN_SUFFIX, Exercise
from grader.reporters.table import print_report
from grader.results import WITHHELD, CheckResult, ExerciseResult, SubmissionResult
from grader.runner import check_seed, grade, grade_exercise
from tests.corpus import SOLUTIONS


def test_every_standard_property_check_has_a_hidden_twin():
    for ex in registry.all_exercises():
        names = {c.name: c for c in ex.checks}
        for c in ex.checks:
            if c.hidden and c.name.endswith(HIDDEN_SUFFIX):
                public = names.get(c.name[: -len(HIDDEN_SUFFIX)])
                assert public is not None and not public.hidden, c.name
                assert (public.oracle, public.points, public.run) == (c.oracle, c.points, c.run)
    neuron = [c for e in registry.select(["neuron"]) for c in e.checks]
    public = [c for c in neuron if not c.hidden and c.oracle != "known"]
    twins = {c.name for c in neuron if c.hidden}
    assert public and all(c.name + HIDDEN_SUFFIX in twins for c in public)
    assert not any(c.name + HIDDEN_SUFFIX in twins for c in neuron if c.oracle == "known")


def test_twins_are_declared_by_the_registry_for_any_check_that_opts_in():
    ex = Exercise("neuron.demo", "demo", 2, ("sigmoid_forward",))

    @ex.check("a property", oracle="invariant", twin=True)
    def _(ctx):
        pass

    @ex.check("no twin", oracle="invariant")
    def _(ctx):
        pass

    assert [(c.name, c.hidden) for c in ex.checks] == [
        ("a property", False),
        ("a property [hidden]", True),
        ("no twin", False),
    ]
    # `check` counts to full marks on the public checks alone; `grade` shares the points among all three
    assert sum(ex.check_points(c, hidden=False) for c in ex.checks if not c.hidden) == 2
    assert sum(ex.check_points(c) for c in ex.checks) == 2


def test_hidden_twin_runs_only_when_asked_with_another_seed_more_examples_and_larger_shapes(tmp_path):
    seen: dict[str, tuple[int, int, int, int]] = {}
    ex = Exercise("neuron.demo", "demo", 1, ("sigmoid_forward",))

    @ex.check("shapes", oracle="invariant", twin=True)
    def _(ctx):
        sides: list[int] = []
        ctx.for_all(S.shapes(1, 1), lambda s: sides.append(s[0]))
        seen[ctx.check.name] = (ctx.seed, ctx.examples, ctx.scale, max(sides))

    with Worker(SOLUTIONS) as worker:
        public = grade_exercise(worker, ex, hidden=False, examples=20)
        assert [c.name for c in public.checks] == ["shapes"] and set(seen) == {"shapes"}
        full = grade_exercise(worker, ex, hidden=True, examples=20)
    assert [c.hidden for c in full.checks] == [False, True]
    (s1, n1, k1, m1), (s2, n2, k2, m2) = seen["shapes"], seen["shapes [hidden]"]
    assert s1 != s2 and (n1, n2) == (20, 20 * HIDDEN_EXAMPLES) and (k1, k2) == (1, HIDDEN_SCALE)
    assert m1 <= 5 < m2 <= 5 * HIDDEN_SCALE
    assert check_seed(ex, ex.checks[0]) != check_seed(ex, ex.checks[1])

    # an exercise's own hidden budget: as many examples as the public check, still another seed, larger shapes
    seen.clear()
    ex.hidden_examples = 1
    with Worker(SOLUTIONS) as worker:
        grade_exercise(worker, ex, hidden=True, examples=20)
    (s3, n3, k3, _), (s4, n4, k4, m4) = seen["shapes"], seen["shapes [hidden]"]
    assert (s3, s4) == (s1, s2) and (n3, n4) == (20, 20) and (k3, k4) == (1, HIDDEN_SCALE) and m4 > 5


def test_a_hidden_budget_is_a_whole_number_of_at_least_one():
    for bad in (0, -1, 0.5, "2"):
        with pytest.raises(ValueError, match="hidden_examples"):
            registry.exercise(f"neuron.demo_budget_{bad}", "demo", points=1, functions=["f"], hidden_examples=bad)
    budgets = {e.id: e.hidden_examples for e in registry.all_exercises()}
    assert all(isinstance(k, int) and 1 <= k <= HIDDEN_EXAMPLES for k in budgets.values()), budgets


def test_strategies_read_the_scale_when_drawing():
    sizes: list[int] = []
    for_all(
        st.tuples(S.batch_sizes(), S.shapes(1, 1)),
        lambda bs: sizes.append(max(bs[0], bs[1][0])),
        examples=60,
        seed_value=1,
        scale=3,
    )
    assert max(sizes) > 6 and max(sizes) <= 18


def test_hidden_inputs_never_touch_the_filesystem(tmp_path, monkeypatch):
    sub = tmp_path / "sub"
    shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("__pycache__"))
    before = {p.relative_to(sub): p.read_bytes() for p in sub.rglob("*") if p.is_file()}
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    result = grade(sub, registry.select(["neuron.softmax"]), hidden=True, examples=4)
    assert result.hidden_passed[1] > 0 and result.score == result.max_score
    after = {p.relative_to(sub): p.read_bytes() for p in sub.rglob("*") if p.is_file()}
    assert after == before and list(cwd.iterdir()) == []


def _result() -> SubmissionResult:
    checks = [
        CheckResult("f matches", 1, 1, "passed", "", "torch"),
        CheckResult(
            "f matches [hidden]", 0, 1, "failed", "input: f(np.array([123.0]))", "torch", True, curves={"loss": [1.0]}
        ),
        CheckResult("g [hidden]", 1, 1, "passed", "", "numerical", True),
    ]
    return SubmissionResult("sub", [ExerciseResult("neuron.sigmoid", "Sigmoid", "neuron", checks)])


def test_redacted_results_withhold_hidden_details_but_keep_the_count():
    full = _result()
    red = full.redacted()
    hidden = red.exercises[0].checks[1]
    assert hidden.message == WITHHELD and hidden.curves == {} and "123" not in str(red.to_json())
    assert (hidden.status, hidden.score) == ("failed", 0)
    assert red.exercises[0].checks[0] == full.exercises[0].checks[0]
    assert "123" in full.exercises[0].checks[1].message  # the original is untouched
    assert full.redacted(publish=True) is full
    assert red.to_json()["hidden"] == {"passed": 1, "total": 2} == red.to_json()["exercises"][0]["hidden"]
    console = Console(record=True, width=200)
    print_report(red, console)
    text = " ".join(console.export_text().split())
    assert "hidden checks: 1/2 passed" in text and "123" not in text


def test_hidden_checks_do_not_change_what_a_correct_submission_scores():
    res = grade(SOLUTIONS, registry.select(["neuron.relu"]), hidden=True, examples=3)
    assert res.score == res.max_score == registry.get("neuron.relu").points
    ex = registry.get("neuron.relu")
    weights = {c.name: c.points for c in ex.checks}
    share = sum(c.max_score for c in res.exercises[0].checks if c.hidden)
    assert np.isclose(
        share, ex.points * sum(w for n, w in weights.items() if n.endswith(HIDDEN_SUFFIX)) / sum(weights.values())
    )
    public = grade(SOLUTIONS, [ex], hidden=False, examples=3)
    assert public.score == public.max_score == ex.points and public.hidden_passed == (0, 0)
