"""The adversarial corpus (tests/adversarial/cases.py): each attack scores 0 on what it attacks, grading
finishes, the rest of the submission keeps its marks, nothing outside the sandbox changes or stays behind,
and a correct submission graded next, by the same launcher, keeps full marks."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import time
from pathlib import Path

import pytest

from grader import registry
from grader.isolation import sandbox
from grader.runner import grade
from tests.adversarial.cases import ATTACKS
from tests.corpus import ROOT, SOLUTIONS

NO_BWRAP = "bubblewrap is missing or cannot create namespaces here (apt-get install bubblewrap)"
#: Smaller than the defaults, to keep the memory and fork bombs cheap on a shared 2-core machine.
LIMITS = sandbox.Limits(address_space=3 << 30, processes=48)


SKIP_NO_BWRAP = pytest.mark.skipif(not sandbox.bwrap_works(), reason=NO_BWRAP)
CASES = [
    pytest.param(level, a, id=f"{a.name}-{level}", marks=[SKIP_NO_BWRAP] if level == "sandbox" else [])
    for a in ATTACKS
    for level in (["sandbox"] if a.sandbox_only else ["process", "sandbox"])
]


def _quick(ex_id: str):
    """The exercise with 2-second check timeouts (the attacks' loops end sooner; correct code needs < 0.5 s)."""
    ex = registry.get(ex_id)
    return dataclasses.replace(ex, checks=[dataclasses.replace(c, timeout=2.0) for c in ex.checks])


def _leftovers(marker: str) -> list[str]:
    """Processes whose command line holds ``marker``, once the kernel has had 5 s to end a killed namespace."""
    for _ in range(50):
        found = _processes(marker)
        if not found:
            break
        time.sleep(0.1)
    return found


def _processes(marker: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            found.append(f"{pid}: {cmd}")
    return found


@pytest.mark.parametrize("level,attack", CASES)
def test_attack_scores_zero_and_harms_nothing(level, attack, tmp_path):
    launcher = sandbox.bwrap_launcher(LIMITS) if level == "sandbox" else sandbox.launcher_for(level)
    other = shutil.copytree(SOLUTIONS, tmp_path / "other-student")
    canary = tmp_path / "gradebook.json"
    canary.write_text("{}")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    before = {p: p.read_bytes() for p in (other / "neuron.py", SOLUTIONS / "neuron.py")}
    sub = attack.write(tmp_path / "attacker", OTHER=str(other), CANARY=str(canary), PORT=str(listener.getsockname()[1]))
    own = (sub / "neuron.py").read_bytes()
    attacked, bystander = _quick(attack.exercise), _quick(attack.bystander)

    result = grade(
        sub, [attacked, bystander], launcher=launcher, examples=3, hidden=True, submission_timeout=attack.budget
    )

    target, rest = result.exercises
    hit = [c for c in target.checks if attack.targeted(c.name)]
    assert hit and all(c.score == 0 for c in hit), {c.name: (c.status, c.message) for c in hit}
    if attack.budget >= 30:
        assert rest.score == rest.max_score, {c.name: (c.status, c.message) for c in rest.checks}
    else:  # the attack ate the submission's time budget: the rest is marked timeout, not run
        assert {c.status for c in rest.checks} == {"timeout"} and "time budget" in rest.checks[0].message
    if attack.evidence:
        assert any(attack.evidence in c.message for c in target.checks), [c.message for c in target.checks]
    assert canary.read_text() == "{}"
    assert {p: p.read_bytes() for p in before} == before
    assert (sub / "neuron.py").read_bytes() == own  # (the attack's own file may be another part's)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
    listener.close()
    assert not _leftovers("987.654"), "the fork bomb left processes behind"
    assert not _leftovers(str(sub)), "a worker of the attacker is still running"

    again = grade(
        shutil.copytree(SOLUTIONS, tmp_path / "honest"), [attacked], launcher=launcher, examples=3, hidden=True
    )
    assert again.exercises[0].score == again.exercises[0].max_score, {
        c.name: (c.status, c.message) for c in again.exercises[0].checks
    }


def test_every_attack_runs_somewhere():
    assert len({a.name for a in ATTACKS}) == len(ATTACKS) >= 15
    assert all(Path(ROOT / "solutions" / "neuron.py").exists() for _ in ATTACKS)
