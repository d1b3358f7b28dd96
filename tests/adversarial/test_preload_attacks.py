"""A student who tries to run code in the torch worker's preload (uncharged seconds, before any check)."""

from __future__ import annotations

import shutil

from grader import reference, registry
from grader.isolation.worker import client
from grader.runner import grade


def test_a_torch_of_the_submissions_own_never_runs_in_the_preload(tmp_path, monkeypatch):
    # torch.py in the submission: without the submission off sys.path, the preload would import it, uncharged
    # started, not forked: a forked worker has torch from its template already, and the preload would import
    # nothing (the template's own import is attacked in tests/adversarial/test_forkserver_attacks.py)
    monkeypatch.setenv("DEEPGRADE_FORKSERVER", "0")
    sub = shutil.copytree(reference.SOLUTIONS, tmp_path / "sub")
    marker = tmp_path / "ran-in-the-worker"
    for name in ("torch", "sympy"):  # sympy: what the preload's torch._dynamo imports
        (sub / f"{name}.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise ImportError('shadowed')\n")
    asked = []
    preload = client.Worker.preload
    monkeypatch.setattr(client.Worker, "preload", lambda w, modules: (asked.append(list(modules)), preload(w, modules)))

    result = grade(sub, [registry.get("neuron.relu"), registry.get("pytorch.net")], examples=3)

    assert asked == [["torch", "torch._dynamo"]]  # the preload did happen
    assert not marker.exists()  # and ran nothing of the student's: the real torch was imported
    torch_part = result.exercises[1]
    assert torch_part.score == torch_part.max_score, [(c.name, c.message) for c in torch_part.checks]
