"""The command line: exit codes, one-line errors, and the single JSON document."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from grader import reference

ROOT = reference.ROOT


def deepgrade(*args: str, cwd=ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_list_json_is_in_curriculum_order():
    proc = deepgrade("list", "--json")
    assert proc.returncode == 0
    ids = [e["id"] for e in json.loads(proc.stdout)]
    assert ids[0] == "neuron.sigmoid" and len(ids) == len(set(ids))


def test_check_json_is_one_document_with_the_schema():
    proc = deepgrade("check", "neuron.relu", "neuron.softmax", "--submission", "solutions", "--json", "--examples", "5")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) >= {"score", "max_score", "exercises"}
    assert doc["score"] == doc["max_score"] == 5
    for e in doc["exercises"]:
        assert set(e) >= {"id", "title", "part", "score", "max_score", "status", "checks"}
        for c in e["checks"]:
            assert set(c) >= {"name", "score", "max_score", "status", "message"}
            assert c["status"] == "passed"


def test_stubs_exit_nonzero_with_not_implemented():
    proc = deepgrade("check", "neuron.sigmoid", "--json", "--examples", "3")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["exercises"][0]["status"] == "not_implemented" and doc["score"] == 0


def test_bad_input_is_one_line_and_nonzero(tmp_path):
    for args, text in [
        (("check", "neuron.nope"), "unknown exercise or part"),
        (("check", "--submission", str(tmp_path / "missing")), "does not exist"),
        (("hint", "nope.nope"), "unknown exercise"),
    ]:
        proc = deepgrade(*args)
        assert proc.returncode == 2, proc
        assert proc.stderr.count("\n") == 1 and text in proc.stderr, proc.stderr


def test_only_an_unknown_exercise_is_a_usage_error_a_grader_bug_is_not_hidden(monkeypatch, capsys):
    from grader import cli
    from grader.commands import hint

    assert cli.main(["hint", "neuron.nope"]) == 2
    assert capsys.readouterr().err == (
        "deepgrade: error: unknown exercise or part 'neuron.nope'; `deepgrade list` shows them all\n"
    )

    def buggy(args):
        return {}["a grader bug"]

    monkeypatch.setattr(hint, "run", buggy)
    with pytest.raises(KeyError, match="a grader bug"):  # a traceback, not "deepgrade: error: ..."
        cli.main(["hint", "neuron.relu"])


def test_table_names_the_first_failure_and_what_comes_next(tmp_path):
    from tests.corpus import Variant

    sub = Variant(
        "neuron.relu",
        "wrong",
        """
        def relu_backward(dout, cache):
            return dout
    """,
    ).write(tmp_path / "s")
    proc = deepgrade("check", "neuron.relu", "--submission", str(sub), "--examples", "5")
    assert proc.returncode == 1
    assert "relu_backward" in proc.stdout and "Next: neuron.relu" in proc.stdout
    assert "input:" in proc.stdout and "hint:" in proc.stdout


def test_hint_names_the_functions():
    proc = deepgrade("hint", "neuron.softmax")
    assert proc.returncode == 0 and "softmax_forward" in proc.stdout
