"""The self-learner's loop: `watch` re-checks the part whose file was saved; `progress` says what is next."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

from grader import reference
from grader.commands.watch import parts_changed


def test_parts_changed_maps_files_to_parts_in_curriculum_order():
    changes = {(1, "/x/optim.py"), (2, "/x/neuron.py"), (1, "/x/notes.txt"), (1, "/x/__pycache__/a.pyc")}
    assert parts_changed(changes) == ["neuron", "optim"]


def test_watch_rechecks_the_saved_file(tmp_path):
    sub = tmp_path / "work"
    shutil.copytree(reference.ASSIGNMENTS, sub)
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "watch", "--submission", str(sub), "--once", "--examples", "3"],
        cwd=reference.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()  # "watching": said once the folder is watched
        path = sub / "neuron.py"
        text = (reference.SOLUTIONS / "neuron.py").read_text()
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:  # a save it missed while starting is saved again
            path.write_text(text)
            text += "\n"
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        out = first + proc.stdout.read()
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "neuron changed" in out and "neuron.softmax" in out and "passed" in out


def test_progress_points_at_the_first_unfinished_exercise(tmp_path):
    sub = tmp_path / "work"
    shutil.copytree(reference.ASSIGNMENTS, sub)
    text = (sub / "neuron.py").read_text()
    ref = (reference.SOLUTIONS / "neuron.py").read_text()
    # solve sigmoid only: take the reference's two sigmoid functions
    import ast

    from tests.corpus import replace_definitions

    defs = {n.name: ast.get_source_segment(ref, n) for n in ast.parse(ref).body if isinstance(n, ast.FunctionDef)}
    (sub / "neuron.py").write_text(
        replace_definitions(text, defs["sigmoid_forward"] + "\n\n" + defs["sigmoid_backward"] + "\n")
    )
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "progress", "--submission", str(sub), "--examples", "3"],
        cwd=reference.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Next: neuron.relu" in proc.stdout
    assert "✓sigmoid" in proc.stdout
