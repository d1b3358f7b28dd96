"""Workers forked from a template (grader/isolation/worker/forkserver.py, ``--isolation process``): they grade
exactly as workers started afresh, they are this process's children (timed, waited for, killed), what one
student's code does to its libraries never reaches the next worker (tests/adversarial/test_forkserver_attacks.py),
and whatever a forked worker leaves behind (daemons in new sessions, double forks) dies with it
(tests/adversarial/test_worker_attacks.py, forked)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
from pathlib import Path

import pytest

from grader import reference, registry
from grader.checks import drivers
from grader.isolation import sandbox
from grader.isolation.worker import forkserver, proctree
from grader.isolation.worker.client import StudentError, Worker
from grader.runner import grade
from tests.forkkit import call as _call
from tests.forkkit import forked_worker as _worker
from tests.forkkit import submission as _submission


def _outcomes(result):
    return {(e.id, c.name): (c.status, c.score) for e in result.exercises for c in e.checks}


def test_forked_workers_grade_exactly_as_started_ones(monkeypatch, make_submission):
    exercises = registry.select(["neuron.relu", "gan.losses", "keras_model.model"])
    wrong = make_submission(
        "gan.losses", "def discriminator_loss(real_logits, fake_logits):\n    return real_logits.mean()\n"
    )
    grades = {}
    for on in ("0", "1"):
        monkeypatch.setenv("DEEPGRADE_FORKSERVER", on)
        grades[on] = [_outcomes(grade(s, exercises, examples=5)) for s in (reference.SOLUTIONS, wrong)]
    assert grades["0"] == grades["1"]
    assert {s for s, _ in grades["1"][0].values()} == {"passed"}
    assert any(s != "passed" for (ex, _), (s, _) in grades["1"][1].items() if ex == "gan.losses")


def test_a_forked_worker_is_this_processs_child_and_has_torch_loaded(forking, tmp_path):
    sub = _submission(tmp_path, "import sys\ndef loaded():\n    return 'torch._dynamo' in sys.modules\n")
    with _worker(sub) as worker:
        assert isinstance(worker.proc, forkserver.Adopted)
        with open(f"/proc/{worker.proc.pid}/stat") as fh:
            assert int(fh.read().rsplit(")", 1)[1].split()[1]) == os.getpid()  # re-parented here
        worker.setup(["gan"])
        # imported before the fork, not by the student: torch, and what an optimizer's first step imports (0.9 s)
        assert _call(worker, "gan", "loaded") is True
        environ = Path(f"/proc/{worker.proc.pid}/environ").read_bytes().split(b"\0")
        assert f"{proctree.MARKER}={worker.token}".encode() in environ


def test_a_numpy_only_part_is_forked_from_a_template_without_torch(forking, tmp_path):
    source = "import sys\ndef f():\n    return sorted(m for m in ('numpy', 'torch') if m in sys.modules)\n"
    sub = _submission(tmp_path, source, "neuron")
    with _worker(sub, packages=("numpy",)) as worker:
        worker.setup(["neuron"])
        assert isinstance(worker.proc, forkserver.Adopted)
        assert _call(worker, "neuron", "f") == ["numpy"]


def test_keras_is_imported_before_the_fork_only_for_a_grade_that_needs_it(forking, tmp_path):
    # Keras costs 0.6 s of CPU to import: a template imports it only for a grade with a part that uses it
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (pip install -e '.[keras]')")
    log = tmp_path / "keras-loaded"
    sub = shutil.copytree(reference.SOLUTIONS, tmp_path / "sub", ignore=shutil.ignore_patterns("__pycache__"))
    with open(sub / "gan.py", "a") as fh:  # what the worker had imported when the student's gan.py first ran
        fh.write(f"\nimport sys as _sys\nopen({str(log)!r}, 'a').write(str('keras' in _sys.modules) + '\\n')\n")
    seen = []
    for ids in (["gan.losses"], ["gan.losses", "keras_model.model"]):
        result = grade(sub, registry.select(ids), examples=3)
        assert result.score == result.max_score, [(c.name, c.message) for e in result.exercises for c in e.checks]
        seen.append(log.read_text().split())
        log.unlink()
    assert seen == [["False"], ["True"]]  # both forked (a started worker has neither before the student's code)
    assert [key[1] for key in forkserver._SERVERS] == [forkserver.MODULES, (*forkserver.MODULES, "keras")]


def test_a_forked_worker_that_dies_or_loops_is_reported_and_replaced(forking, tmp_path):
    sub = _submission(
        tmp_path,
        """
        import os, signal
        def die():
            os.kill(os.getpid(), signal.SIGKILL)
        def spin():
            while True:
                pass
        def ok():
            return 1
        """,
    )
    with _worker(sub) as worker:
        worker.setup(["gan"])
        with pytest.raises(StudentError) as died:
            _call(worker, "gan", "die")
        assert "killed by signal 9" in died.value.message
        with pytest.raises(StudentError) as looped:
            worker.drive(drivers.call_function, "gan", "spin", [], {}, None, timeout=0.5)
        assert looped.value.kind == "timeout" and "CPU time" in looped.value.message
        worker.setup(["gan"])
        assert isinstance(worker.proc, forkserver.Adopted) and _call(worker, "gan", "ok") == 1


def test_off_by_the_environment_and_never_for_a_sandbox(forking, monkeypatch, tmp_path):
    sub = _submission(tmp_path, "def f():\n    return 1\n")
    monkeypatch.setenv("DEEPGRADE_FORKSERVER", "0")
    forkserver.enable(True)
    try:
        with _worker(sub) as worker:
            assert not isinstance(worker.proc, forkserver.Adopted)
        monkeypatch.setenv("DEEPGRADE_FORKSERVER", "1")
        with Worker(sub, launcher=sandbox.limits_launcher(warn=False)) as worker:
            assert not isinstance(worker.proc, forkserver.Adopted)
    finally:
        forkserver.enable(False)


def test_each_forked_worker_gets_the_environment_as_it_is_now(forking, tmp_path, monkeypatch):
    sub = _submission(tmp_path, "import os\ndef f(name):\n    return os.environ.get(name)\n")
    seen = []
    # volatile: the grader's own settings, what pytest, Keras and torch write while it runs; one template serves all
    volatile = ("PYTEST_CURRENT_TEST", "DEEPGRADE_CACHE", "TF_FORCE_GPU_ALLOW_GROWTH", "TORCHINDUCTOR_CACHE_DIR")
    for test in ("first", "second"):
        for name in volatile:
            monkeypatch.setenv(name, str(tmp_path / f"{test} {name}"))  # torch makes its cache folder: not in the cwd
        with _worker(sub) as worker:
            worker.setup(["gan"])
            assert isinstance(worker.proc, forkserver.Adopted)
            seen.append([_call(worker, "gan", "f", name) for name in volatile])
    expected = [[str(tmp_path / f"{t} {n}") for n in volatile] for t in ("first", "second")]
    assert seen == expected and len(forkserver._SERVERS) == 1
    monkeypatch.setenv("PROBE_OF_THE_TEST", "x" * 100_000)  # a new template, and a request longer than one read
    with _worker(sub) as worker:
        worker.setup(["gan"])
        assert isinstance(worker.proc, forkserver.Adopted)
        assert _call(worker, "gan", "f", "PROBE_OF_THE_TEST") == "x" * 100_000
    assert len(forkserver._SERVERS) == 2


def test_a_process_level_batch_forks_only_where_a_process_grades_several(tmp_path, monkeypatch):
    from grader.instructor import batch
    from grader.instructor.submissions import discover
    from tests.batchkit import complete

    monkeypatch.delenv("DEEPGRADE_FORKSERVER")  # the batch decides
    cls = tmp_path / "class"
    for name in ("ann", "ben", "cat"):
        complete(cls / name)
    flags: list[bool] = []
    run_local = batch._run_local

    def spy(jobs, todo):
        flags.extend(bool(job.get("forkserver")) for job in todo)
        return run_local(jobs, todo)

    monkeypatch.setattr(batch, "_run_local", spy)
    exercises = registry.select(["neuron.relu"])  # a numpy part: its template has numpy alone, quick to start
    for jobs, isolation in ((1, "process"), (3, "process"), (1, "limits")):
        out = tmp_path / f"out-{jobs}-{isolation}"
        done = batch.run_batch(discover([str(cls)]), out, exercises, examples=3, jobs=jobs, isolation=isolation)
        assert [o.result.score for o in done] == [o.result.max_score for o in done] != []
    assert flags == [True] * 3 + [False] * 6  # three jobs each; only one process grading all three forks


def test_a_template_killed_before_it_is_asked_is_replaced_not_given_up(forking, tmp_path, monkeypatch):
    """A template a student killed may not have ended yet when the next worker asks it (its socket is found closed):
    it is replaced, and the next workers still fork."""
    sub = _submission(tmp_path, "def f():\n    return 1\n", part="neuron")
    with _worker(sub, packages=("numpy",)):
        pass
    (first,) = forkserver._SERVERS.values()
    monkeypatch.setattr(forkserver._Server, "alive", lambda self: True)  # as if not yet seen to have died
    os.kill(first.proc.pid, signal.SIGKILL)
    for _ in range(2):
        with _worker(sub, packages=("numpy",)) as worker:
            assert isinstance(worker.proc, forkserver.Adopted)
            worker.setup(["neuron"])
            assert _call(worker, "neuron", "f") == 1
    assert not forkserver._GAVE_UP and list(forkserver._SERVERS.values()) != [first]


def test_a_template_that_cannot_serve_is_given_up_and_workers_start_as_before(forking, tmp_path, monkeypatch):
    broken = tmp_path / "zygote.py"
    broken.write_text("import sys\nsys.exit(0)\n")  # as a template that cannot stamp a marker exits
    monkeypatch.setattr(forkserver, "ZYGOTE", broken)
    forkserver.close_all()
    sub = _submission(tmp_path, "def f():\n    return 1\n")
    for _ in range(2):
        with _worker(sub) as worker:
            assert not isinstance(worker.proc, forkserver.Adopted)
            worker.setup(["gan"])
            assert _call(worker, "gan", "f") == 1
    assert forkserver._GAVE_UP and not forkserver._SERVERS
