"""A submission that attacks the check plans (grader/checks/plans.py): the examples and oracle answers recorded
once and replayed for every later student.  Overwritten, they would grade everyone after the attacker: a plan
whose answers equal a wrong submission's outputs passes it.  Where the worker is isolated (`limits`: another
uid; `sandbox`: a private root), the attacker cannot list, read or write the instructor's plan cache, the plans
stay byte for byte as they were, and a wrong submission graded afterwards still fails.  (At `process` the
worker runs as the instructor and could: that level is for trusted code, and says so.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader import registry
from grader.isolation import sandbox
from grader.runner import grade
from tests.corpus import Mutant, replace_definitions

ATTACK = '''
def sigmoid_forward(x):
    import os
    cache = @CACHE@
    try:
        os.listdir(cache)
        for folder, _, files in os.walk(cache):
            for name in files:
                with open(os.path.join(folder, name), "wb") as fh:
                    fh.write(b"poisoned")
        how = "wrote"
    except BaseException as exc:
        how = type(exc).__name__
    raise RuntimeError(f"ATTACK plans={how}")
'''

WRONG = Mutant(
    "neuron.sigmoid", "tanh for sigmoid", "def sigmoid_forward(x):\n    s = np.tanh(x)\n    return s, s\n", "reference"
)


def _levels() -> list:
    levels = []
    bwrap = pytest.mark.skipif(not sandbox.bwrap_works(), reason="bubblewrap is missing or cannot run here")
    levels.append(pytest.param("sandbox", "FileNotFoundError", marks=[bwrap], id="sandbox"))
    root = pytest.mark.skipif(os.geteuid() != 0, reason="the limits level drops to another uid: needs root")
    levels.append(pytest.param("limits", "PermissionError", marks=[root], id="limits"))
    return levels


@pytest.mark.parametrize("level,blocked_by", _levels())
def test_a_submission_cannot_poison_the_plans_others_are_graded_with(level, blocked_by, tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPGRADE_CACHE", str(tmp_path / "cache"))
    cache = tmp_path / "cache" / "plans"
    sigmoid = registry.get("neuron.sigmoid")
    launcher = sandbox.launcher_for(level)

    def graded(sub: Path):
        return grade(sub, [sigmoid], launcher=launcher, examples=4, hidden=False).exercises[0]

    assert graded(Path("solutions")).score == sigmoid.points  # records the plans
    before = {p: p.read_bytes() for p in cache.rglob("*") if p.is_file()}
    assert before

    attacker = tmp_path / "attacker"
    attacker.mkdir()
    source = (Path("solutions") / "neuron.py").read_text()
    (attacker / "neuron.py").write_text(replace_definitions(source, ATTACK.replace("@CACHE@", repr(str(cache)))))
    attacked = graded(attacker)
    assert attacked.score == 0
    assert any(f"ATTACK plans={blocked_by}" in c.message for c in attacked.checks), [c.message for c in attacked.checks]
    assert {p: p.read_bytes() for p in cache.rglob("*") if p.is_file()} == before

    wrong = graded(WRONG.write(tmp_path / "wrong"))  # replays the plans, which still hold the truth
    assert any(c.status == "failed" for c in wrong.checks if "matches the reference" in c.name)
