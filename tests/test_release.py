"""A student release holds no reference code, and grades there: known, numerical, torch and invariant
checks run; the reference solutions score full marks, the stubs 0."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader import reference
from grader.build import _MARKER
from grader.cli import main
from grader.release import leaks


def _solution_lines() -> set[str]:
    """Every line of a reference body (inside the markers) worth searching for: 16+ characters."""
    stubs = {ln.strip() for p in reference.ASSIGNMENTS.glob("*.py") for ln in p.read_text().splitlines()}
    lines, inside = set(), False
    for path in reference.SOLUTIONS.glob("*.py"):
        for line in path.read_text().splitlines():
            if _MARKER.match(line):
                inside = "BEGIN" in line
            elif inside and len(line.strip()) >= 16 and line.strip() not in stubs:
                lines.add(line.strip())
    return lines


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rel") / "student"
    assert main(["release", "--out", str(out)]) == 0
    return out


def _check(release: Path, *extra: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "grader", "check", "neuron", "--examples", "3", "--json", *extra],
                          cwd=release, capture_output=True, text=True, timeout=300)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


def test_release_has_the_student_parts_and_no_reference_code(release):
    names = {p.name for p in release.iterdir()}
    assert {"assignments", "grader", "pyproject.toml", "README.md"} <= names
    assert not {"solutions", "tests", "scripts"} & names
    assert list((release / "grader" / "known").glob("neuron.*.npz"))
    assert "python -m grader check" in (release / "README.md").read_text()
    lines = _solution_lines()
    assert len(lines) > 10
    for path in release.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                assert {npz[k].dtype.kind for k in npz.files} <= set("biufU"), path
                text = " ".join(str(s) for k in npz.files if npz[k].dtype.kind == "U" for s in npz[k].ravel())
        else:
            text = path.read_bytes().decode("utf-8", "replace")
        hits = [ln for ln in lines if ln in text]
        assert not hits, f"{path}: {hits[:3]}"
    assert leaks(release, reference.SOLUTIONS, reference.ASSIGNMENTS) == []


def test_check_works_inside_the_release(release, tmp_path):
    stubs = _check(release)
    checks = [c for e in stubs["exercises"] for c in e["checks"]]
    assert stubs["score"] == 0 and {c["status"] for c in checks} == {"not_implemented"}
    assert {c["oracle"] for c in checks} == {"known", "numerical", "torch", "invariant"}
    assert not any(c["hidden"] for c in checks)
    solved = tmp_path / "solved"
    shutil.copytree(release / "assignments", solved)
    shutil.copy(reference.SOLUTIONS / "neuron.py", solved / "neuron.py")
    full = _check(release, "--submission", str(solved))
    assert full["score"] == full["max_score"] == stubs["max_score"] > 0
    assert {c["status"] for e in full["exercises"] for c in e["checks"]} == {"passed"}


def test_leaks_are_found_in_code_notebooks_and_known_answer_files(release, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    line = sorted(_solution_lines(), key=len)[-1]
    (copy / "assignments" / "extra.ipynb").write_text(json.dumps({"cells": [{"source": ["x = 1\n", line]}]}))
    np.savez(copy / "grader" / "known" / "bad.npz", a=np.asarray(line))
    (copy / "solutions").mkdir()
    found = leaks(copy, reference.SOLUTIONS, reference.ASSIGNMENTS)
    assert any(f.startswith("assignments/extra.ipynb") for f in found)
    assert any(f.startswith("grader/known/bad.npz") for f in found)
    assert "solutions: a solutions/ folder" in found


def test_release_refuses_a_used_folder_and_the_student_side_refuses_to_release(release, capsys):
    assert main(["release", "--out", str(release)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    proc = subprocess.run([sys.executable, "-m", "grader", "release", "--out", "again"], cwd=release,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no solutions/" in proc.stderr
