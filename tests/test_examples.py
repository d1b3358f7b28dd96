"""examples/submissions/ is in sync with solutions/, and grades as advertised (alice and dave: full marks)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grader import registry
from grader.instructor import batch
from grader.instructor.submissions import discover
from tests.batchkit import ROOT
from tests.htmldom import parse

CLASS = ROOT / "examples" / "submissions"


def test_examples_follow_solutions():
    done = subprocess.run(
        [sys.executable, "scripts/make_examples.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_the_example_class_grades_as_advertised(tmp_path):
    """Everyone on the first exercise of each part (enough to tell them apart).  alice is a byte-for-byte copy
    of solutions/ (test_examples_follow_solutions), whose full marks on every exercise
    tests/test_reference_and_stubs.py already proves."""
    exercises = registry.all_exercises()
    sample = list({e.part: e for e in reversed(exercises)}.values())[::-1]
    full = sum(e.points for e in sample)
    outcomes = {
        o.student: o.result
        for o in batch.run_batch(discover([str(CLASS)]), tmp_path / "out", sample, examples=3, jobs=1)
    }
    assert list(outcomes) == ["alice", "bob", "carol", "dave"]
    assert outcomes["alice"].score == full, [
        c.message for e in outcomes["alice"].exercises for c in e.checks if c.status != "passed"
    ]
    assert outcomes["dave"].score == full  # zipped, inside a folder, with correct alternatives
    assert 0 < outcomes["bob"].score < full and any(e.status == "not_implemented" for e in outcomes["bob"].exercises)
    assert 0 < outcomes["carol"].score < full and any(e.status == "failed" for e in outcomes["carol"].exercises)
    # the class page says the same (tests/test_classpage.py checks it in detail on a synthetic class)
    rows = parse((tmp_path / "out" / "index.html").read_text()).by_id("students").all("tr")
    shown = {tr.attr("data-student"): float(tr.all("td")[1].text) for tr in rows if "data-student" in tr.attrs}
    assert shown == {name: pytest.approx(r.score, abs=0.005) for name, r in outcomes.items()}
