"""The reference scores full marks; the untouched stubs score 0, `not_implemented`, no traceback."""

from __future__ import annotations

import subprocess
import sys

from grader import reference, registry
from grader.runner import grade

ROOT = reference.ROOT


def test_reference_scores_full_marks():
    result = grade(reference.SOLUTIONS, registry.all_exercises(), examples=10, hidden=True)
    bad = {c.name: c.message for e in result.exercises for c in e.checks if c.status not in ("passed", "skipped")}
    assert not bad, bad
    assert result.score == result.max_score > 0


def test_stubs_score_zero_as_not_implemented():
    result = grade(reference.ASSIGNMENTS, registry.all_exercises(), examples=3)
    for e in result.exercises:
        if e.status == "skipped":
            continue
        assert e.status == "not_implemented", (e.id, e.status, e.first_failure())
        assert e.score == 0
        for c in e.checks:
            assert "Traceback" not in c.message
            assert c.message.startswith("not implemented yet"), c.message


def test_assignments_are_built_from_solutions():
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "build", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_every_stub_raises_not_implemented_naming_its_exercise():
    import ast

    for path in sorted(reference.ASSIGNMENTS.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and getattr(node.exc.func, "id", "") == "NotImplementedError"
            ):
                message = node.exc.args[0].value
                assert registry.get(message.split(":")[0]).part == path.stem
        assert "### BEGIN SOLUTION" not in path.read_text()
