"""The generated course through the real nbgrader: generate_assignment, autograde two submissions,
generate_feedback, export.  The reference (with a harmless warning) gets full marks, the untouched
release zero, and the release's code is assignments/ up to nbgrader's stub text."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import registry
from grader.notebooks.course import normalise_stubs, write_course
from grader.notebooks.extract import EXAMPLES_ENV, module_source
from grader.reference import ASSIGNMENTS, ROOT, SOLUTIONS

pytest.importorskip("nbgrader", reason="nbgrader is not installed: pip install -e '.[nbgrader]'")
import nbformat  # nbgrader depends on it

from tests.test_notebook import _body, _lines, _warning_solution

PART = "neuron"


def _nbgrader(course: Path, *args: str) -> str:
    """Run one nbgrader command in the course folder with this venv's bin on PATH (nbgrader runs alembic
    and starts kernels) and the repository importable by the kernel."""
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""), **{EXAMPLES_ENV: "3"})
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    exe = shutil.which("nbgrader", path=env["PATH"])
    assert exe, f"no nbgrader executable in {bindir}"
    proc = subprocess.run([exe, *args], cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def _submit(course: Path, student: str, nb) -> None:
    dest = course / "submitted" / student / PART
    dest.mkdir(parents=True)
    nbformat.write(nb, str(dest / f"{PART}.ipynb"))


@pytest.mark.slow
def test_nbgrader_round_trip(tmp_path):
    course = tmp_path / "course"
    write_course(course, SOLUTIONS, [PART])
    source = nbformat.read(str(course / "source" / PART / f"{PART}.ipynb"), as_version=4)
    _nbgrader(course, "generate_assignment", PART)
    release = nbformat.read(str(course / "release" / PART / f"{PART}.ipynb"), as_version=4)

    # the student's release: nbgrader's stripping gives the code of assignments/
    cells = {c.metadata["nbgrader"]["grade_id"]: c.source for c in release.cells if c.cell_type == "code"}
    code, lacking = module_source(cells, PART)
    assert lacking == []
    assert _lines(normalise_stubs(code)) == _lines(normalise_stubs(_body(ASSIGNMENTS / f"{PART}.py")))

    # "good": the release with the reference typed into its solution cells (sigmoid also warns)
    good = nbformat.from_dict(json.loads(json.dumps(release)))
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in _warning_solution(source).cells}
    for cell in good.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answers[cell.metadata["nbgrader"]["grade_id"]]
    _submit(course, "good", good)
    _submit(course, "stub", release)

    _nbgrader(course, "autograde", PART)
    _nbgrader(course, "generate_feedback", PART)
    _nbgrader(course, "export")

    from nbgrader.api import Gradebook

    total = sum(e.points for e in registry.all_exercises() if e.part == PART)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission(PART, s).score for s in ("good", "stub")}
        assert gb.find_submission(PART, "good").max_score == total
    assert scores == {"good": total, "stub": 0.0}
    with open(course / "grades.csv", newline="") as f:
        rows = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(f)}
    assert rows == {"good": total, "stub": 0.0}
    feedback = (course / "feedback" / "stub" / PART / f"{PART}.html").read_text()
    assert "not_implemented" in feedback and "NotImplementedError" in feedback
