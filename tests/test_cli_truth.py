"""What `check` (and its neighbours) tell a student must be true (issue 9, section 8): skipped is not passed,
a forbidden import is not "well done", a student's print() output is shown, names are printed whole and as
written, and bad settings are one-line usage errors.  In-process ``main([...])`` with capsys."""

from __future__ import annotations

import pytest

from grader import reference, registry
from grader.cli import main
from grader.results import CheckResult, ExerciseResult, SubmissionResult

ROOT = reference.ROOT


@pytest.fixture
def at_root(monkeypatch):
    """``check`` without --submission grades ./assignments (the untouched stubs)."""
    monkeypatch.chdir(ROOT)


def test_missing_requirement_is_not_passed(at_root, monkeypatch, capsys):
    import grader.runner as runner

    # simulate a machine without keras: the runner asks this before any worker starts
    monkeypatch.setattr(runner, "_missing_requirements", lambda ex: ["keras"] if ex.part == "keras_model" else [])
    assert main(["check", "keras_model", "--examples", "1"]) == 1
    out = capsys.readouterr().out
    assert "Well done" not in out
    assert "keras" in out and "pip install" in out and "official grade counts" in out
    total = sum(e.points for e in registry.select(["keras_model"]))
    assert f"{total:g} points not checked here" in out  # not just "0/0 points"


def test_forbidden_import_is_not_well_done(make_submission, capsys):
    sub = make_submission(
        "neuron.relu",
        """
        try:
            import torch
        except ImportError:
            torch = None
    """,
    )
    assert main(["check", "neuron.relu", "--submission", str(sub), "--examples", "2"]) == 1
    out = capsys.readouterr().out
    assert "Well done" not in out
    assert "official grade" in out and "scores 0" in out


def test_torch_import_in_numpy_part_says_why(make_submission, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "400")  # the message on one line, not wrapped inside the panel
    sub = make_submission("neuron.relu", "import torch\n")
    assert main(["check", "neuron.relu", "--submission", str(sub), "--examples", "2"]) == 1
    out = capsys.readouterr().out
    assert "No module named 'torch'" in out and "must use numpy only" in out


def test_printed_output_is_shown_under_the_failure(make_submission, capsys):
    sub = make_submission(
        "neuron.relu",
        """
        def relu_backward(dout, cache):
            print("DEBUG relu_backward called")
            return dout
    """,
    )
    assert main(["check", "neuron.relu", "--submission", str(sub), "--examples", "2"]) == 1
    out = capsys.readouterr().out
    assert "DEBUG relu_backward called" in out and "what your code printed" in out


def test_printed_output_of_hidden_checks_is_withheld():
    public = CheckResult("c", 0, 1, "failed", "m", stdout="x = 1")
    hidden = CheckResult("c [hidden]", 0, 1, "failed", "m", hidden=True, stdout="secret input")
    sub = SubmissionResult("s", [ExerciseResult("neuron.relu", "t", "neuron", [public, hidden])])
    red = sub.redacted().exercises[0].checks
    assert red[0].stdout == "x = 1" and red[1].stdout == ""
    assert "stdout" not in CheckResult("c", 1, 1, "passed").to_json()  # absent when empty
    assert SubmissionResult.from_json(sub.to_json()).exercises[0].checks[0].stdout == "x = 1"
    from grader.reporters.feedback import html, markdown
    from grader.reporters.gradescope import document

    for text in (markdown(sub.redacted(), "ann"), html(sub.redacted(), "ann"), str(document(sub.redacted()))):
        assert "x = 1" in text and "secret input" not in text


def test_hidden_names_are_printed_as_written():
    from rich.console import Console

    from grader.reporters.table import print_report

    checks = [
        CheckResult("relu_forward matches torch", 1, 1, "passed"),
        CheckResult("relu_forward matches torch [hidden]", 0, 1, "failed", "m [b]x[/b]", hidden=True),
    ]
    console = Console(record=True, width=200)
    print_report(SubmissionResult("s", [ExerciseResult("neuron.relu", "ReLU [x]", "neuron", checks)]), console)
    text = console.export_text()
    assert "relu_forward matches torch [hidden]" in text and "ReLU [x]" in text and "m [b]x[/b]" in text


def test_ids_are_never_cut_at_80_columns(at_root, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for e in registry.all_exercises():
        assert e.id in out
    assert main(["check", "losses.softmax_cross_entropy", "--examples", "1"]) == 1  # the stubs
    assert "losses.softmax_cross_entropy" in capsys.readouterr().out


def test_hint_accepts_a_part(capsys):
    assert main(["hint", "neuron"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for e in registry.select(["neuron"]):
        assert e.id in out and e.functions[0] in out


@pytest.mark.parametrize("argv", [["check"], ["grade", "x", "--out", "o"], ["progress"], ["watch"], ["gradescope"]])
def test_examples_zero_is_a_usage_error(argv, capsys):
    assert main([*argv, "--examples", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--examples" in err and "at least 1" in err


def test_wrong_mnist_path_is_a_usage_error(tmp_path, monkeypatch, capsys):
    for folder in (tmp_path / "missing", tmp_path):  # no folder; a folder without MNIST's files
        monkeypatch.setenv("DEEPGRADE_MNIST", str(folder))
        assert main(["check", "train.loop", "--submission", str(ROOT / "solutions")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "DEEPGRADE_MNIST" in err
