"""A student at ``--isolation process`` whose workers are forked from a template (grader/isolation/worker/
forkserver.py) goes after the template: to run code in it before the fork, to leave something in the libraries
for the next student, to reach it through an open descriptor, or to kill it.  None of it changes a grade."""

from __future__ import annotations

import signal
import time

from grader import reference, registry
from grader.isolation.worker import forkserver
from grader.runner import grade
from tests.forkkit import call, forked_worker, submission


def test_what_a_student_does_to_the_libraries_stays_in_its_ownforked_worker(forking, tmp_path):
    spoiler = submission(
        tmp_path,
        """
        import numpy, torch
        numpy.mean = lambda *a, **k: 42.0
        torch.tensor = lambda *a, **k: "patched"
        def f():
            return float(numpy.mean([1.0, 2.0])), str(torch.tensor([1.0]))
        """,
        name="spoiler",
    )
    honest = submission(
        tmp_path,
        """
        import numpy, torch
        def f():
            return float(numpy.mean([1.0, 2.0])), str(torch.tensor([1.0]))
        """,
        name="honest",
    )
    with forked_worker(spoiler) as worker:
        worker.setup(["gan"])
        assert call(worker, "gan", "f") == (42.0, "patched")
    with forked_worker(honest) as worker:
        worker.setup(["gan"])
        assert call(worker, "gan", "f") == (1.5, "tensor([1.])")


def test_no_file_of_a_submission_runs_in_the_template(forking, tmp_path, monkeypatch):
    ran = tmp_path / "ran"
    for module in ("torch", "numpy", "keras", "sympy", "sitecustomize", "usercustomize"):  # sympy: torch._dynamo's
        (tmp_path / f"{module}.py").write_text(f"open({str(ran)!r}, 'a').write('{module}')\n")
    monkeypatch.chdir(tmp_path)  # the template starts here; the submission is the same folder
    with forked_worker(tmp_path) as worker:
        assert isinstance(worker.proc, forkserver.Adopted)
        assert worker.ping() == "pong"
    assert not ran.exists()


def test_a_forked_worker_holds_no_descriptor_of_its_template(forking, tmp_path):
    # the template's socket would let a student fork workers of their own choosing, or answer the grader for it
    sub = submission(
        tmp_path,
        """
        import os
        def descriptors():
            out = {}
            for fd in os.listdir("/proc/self/fd"):
                try:
                    out[fd] = os.readlink(f"/proc/self/fd/{fd}")
                except OSError:
                    pass
            return out
        """,
    )
    with forked_worker(sub) as worker:
        assert isinstance(worker.proc, forkserver.Adopted)
        worker.setup(["gan"])
        held = call(worker, "gan", "descriptors")
    assert not [t for t in held.values() if t.startswith("socket:")], held
    assert len(held) <= 8, held  # stdin, stdout, stderr, the protocol's two, /dev/null, what listing opened


#: A student's scan for the templates of its grader (a forked worker's command line is its template's, so it
#: skips itself; the suite's other processes have templates and forked workers too, which it must not touch).
_SIGNAL_TEMPLATES = """
import os
def signal_templates(signum):
    hit = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                template = b"zygote.py" in fh.read()
            with open(f"/proc/{pid}/stat") as fh:
                parent = int(fh.read().rsplit(")", 1)[1].split()[1])
            if template and parent == os.getppid():
                os.kill(int(pid), signum)
                hit += 1
        except OSError:
            pass
    return hit
"""


def _signal_templates(tmp_path, signum: int) -> None:
    """A student whose worker was forked sends ``signum`` to every template of its grader."""
    with forked_worker(submission(tmp_path, _SIGNAL_TEMPLATES, name=f"signal{signum}")) as worker:
        assert isinstance(worker.proc, forkserver.Adopted)
        worker.setup(["gan"])
        assert call(worker, "gan", "signal_templates", int(signum)) >= 1


def test_killing_the_template_costs_no_later_worker_its_grade(forking, tmp_path):
    _signal_templates(tmp_path, signal.SIGKILL)
    result = grade(reference.SOLUTIONS, registry.select(["gan.losses", "keras_model.model"]), examples=3)
    assert result.score == result.max_score, [(c.name, c.message) for e in result.exercises for c in e.checks]
    assert not forkserver._GAVE_UP  # a dead template is replaced, not given up on: the next workers fork again


def test_a_stopped_template_costs_the_next_worker_seconds_not_its_grade(forking, tmp_path, monkeypatch):
    """SIGSTOP: the template never answers.  After its first answer it gets FORK_SECONDS, not the minutes of its
    first start, then the worker starts as usual and no template is asked again."""
    monkeypatch.setattr(forkserver, "FORK_SECONDS", 1.0)
    _signal_templates(tmp_path, signal.SIGSTOP)
    started = time.monotonic()
    result = grade(reference.SOLUTIONS, registry.select(["gan.losses"]), examples=3)
    assert result.score == result.max_score, [(c.name, c.message) for e in result.exercises for c in e.checks]
    assert time.monotonic() - started < forkserver.ANSWER_SECONDS / 3
    assert forkserver._GAVE_UP
