"""deepgrade gradescope: the autograder zip grades /autograder/submission into results/results.json."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile

from grader.cli import main
from tests.batchkit import EXAMPLES, ONLY, ROOT, complete


def test_run_autograder_against_a_fake_autograder_tree(tmp_path):
    zpath = tmp_path / "autograder.zip"
    assert main(["gradescope", *ONLY, "--out", str(zpath), "--examples", str(EXAMPLES)]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        assert {"setup.sh", "run_autograder", "pyproject.toml", "grader/cli.py", "solutions/neuron.py"} <= set(names)
        assert zf.getinfo("run_autograder").external_attr >> 16 & stat.S_IXUSR
        zf.extractall(root / "source")
    assert "download.pytorch.org/whl/cpu" in (root / "source" / "setup.sh").read_text()
    sub = root / "submission" / "hw"  # a student's zip unpacked by Gradescope: one top folder
    complete(sub)
    env = dict(os.environ, DEEPGRADE_AUTOGRADER_ROOT=str(root), DEEPGRADE_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    doc = json.loads((root / "results" / "results.json").read_text())
    assert doc["score"] == 2 and doc["tests"] and {t["status"] for t in doc["tests"]} == {"passed"}
    assert all(t["name"].startswith(ONLY[0]) for t in doc["tests"])


def test_gradescope_rejects_bad_options(tmp_path, capsys):
    assert main(["gradescope", "--out", str(tmp_path / "x.tar")]) == 2
    assert main(["gradescope", "no.such", "--out", str(tmp_path / "a.zip")]) == 2
    assert not (ROOT / "a.zip").exists()
