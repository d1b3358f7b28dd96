"""Known answers: the reference's outputs on fixed inputs, recorded by ``deepgrade build`` as plain arrays,
grade a forward where there is no reference."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from grader import reference, registry
from grader.checks import known
from grader.cli import main
from grader.runner import grade
from tests.corpus import Mutant

WRONG_SIGMOID = Mutant(
    "neuron.sigmoid",
    "tanh instead of sigmoid",
    """
    def sigmoid_forward(x):
        out = np.tanh(x)
        return out, out
""",
    catches="matches recorded answers",
)


def test_recorded_answers_are_up_to_date_small_and_plain():
    assert known.build(reference.module, registry.all_exercises(), check=True) == []
    for ex_id in known.LAYERS:
        path = known.path(ex_id)
        assert path.stat().st_size < 20_000, path
        with np.load(path, allow_pickle=False) as npz:
            assert {npz[k].dtype.kind for k in npz.files} <= set("biufU")


def test_values_round_trip_through_flat_arrays():
    value = (np.arange(6.0).reshape(2, 3), 3, 0.5, "relu", True, None, [np.zeros(2)], {"W1": np.ones((1, 2))})
    flat: dict[str, np.ndarray] = {}
    known.flatten(value, "k", flat)
    back = known.unflatten(flat, "k")
    assert type(back) is tuple and back[1:6] == (3, 0.5, "relu", True, None)
    assert np.array_equal(back[0], value[0]) and np.array_equal(back[6][0], value[6][0])
    assert list(back[7]) == ["W1"] and np.array_equal(back[7]["W1"], value[7]["W1"])
    with pytest.raises(TypeError):
        known.flatten(object(), "k", {})


def test_build_check_finds_changed_and_missing_answers_and_build_keeps_the_inputs(tmp_path):
    root = tmp_path / "known"
    shutil.copytree(known.KNOWN, root)
    exercises = registry.select(["neuron"])
    assert known.build(reference.module, exercises, root, check=True) == []
    data = known.load("neuron.tanh", root)
    key = next(k for k in data if k.endswith(":out@a"))
    data[key] = data[key] + 1e-3
    np.savez_compressed(known.path("neuron.tanh", root), **data)
    known.path("neuron.relu", root).unlink()
    stale = known.build(reference.module, exercises, root, check=True)
    assert sorted(stale) == ["neuron.relu.npz", "neuron.tanh.npz"]
    assert known.build(reference.module, exercises, root) == stale
    assert known.build(reference.module, exercises, root, check=True) == []
    fixed = known.load("neuron.tanh", root)
    original = known.load("neuron.tanh")
    assert known.same(fixed, original)


def test_build_check_command_fails_when_stale(tmp_path, capsys):
    root = tmp_path / "known"
    shutil.copytree(known.KNOWN, root)
    known.path("neuron.softmax", root).unlink()
    assert main(["build", "--check", "--known", str(root)]) == 1
    assert "neuron.softmax.npz" in capsys.readouterr().err
    assert main(["build", "--check"]) == 0


def test_recorded_answers_grade_without_the_reference(tmp_path):
    ex = registry.get("neuron.sigmoid")
    only = lambda c: c.oracle == "known"  # noqa: E731
    good = grade(reference.SOLUTIONS, [ex], use_reference=False, only=only)
    assert [c.status for c in good.exercises[0].checks] == ["passed"]
    bad = grade(WRONG_SIGMOID.write(tmp_path / "sub"), [ex], use_reference=False, only=only)
    check = bad.exercises[0].checks[0]
    assert check.status == "failed" and "sigmoid_forward(d[" in check.message
    # the input line is pasteable: it loads the recorded input from its .npz (short, and exact)
    line = next(ln for ln in check.message.splitlines() if ln.startswith("input:")).removeprefix("input:").strip()
    seen = []
    exec(line, {"np": np, "sigmoid_forward": seen.append})
    layer = known.LAYERS["neuron.sigmoid"][0]
    assert any(np.array_equal(seen[0], args[0]) for args in known.stored_inputs(known.load(ex.id), layer))


def test_missing_answers_come_from_the_reference_or_skip_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(known, "KNOWN", tmp_path / "empty")
    ex = registry.get("neuron.tanh")
    only = lambda c: c.oracle == "known"  # noqa: E731
    with_ref = grade(reference.SOLUTIONS, [ex], only=only)
    assert [c.status for c in with_ref.exercises[0].checks] == ["passed"]
    without = grade(reference.SOLUTIONS, [ex], use_reference=False, only=only)
    check = without.exercises[0].checks[0]
    assert check.status == "skipped" and "deepgrade build" in check.message
