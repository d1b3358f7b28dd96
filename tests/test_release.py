"""A student release holds no reference code, and grades there: known, numerical, torch and invariant
checks run; the reference solutions score full marks, the stubs 0."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader import reference
from grader import secret as course_secret
from grader.cli import main
from grader.instructor.release import leaks


def _solution_fingerprints() -> list[str]:
    """Each pair of consecutive code lines (12+ characters each) of a reference body, and each line of 48+,
    as text to search for in a file's stripped code lines joined by newlines."""

    def code(text: str) -> list[str]:
        return [t for t in (ln.strip() for ln in text.splitlines()) if t and not t.startswith("#")]

    stubs = {t for p in reference.ASSIGNMENTS.glob("*.py") for t in code(p.read_text())}
    found = []
    for path in reference.SOLUTIONS.glob("*.py"):
        for block in path.read_text().split("### BEGIN SOLUTION")[1:]:
            body = [t for t in code(block.split("### END SOLUTION")[0]) if t not in stubs]
            found += [
                f"{x}\n{y}" for x, y in zip(body, body[1:]) if min(len(x), len(y)) >= 12 and len(x) + len(y) >= 32
            ]
            found += [t for t in body if len(t) >= 48]
    return found


#: The course secrets that exist while the release is made: $DEEPGRADE_SECRET and the default file.
SECRETS: list[bytes] = []


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rel") / "student"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
        mp.delenv(course_secret.ENV)
        SECRETS.append(course_secret.load())  # made in the default place, as `deepgrade grade` would
        mp.setenv(course_secret.ENV, "the environment's course secret, set while releasing")
        SECRETS.append(course_secret.load())
        assert main(["release", "--out", str(out)]) == 0
    return out


def _check(release: Path, *extra: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "check", "neuron", "--examples", "3", "--json", *extra],
        cwd=release,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


def test_release_has_the_student_parts_and_no_reference_code(release):
    names = {p.name for p in release.iterdir()}
    assert {"assignments", "grader", "pyproject.toml", "constraints.txt", "README.md"} <= names
    assert not {"solutions", "tests", "scripts"} & names
    assert list((release / "grader" / "known").glob("neuron.*.npz"))
    readme = (release / "README.md").read_text()
    assert "python -m grader check" in readme and "python3 -m venv" in readme
    # the install line names files the release has and pins what the course's own CI tested
    assert "pip install -c constraints.txt -e '.[keras]'" in readme
    assert "torch==" in (release / "constraints.txt").read_text()
    prints = _solution_fingerprints()
    assert len(prints) > 50
    for path in release.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                assert {npz[k].dtype.kind for k in npz.files} <= set("biufU"), path
                text = " ".join(str(s) for k in npz.files if npz[k].dtype.kind == "U" for s in npz[k].ravel())
        else:
            text = path.read_bytes().decode("utf-8", "replace")
            if path.suffix == ".ipynb":
                text += "\n" + "\n".join("".join(c.get("source", [])) for c in json.loads(text).get("cells", []))
        text = "\n".join(t for t in (ln.strip() for ln in text.splitlines()) if t and not t.startswith("#"))
        hits = [fp for fp in prints if fp in text]
        assert not hits, f"{path}: {hits[:3]}"
        assert not [s for s in SECRETS if s in path.read_bytes()], path
    assert len(SECRETS) == 2
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
    line = max((fp for fp in _solution_fingerprints() if "\n" not in fp), key=len)
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
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "release", "--out", "again"],
        cwd=release,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "no solutions/" in proc.stderr


def test_the_release_scan_refuses_a_course_secret(release, tmp_path, monkeypatch, capsys):
    secret = b"a course secret that must stay home"
    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    (copy / "grader" / "notes.txt").write_bytes(b"seed: " + secret + b"\n")
    np.savez(copy / "grader" / "known" / "seeds.npz", a=np.asarray(secret.decode()))
    found = leaks(copy, reference.SOLUTIONS, reference.ASSIGNMENTS, secrets=[secret])
    assert {f"grader/{f}: holds the course secret" for f in ("notes.txt", "known/seeds.npz")} <= set(found)
    assert leaks(copy, reference.SOLUTIONS, reference.ASSIGNMENTS, secrets=[b"another course secret entirely"]) == []

    from grader.commands import release as command

    write = command.write

    def careless(out: Path) -> None:  # an instructor who kept the secret file inside grader/
        write(out)
        (out / "grader" / "secret.txt").write_bytes(secret)

    monkeypatch.setenv(course_secret.ENV, secret.decode())
    monkeypatch.setattr(command, "write", careless)
    assert main(["release", "--out", str(tmp_path / "leaky"), "--no-plans"]) == 2
    err = capsys.readouterr().err
    assert "grader/secret.txt: holds the course secret" in err and err.count("\n") == 1
    assert not (tmp_path / "leaky").exists()


def test_the_release_ships_the_public_checks_plans_and_check_replays_them(release, tmp_path):
    """``check`` in a fresh release (an empty cache) finds the public checks' plans the release ships, keyed
    without the reference (students have none), so it draws nothing for them and records nothing."""
    from grader import registry, runner
    from grader.checks import plans

    shipped = {p.relative_to(release / "grader" / "plans") for p in (release / "grader" / "plans").rglob("*.npz")}
    for ex in registry.all_exercises():
        for c in ex.checks:
            if plans.is_answered(c.run) and not c.hidden:
                key = plans.Key(ex.id, c.name, *runner._draws(ex, c, 25, 0, None), "none")
                assert key.path(Path(".")) in shipped, (ex.id, c.name)
    solved = tmp_path / "solved"
    shutil.copytree(release / "assignments", solved)
    shutil.copy(reference.SOLUTIONS / "neuron.py", solved / "neuron.py")
    cache = tmp_path / "cache"
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "check", "neuron.relu", "--json", "--submission", str(solved)],
        cwd=release,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DEEPGRADE_CACHE": str(cache)},
    )
    doc = json.loads(proc.stdout)
    assert doc["score"] == doc["max_score"] > 0, proc.stderr
    assert not list(cache.rglob("*.npz")), "a shipped plan was not found: check drew its examples again"
