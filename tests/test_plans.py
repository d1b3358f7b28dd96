"""Check plans (grader/checks/plans.py): a grade is the same with and without them, and a plan is only data.

The grades compared below cover every kind of property the standard checks replay — a forward against the
reference and against torch (answers recorded), a gradient check, a backward against torch autograd, the
kink and the extreme-input checks, invariants — on the reference and on mutants that fail them (where a
replayed example fails and hypothesis shrinks it again, the message must be the very one a plan-less grade
gives).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st

from grader import registry
from grader.checks import plans, properties
from grader.checks.failure import CheckFailed
from grader.checks.replies import ANY, returns
from grader.runner import grade
from tests.corpus import Mutant

EXERCISES = ["neuron.relu", "losses.softmax_cross_entropy"]
MUTANTS = [
    Mutant("neuron.relu", "leaky", "def relu_forward(x):\n    return np.where(x > 0, x, 0.01 * x), x\n", "reference"),
    Mutant(
        "neuron.relu", "grad at 0", "def relu_backward(dout, cache):\n    return dout * (cache >= 0)\n", "exactly 0"
    ),
    Mutant(
        "losses.softmax_cross_entropy",
        "naive exp",
        "def softmax_cross_entropy(logits, labels):\n"
        "    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)\n"
        "    n = logits.shape[0]\n"
        "    loss = float(-np.log(p[np.arange(n), labels]).mean())\n"
        "    d = p.copy()\n"
        "    d[np.arange(n), labels] -= 1\n"
        "    return loss, d / n\n",
        "extreme",
    ),
]


def outcome(result) -> list[tuple[str, str, float, str]]:
    return [(c.name, c.status, c.score, c.message) for e in result.exercises for c in e.checks]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A cache of its own (the suite's shared one may already hold these plans)."""
    monkeypatch.setenv("DEEPGRADE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DEEPGRADE_PLANS", raising=False)
    return tmp_path / "cache" / "plans"


def _grade(sub: Path, exercises: list[str], examples: int = 8, hidden: bool = True, only=None):
    return grade(sub, [registry.get(e) for e in exercises], examples=examples, hidden=hidden, only=only)


def test_grades_are_the_same_without_a_plan_recording_one_and_replaying_it(cache, monkeypatch, tmp_path):
    # the reference with hidden checks (their own seeds, more examples, larger shapes); each mutant on the
    # checks named like its target, public and hidden, where its replayed examples fail
    subs = [(Path("solutions"), EXERCISES, None)] + [
        (m.write(tmp_path / f"m{i}"), [m.exercise], lambda c, m=m: m.catches in c.name) for i, m in enumerate(MUTANTS)
    ]
    monkeypatch.setenv("DEEPGRADE_PLANS", "0")
    without = [outcome(_grade(s, e, only=o)) for s, e, o in subs]
    assert not cache.exists()
    monkeypatch.delenv("DEEPGRADE_PLANS")
    plans_of_the_reference = [outcome(_grade(s, e, only=o)) for s, e, o in subs[:1]]
    recorded = sorted(cache.rglob("*.npz"))
    assert len(recorded) >= 20, "the reference's passing properties (public and hidden) are recorded"
    replaying = [outcome(_grade(s, e, only=o)) for s, e, o in subs]
    assert without == plans_of_the_reference + replaying[1:]
    assert without[:1] == replaying[:1]
    failed = [(name, message) for rs in replaying[1:] for (name, status, _, message) in rs if status == "failed"]
    assert len(failed) >= len(MUTANTS) and all("input:" in m or "example" in m for _, m in failed), failed


def test_a_replayed_grade_draws_nothing_and_needs_no_oracle(cache, monkeypatch):
    first = outcome(_grade(Path("solutions"), ["neuron.relu"]))

    def no_hypothesis(*a, **k):
        raise AssertionError("hypothesis ran although a plan was recorded")

    monkeypatch.setattr(properties, "given", no_hypothesis)
    ex = registry.get("neuron.relu")
    layer_torch = [c for c in ex.checks if c.oracle == "torch"]
    assert layer_torch and all(plans.is_answered(c.run) for c in layer_torch)
    import grader.checks.standard as standard

    monkeypatch.setattr(standard, "torch_forward", no_hypothesis)  # torch's answers come from the plan
    assert outcome(_grade(Path("solutions"), ["neuron.relu"])) == first


#: Numpy exercises whose torch-oracle checks answer through ``ctx.answer``: the standard layer checks and the
#: custom ones (optimizer trajectories, random autograd graphs, the MLP's loss, one-hot, accuracy, the LSTM).
TORCH_FREE = [
    "neuron.relu",
    "optim.adam",
    "autograd.ops",
    "backprop.mlp",
    "train.one_hot",
    "train.evaluate",
    "rnn.lstm",
]


def test_numpy_exercises_with_their_plans_recorded_are_graded_without_importing_torch(cache):
    only = "lambda c: c.oracle == 'torch'"
    script = (
        "import sys\nfrom grader import registry\nfrom grader.runner import grade\n"
        f"r = grade('solutions', [registry.get(e) for e in {TORCH_FREE!r}], examples=4, only={only})\n"
        "print(sum(c.status == 'passed' for e in r.exercises for c in e.checks), 'torch' in sys.modules)"
    )
    env = {**os.environ, "DEEPGRADE_CACHE": str(cache.parent)}
    run = [
        subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    checks = sum(not c.hidden and c.oracle == "torch" for e in TORCH_FREE for c in registry.get(e).checks)
    assert run[0].stdout.split() == [str(checks), "True"]  # recording: torch computes the answers
    assert run[1].stdout.split() == [str(checks), "False"]  # replaying: its answers are in the plans


@pytest.mark.parametrize("exercise", TORCH_FREE[1:-1])  # rnn.lstm: covered above (shrinking one takes 30 s)
def test_recorded_torch_answers_grade_a_mutant_as_torch_does(cache, monkeypatch, exercise):
    """A submission that fails a torch check is graded the same with the recorded answers as with torch."""
    from tests.corpus import mutants

    mutant = next(m for m in mutants() if m.exercise == exercise and "torch" in m.catches)
    sub = mutant.write(cache.parent / "sub")
    only = lambda c: c.oracle == "torch" and not c.hidden  # noqa: E731
    monkeypatch.setenv("DEEPGRADE_PLANS", "0")
    without = outcome(_grade(sub, [exercise], examples=4, hidden=False, only=only))
    monkeypatch.delenv("DEEPGRADE_PLANS")
    _grade(Path("solutions"), [exercise], examples=4, hidden=False, only=only)  # records the reference's plans
    assert outcome(_grade(sub, [exercise], examples=4, hidden=False, only=only)) == without
    assert any(status == "failed" for _, status, _, _ in without)


def test_a_damaged_plan_is_recorded_again(cache):
    first = outcome(_grade(Path("solutions"), ["neuron.relu"], hidden=False))
    files = sorted(cache.rglob("*.npz"))
    assert files
    for i, f in enumerate(files):
        f.write_bytes(b"not a plan" if i % 2 else f.read_bytes()[: len(f.read_bytes()) // 2])
    assert outcome(_grade(Path("solutions"), ["neuron.relu"], hidden=False)) == first
    assert all(plans.load_path(f) is not None for f in files)


def test_plan_files_are_private_and_hold_plain_arrays(cache):
    _grade(Path("solutions"), ["neuron.relu"], hidden=True)
    files = list(cache.rglob("*.npz"))
    assert files
    for f in files:
        assert f.stat().st_mode & 0o077 == 0, f  # a hidden check's plan holds its inputs
        with np.load(f, allow_pickle=False) as npz:  # raises on a pickled object
            assert sorted(npz.files) == ["blob", "index"]
            assert npz["index"].dtype == np.uint8 and npz["blob"].dtype == np.uint8
    for d in {f.parent for f in files} | {cache}:
        assert d.stat().st_mode & 0o077 == 0, d


# --------------------------------------------------------------------------- the mechanism, on a toy property
KEY = plans.Key("toy.exercise", "toy check", 1, 12, 1, "none")


def _toy(seen: list, answers: list, fail_at: float | None = None):
    def prop(x):
        seen.append(x)
        answers.append(plans.answer(lambda: np.asarray([x, 2 * x])))
        if fail_at is not None and x > fail_at:
            raise CheckFailed(f"{x} is too large")

    return prop


def test_a_replay_hands_back_the_examples_and_answers_in_order_and_a_failure_shrinks_as_before(cache):
    strategy = st.floats(0, 100, allow_nan=False)
    seen, answers = [], []
    properties.for_all(strategy, _toy(seen, answers), examples=12, seed_value=1, plan=KEY)
    assert plans.exists(KEY) and len(seen) >= 12
    seen2, answers2 = [], []
    properties.for_all(strategy, _toy(seen2, answers2), examples=12, seed_value=1, plan=KEY)
    assert seen2 == seen and all(np.array_equal(a, b) for a, b in zip(answers, answers2))
    # a failure: the plan's examples run until one fails, then hypothesis from the start, as without a plan
    messages = []
    for key in (None, KEY):
        with pytest.raises(CheckFailed) as exc:
            properties.for_all(strategy, _toy([], [], fail_at=50.0), examples=12, seed_value=1, plan=key)
        messages.append(exc.value.report())
    assert messages[0] == messages[1] and "is too large" in messages[0]


def test_no_example_runs_twice_so_code_with_state_fails_as_it_does_without_a_plan(cache):
    """After a replayed example fails, hypothesis draws the plan's examples again: those already run are not run
    again, so a submission that counts its calls (a memory bomb on its first call, say) sees the same calls,
    and gets the same message, as without a plan."""
    strategy = st.integers(0, 1000)
    properties.for_all(strategy, lambda x: None, examples=10, seed_value=5, plan=KEY)  # an honest recording

    def run(key):
        calls = []

        def prop(x):
            calls.append(x)
            if len(calls) == 3:
                raise CheckFailed("the third call fails")

        with pytest.raises(CheckFailed) as exc:
            properties.for_all(strategy, prop, examples=10, seed_value=5, plan=key)
        return exc.value.report(), calls

    assert run(KEY) == run(None)


def test_a_plan_that_does_not_fit_the_run_hands_over_to_hypothesis(cache):
    strategy = st.integers(0, 10)
    properties.for_all(strategy, _toy([], []), examples=5, seed_value=3, plan=KEY)
    calls = []

    def asks_twice(x):  # the check changed: two answers per example where the plan holds one
        calls.append(x)
        plans.answer(lambda: x)
        plans.answer(lambda: x)

    properties.for_all(strategy, asks_twice, examples=5, seed_value=3, plan=KEY)
    assert len(calls) >= 5 + 1  # one replayed example diverged, then hypothesis drew them all


def test_answers_are_snapshots_and_kept_exceptions_replay():
    class Missing(Exception):
        pass

    with plans.recording() as episode:
        a = np.zeros(3)
        got = plans.answer(lambda: a)
        a[:] = 7  # the check changes the array it got: the plan keeps what the oracle said
        with pytest.raises(Missing):
            plans.answer(lambda: (_ for _ in ()).throw(Missing("no reference")), keep=(Missing,))
    assert got is a and np.array_equal(episode.answers[0][1], np.zeros(3))
    with plans.replaying(episode.answers) as again:
        assert np.array_equal(plans.answer(lambda: None), np.zeros(3))
        with pytest.raises(Missing, match="no reference"):
            plans.answer(lambda: None, keep=(Missing,))
        plans.exhausted(again)
    with plans.replaying(episode.answers) as short:
        plans.answer(lambda: None)
        with pytest.raises(plans.Diverged):
            plans.exhausted(short)


@pytest.mark.parametrize(
    "value",
    [
        np.arange(6).reshape(2, 3),
        np.float64(0.5),
        np.int64(3),
        (1, 2.5, "x"),
        {"w": np.ones(2), "b": None},
        [np.zeros((0, 4)), True],
        np.asarray(2.0),
    ],
)
def test_a_plan_holds_plain_values_exactly(cache, value):
    key = plans.Key("toy.exercise", "values", 2, 1, 1, "none")
    call = ("grader.checks.drivers.call_function", [value, "relu", None], 10.0)
    assert plans.save(key, [((value,), [("value", value)], call)])
    ((example, answers, got_call),) = plans.load(key)
    for got in (example[0], answers[0][1], got_call[1][0]):
        assert_same(got, value)
    assert got_call[0] == call[0] and got_call[1][1:] == call[1][1:] and got_call[2] == call[2]


def assert_same(got, value):
    assert type(got) is type(value)
    if isinstance(value, np.ndarray):
        assert got.dtype == value.dtype and got.shape == value.shape and np.array_equal(got, value)
    elif isinstance(value, dict):
        assert got.keys() == value.keys()
        for k in value:
            assert_same(got[k], value[k])
    elif isinstance(value, (list, tuple)):
        assert len(got) == len(value)
        for g, v in zip(got, value):
            assert_same(g, v)
    else:
        assert got == value


def test_a_plan_read_again_is_the_files_and_its_values_are_each_loads_own(cache):
    """Plans are kept in memory once read (a batch loads each once per student): a load that changes what it got
    changes no later load, and a plan saved anew is read anew."""
    key = plans.Key("toy.exercise", "kept", 2, 1, 1, "none")
    assert plans.save(key, [((np.arange(3.0), [1, 2]), [("value", {"w": np.ones(2)})], None)])
    for _ in range(3):  # the first load reads the file; the later ones find the plan kept
        ((example, answers, _),) = loaded = plans.load(key)
        assert np.array_equal(example[0], np.arange(3.0)) and example[1] == [1, 2]
        assert np.array_equal(answers[0][1]["w"], np.ones(2))
        example[0][0] = 99.0  # an example array written into
        example[1].append(3)
        answers[0][1]["w"][:] = 0.0
        answers.clear()
        loaded.append("junk")
    assert plans.save(key, [((np.zeros(1), []), [], None)])
    ((new, _, _),) = plans.load(key)
    assert np.array_equal(new[0], np.zeros(1)) and new[1] == []


def test_what_is_not_plain_data_goes_without_a_plan(cache):
    key = plans.Key("toy.exercise", "objects", 2, 1, 1, "none")
    assert not plans.save(key, [((object(),), [], None)])
    assert not plans.save(key, [((np.array([object()]),), [], None)])
    assert not plans.save(key, [((1.0,), [], ("grader.checks.drivers.call_function", [object()], 10.0))])
    assert plans.load(key) is None


def test_plans_shipped_with_the_grader_are_replayed_without_a_cache(cache, monkeypatch, tmp_path):
    """A release or an autograder zip carries plans recorded from the reference (``plans.record``) in
    ``grader/plans``: an empty cache finds them there, and nothing is drawn."""
    relu = registry.get("neuron.relu")
    shipped = plans.record(
        tmp_path / "shipped",
        Path("solutions"),
        [relu],
        hidden=True,
        use_reference=True,
        examples=8,
        secret=b"a course secret of enough bytes",
    )
    assert shipped and not cache.exists()  # recorded in a cache of its own, which is gone
    monkeypatch.setattr(plans, "SHIPPED", tmp_path / "shipped")
    monkeypatch.setattr(properties, "given", lambda *a, **k: pytest.fail("hypothesis drew examples"))
    result = grade(Path("solutions"), [relu], examples=8, hidden=True, secret=b"a course secret of enough bytes")
    assert all(c.status == "passed" for c in result.exercises[0].checks)
    assert not list(cache.rglob("*.npz"))  # nothing recorded again


def test_an_answer_that_is_not_plain_data_is_used_but_not_recorded(cache):
    seen = []

    def prop(x):
        seen.append(plans.answer(lambda: object()))  # not plain data: the check goes on, unrecorded

    properties.for_all(st.integers(0, 9), prop, examples=5, seed_value=4, plan=KEY)
    assert len(seen) >= 5 and not plans.exists(KEY)


@returns(ANY)
def _relu_of(student, x, extra=None):
    return student("neuron").relu_forward(x)[0]


def _chain_check(cache, sends: str) -> tuple[int, int, list]:
    """A property on ``neuron.relu`` whose first call sends its example (``sends="example"``), what the worker
    sent back for the example before (``"the last reply"``), or its example with what the worker sent back to a
    call of the check before the property (``"a reply from before"``): recorded, then replayed; (requests
    while replaying, examples, the plan)."""
    from grader import reference
    from grader.checks.context import Context
    from grader.isolation.worker import wire
    from grader.isolation.worker.client import Worker
    from grader.registry import Check

    ex = registry.get("neuron.relu")
    check = Check(sends, lambda ctx: None, "reference")
    strategy = st.lists(st.floats(-5, 5, allow_nan=False), min_size=3, max_size=3).map(np.array)
    requests: list[str] = []

    class Counting(Worker):
        def _stream(self, message, budgets, limits=None):
            if isinstance(message, list):  # a batch goes already encoded
                message = wire.decode_bytes(b"".join(message))
            requests.append(message["op"])
            return super()._stream(message, budgets, limits)

    with Counting(reference.SOLUTIONS) as worker:
        worker.setup(["neuron"])
        for _ in range(2):
            requests.clear()
            ctx = Context(worker, ex, check, reference=reference.module, examples=8)
            replies: list[np.ndarray] = []
            before = np.asarray(ctx.drive(_relu_of, np.array([1.0, -2.0, 3.0])))

            def prop(x):
                sent = replies[-1] if sends == "the last reply" and replies else x
                extra = before if sends == "a reply from before" else None
                replies.append(np.asarray(ctx.drive(_relu_of, sent, extra)))
                assert np.array_equal(replies[-1], np.maximum(sent, 0))

            ctx.for_all(strategy, prop)
        key = ctx._plan(0)
    assert key is not None
    cases = plans.load(key)
    assert cases is not None
    return len(requests), len(cases), cases


def test_a_replay_sends_its_examples_first_calls_in_one_request(cache):
    requests, examples, cases = _chain_check(cache, "example")
    assert examples >= 6 and all(call is not None for _, _, call in cases)
    assert requests == 2  # the call before the property, then every example's call ahead, in one drive_many


def test_a_first_call_that_sends_back_an_earlier_reply_is_never_run_ahead(cache):
    """The worker sees a batch's calls before it answers the first: a call holding what a correct submission sent
    back (recorded while grading one) would hand the next student its answers.  It is not recorded."""
    requests, examples, cases = _chain_check(cache, "the last reply")
    assert cases[0][2] is not None and all(call is None for _, _, call in cases[1:])
    assert requests == 1 + examples  # every call went to the worker as it came
    requests, examples, cases = _chain_check(cache, "a reply from before")
    assert all(call is None for _, _, call in cases)  # the check's reply from before the property: not either
    assert requests == 1 + examples


def test_a_stop_during_a_property_is_never_turned_into_the_checks_outcome():
    """A pool process's stop (SIGTERM raises KeyboardInterrupt) kills its worker first: the check has an error to
    end with by then, but the stop must go on up, or the process keeps running after its grader died."""
    from grader.isolation.worker.client import StudentError

    ended: list[StudentError] = []

    def prop(x):
        ended.append(StudentError("error", "the worker process killed by signal 9", fatal=True))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        properties.for_all(st.integers(), prop, examples=3, seed_value=0, abort=lambda: ended[0] if ended else None)


# --------------------------------------------------------------------------- fixed answers outside any property
def test_a_fixed_answer_is_computed_once_per_course_and_each_read_is_its_own(cache):
    """``plans.fixed``: an oracle on a check's own data (the reference's loss curve, its steps from given
    weights) runs once; every later grade, in any process, reads it back, and a caller that changes what it got
    changes nothing for the next."""
    key = plans.Key("toy.exercise", "fixed", 2, 1, 1, "none")
    calls = []

    def curve(X, settings):
        calls.append(settings)
        return {"losses": [1.0, 0.5], "state": {"W": X * settings["lr"]}}

    X = np.arange(6.0).reshape(2, 3)
    first = plans.fixed(key, curve, X, {"lr": 0.5})
    first["state"]["W"][:] = -1.0
    for _ in range(2):
        again = plans.fixed(key, curve, X, {"lr": 0.5})
        assert again["losses"] == [1.0, 0.5] and np.array_equal(again["state"]["W"], X * 0.5)
    assert len(calls) == 1
    # other arguments (another data set, another setting) are another answer
    plans.fixed(key, curve, X + 1, {"lr": 0.5})
    plans.fixed(key, curve, X, {"lr": 0.25})
    plans.fixed(key, curve, X.astype(np.float32), {"lr": 0.5})
    assert len(calls) == 4
    # without a key (a check the registry does not hold), or for what a plan cannot hold: just the call
    assert plans.fixed(None, curve, X, {"lr": 0.5})["losses"] == [1.0, 0.5]
    assert plans.fixed(key, lambda: object()) is not plans.fixed(key, lambda: object())
    assert len(calls) == 5


def test_the_references_own_runs_are_read_back_and_grade_a_mutant_as_they_do(cache, monkeypatch, tmp_path):
    """Checks that run the reference on fixed data (``run_reference``: Net.forward from given weights) run it
    once per course: a second grade never calls it and grades a mutant exactly as a grade that runs it does."""
    from grader.checks import torchdevice
    from tests.corpus import mutants

    ran = []
    real = torchdevice._on_reference
    monkeypatch.setattr(torchdevice, "_on_reference", lambda *a: ran.append(a[1]) or real(*a))
    check = "Net.forward matches the reference"
    sub = next(m for m in mutants() if m.exercise == "pytorch.net" and m.catches == check).write(tmp_path / "sub")
    only = lambda c: c.name == check  # noqa: E731
    monkeypatch.setenv("DEEPGRADE_PLANS", "0")
    without = outcome(_grade(sub, ["pytorch.net"], hidden=False, only=only))
    assert ran and [status for _, status, _, _ in without] == ["failed"]
    monkeypatch.delenv("DEEPGRADE_PLANS")
    reference = outcome(_grade(Path("solutions"), ["pytorch.net"], hidden=False, only=only))  # runs, and keeps
    assert [status for _, status, _, _ in reference] == ["passed"]
    ran.clear()
    assert outcome(_grade(sub, ["pytorch.net"], hidden=False, only=only)) == without
    assert outcome(_grade(Path("solutions"), ["pytorch.net"], hidden=False, only=only)) == reference
    assert ran == []


def test_plans_are_keyed_by_the_version_of_torch_that_answered(monkeypatch):
    before = plans.grader_key.__wrapped__()
    real = plans.importlib.metadata.version
    monkeypatch.setattr(plans.importlib.metadata, "version", lambda name: "0.0.1" if name == "torch" else real(name))
    assert plans.grader_key.__wrapped__() != before


def test_same_is_never_looser_than_equal_numbers_and_fresh_copies_share_nothing_mutable():
    """The replay's comparison takes equal bytes as equal only for numbers (NaT equals nothing, whatever its bytes);
    a plan's copy shares only what cannot change."""
    nat = np.array(["NaT", "2020-01-01"], "M8[s]")
    assert not plans.same([nat], [nat.copy()])
    assert plans.same([np.array([0.0, np.nan])], [np.array([-0.0, np.nan])])  # equal as numbers, NaN as NaN
    assert not plans.same([np.array([1, 2])], [np.array([1.0, 2.0])])
    assert not plans.same((np.zeros(2),), [np.zeros(2)])
    value = [np.zeros(2), (np.float64(1.0), {"k": [np.ones(1)]})]
    got = plans.fresh(value)
    got[0][0] = 5.0
    got[1][1]["k"][0][0] = 7.0
    got[1][1]["k"].append(1)
    assert value[0][0] == 0.0 and value[1][1]["k"][0][0] == 1.0 and len(value[1][1]["k"]) == 1
    assert type(got[1]) is tuple and got[1][0] == 1.0


def test_a_registered_exercise_with_other_budgets_has_plans_of_its_own_and_nothing_else_does(cache, monkeypatch):
    """An attack's grade gives the checks short budgets (``dataclasses.replace``): the checks and what they draw are
    the registered ones, so it records and replays plans, keyed by the budget (a plan holds each example's first
    call with its budget).  Any other change to the exercise (a check more or less, another check function, its
    points, the exercise's seed) is an exercise the registry does not hold: no plan."""
    import dataclasses

    ex = registry.get("neuron.relu")
    quick = dataclasses.replace(ex, checks=[dataclasses.replace(c, timeout=2.0) for c in ex.checks])
    name = ex.checks[0].name
    mine, theirs = plans.key_for(ex, name, 1, 8, 1, True), plans.key_for(quick, name, 1, 8, 1, True)
    assert mine is not None and theirs is not None and mine.timeout is None and theirs.timeout == 2.0
    assert mine.path(cache) != theirs.path(cache)
    first = ex.checks[0]
    others = [
        dataclasses.replace(quick, checks=quick.checks[:-1]),
        dataclasses.replace(quick, checks=[dataclasses.replace(first, run=lambda ctx: None), *quick.checks[1:]]),
        dataclasses.replace(quick, checks=[dataclasses.replace(first, points=9.0), *quick.checks[1:]]),
        dataclasses.replace(quick, seed="another"),
    ]
    assert [plans.key_for(o, name, 1, 8, 1, True) for o in others] == [None] * len(others)

    recorded = outcome(grade(Path("solutions"), [quick], examples=8, hidden=True))

    def no_hypothesis(*a, **k):
        raise AssertionError("hypothesis ran although a plan was recorded")

    monkeypatch.setattr(properties, "given", no_hypothesis)
    assert outcome(grade(Path("solutions"), [quick], examples=8, hidden=True)) == recorded


def test_drawing_a_property_never_hashes_its_source(monkeypatch):
    """Without an example database hypothesis needs no key for one; without being told so, it computed one
    (``function_digest``: the test's source, tokenized) for every property it drew."""
    import hypothesis.core

    def digest(*a, **k):
        raise AssertionError("hypothesis hashed the property's source")

    monkeypatch.setattr(hypothesis.core, "function_digest", digest)
    seen: list[int] = []
    properties.for_all(st.integers(0, 10), seen.append, examples=5, seed_value=1)
    assert len(seen) >= 5
