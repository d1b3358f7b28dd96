"""deepgrade grade: a class graded into a gradebook; broken submissions; resume after a kill; Dask."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import registry
from grader.cli import main
from grader.instructor import batch
from grader.instructor.submissions import discover
from tests.batchkit import EXAMPLES, ONLY, ROOT, complete, stubs, zip_bytes
from tests.htmldom import parse

EXERCISES = registry.select(ONLY)
MAX = sum(e.points for e in EXERCISES)


def make_class(root: Path) -> Path:
    cls = root / "class"
    complete(cls / "alice")
    stubs(cls / "bob")
    broken = complete(cls / "carol")
    (broken / "neuron.py").write_text("def relu_forward(x)\n    return x\n")  # a syntax error
    (cls / "dave").mkdir()
    (cls / "dave" / "README.md").write_text("I forgot to upload my code")  # missing files
    (cls / "erin.zip").write_bytes(b"this is not a zip")
    (cls / "frank.zip").write_bytes(zip_bytes({"../../neuron.py": "x"}))
    (cls / "gina.zip").write_bytes(zip_bytes({"gina/neuron.py": (ROOT / "solutions" / "neuron.py").read_text()}))
    return cls


def grade(cls: Path, out: Path, **kw) -> list[batch.Outcome]:
    return batch.run_batch(discover([str(cls)]), out, EXERCISES, examples=EXAMPLES, **kw)


def test_a_class_with_broken_submissions(tmp_path):
    cls = make_class(tmp_path)
    out = tmp_path / "out"
    outcomes = grade(cls, out, jobs=2)  # the default executor: processes
    by = {o.student: o for o in outcomes}
    assert list(by) == ["alice", "bob", "carol", "dave", "erin", "frank", "gina"]
    assert by["alice"].result.score == MAX and by["gina"].result.score == MAX
    assert by["bob"].result.score == 0 and by["bob"].result.exercises[0].status == "not_implemented"
    assert "SyntaxError" in by["carol"].result.exercises[0].checks[0].message
    assert "no exercise files found" in by["dave"].result.error
    assert "not a readable zip" in by["erin"].result.error
    assert "unsafe path" in by["frank"].result.error
    assert not (tmp_path / "neuron.py").exists()

    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [r["student"] for r in rows] == list(by)
    assert rows[0]["neuron.relu"] == f"{MAX:g}" and rows[0]["total"] == f"{MAX:g}"
    assert "not a readable zip" in rows[4]["error"]
    book = json.loads((out / "gradebook.json").read_text())
    assert [s["student"] for s in book["students"]] == list(by)

    doc = json.loads((out / "students" / "alice" / "results.json").read_text())  # Gradescope's schema
    assert doc["score"] == MAX and isinstance(doc["execution_time"], int) and doc["visibility"] == "visible"
    assert {t["status"] for t in doc["tests"]} == {"passed"}
    assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(doc["tests"][0])
    assert sum(t["max_score"] for t in doc["tests"]) == pytest.approx(MAX, abs=1e-4)
    bob = json.loads((out / "students" / "bob" / "results.json").read_text())
    assert bob["score"] == 0 and {t["status"] for t in bob["tests"]} == {"failed"}
    erin = json.loads((out / "students" / "erin" / "results.json").read_text())
    assert erin["score"] == 0 and "not a readable zip" in erin["output"]
    assert any(t["name"].endswith("[hidden]") for t in doc["tests"])  # hidden twins are graded
    alice = (out / "students" / "alice" / "feedback.md").read_text()
    assert "hidden checks: " in alice
    assert sorted(p.name for p in out.iterdir()) == [
        "gradebook.csv",
        "gradebook.json",
        "index.html",
        "records",
        "run.json",
        "students",
    ]
    page = parse((out / "index.html").read_text()).by_id("students")
    assert [tr.attr("data-student") for tr in page.all("tbody")[0].all("tr")] == ["dave", "erin", "frank"]
    assert sorted(p.name for p in (out / "students" / "alice").iterdir()) == sorted(batch.STUDENT_FILES)
    for student in by:
        assert (out / "students" / student / "feedback.md").read_text().startswith(f"# Feedback for {student}")
        assert "<html" in (out / "students" / student / "feedback.html").read_text()


def test_rerun_grades_only_what_changed(tmp_path):
    cls = tmp_path / "class"
    complete(cls / "alice")
    stubs(cls / "bob")
    out = tmp_path / "out"
    first = grade(cls, out, jobs=1)
    assert not any(o.cached for o in first)
    stamp = batch.record_path(out, "alice").stat().st_mtime_ns
    again = grade(cls, out, jobs=1)
    assert all(o.cached for o in again)
    assert [o.result.to_json() for o in again] == [o.result.to_json() for o in first]
    # bob finishes his work: only bob is graded again
    (cls / "bob" / "neuron.py").write_text((cls / "alice" / "neuron.py").read_text())
    third = {o.student: o for o in grade(cls, out, jobs=1)}
    assert third["alice"].cached and not third["bob"].cached and third["bob"].result.score == MAX
    assert batch.record_path(out, "alice").stat().st_mtime_ns == stamp
    forced = grade(cls, out, jobs=1, force=True)
    assert not any(o.cached for o in forced)
    # another exercise selection is another grade
    assert not any(
        o.cached
        for o in batch.run_batch(discover([str(cls)]), out, registry.select(["neuron.tanh"]), examples=EXAMPLES, jobs=1)
    )


def test_cli_errors_are_one_line(tmp_path, capsys):
    complete(tmp_path / "a" / "alice")
    complete(tmp_path / "b" / "alice")
    out = str(tmp_path / "out")
    assert main(["grade", str(tmp_path / "nowhere"), "--out", out]) == 2
    assert main(["grade", str(tmp_path / "a"), str(tmp_path / "b"), "--out", out]) == 2
    assert main(["grade", str(tmp_path / "a"), "--out", out, "--jobs", "0"]) == 2
    assert main(["grade", str(tmp_path / "a"), "--out", out, "--isolation", "moon"]) == 2
    assert main(["grade", str(tmp_path / "a"), "--out", out, "--executor", "dask"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "two submissions for student 'alice'" in err and "--scheduler" in err


def test_kill_and_resume_loses_nothing_and_counts_nothing_twice(tmp_path):
    cls = tmp_path / "class"
    names = [f"s{i}" for i in range(4)]
    for n in names:
        complete(cls / n)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "grader",
        "grade",
        str(cls),
        "--out",
        str(out),
        "--jobs",
        "1",
        "--quiet",
        "--only",
        ONLY[0],
        "--examples",
        str(EXAMPLES),
    ]
    (tmp_path / "tmp").mkdir()  # a whole process group killed at once cleans nothing up: keep its folders here
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    try:
        while time.time() < deadline and not list(out.glob("records/*.json")):
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    kept = {p.stem: p.stat().st_mtime_ns for p in out.glob("records/*.json")}
    assert kept and len(kept) < len(names), "kill after the first grade, before the last"
    for p in out.glob("records/*.json"):
        json.loads(p.read_text())  # whole, never half-written
    rerun = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert {n: batch.record_path(out, n).stat().st_mtime_ns for n in kept} == kept  # not graded again
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert sorted(r["student"] for r in rows) == names
    assert all(r["total"] == f"{MAX:g}" for r in rows)
    assert not list(out.rglob(".*.tmp"))  # temporary files of the killed run are gone


def test_dask_executor_on_a_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    cls = tmp_path / "class"
    complete(cls / "alice")
    (cls / "bob.zip").write_bytes(zip_bytes({"bob/neuron.py": (ROOT / "assignments" / "neuron.py").read_text()}))
    stubs(cls / "mallory")
    os.symlink(ROOT / "solutions" / "neuron.py", cls / "mallory" / "helper.py")  # pack() refuses it too
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        outcomes = grade(cls, tmp_path / "out", executor="dask", scheduler=cluster.scheduler_address)
    assert [(o.student, o.result.score) for o in outcomes] == [("alice", MAX), ("bob", 0), ("mallory", 0)]
    assert "symbolic link 'helper.py'" in outcomes[2].result.error
    assert json.loads((tmp_path / "out" / "students" / "alice" / "results.json").read_text())["score"] == MAX


def _grader_failure(job):
    """A hand-made reply: one check passed, one failed inside the grader (grader_error)."""
    from grader.results import CheckResult, ExerciseResult, SubmissionResult

    ex = ExerciseResult(
        ONLY[0],
        "ReLU",
        "neuron",
        [
            CheckResult("values", 1.0, 1.0, "passed", oracle="reference"),
            CheckResult("gradient", 0.0, 1.0, "grader_error", "torch failed to import", "torch"),
        ],
    )
    return {"student": job["student"], "seconds": 0.1, "result": SubmissionResult(job["student"], [ex]).to_json()}


def test_grader_failures_are_not_grades(tmp_path, monkeypatch, capsys):
    cls = tmp_path / "class"
    stubs(cls / "alice")
    stubs(cls / "bob")
    out = tmp_path / "out"
    real = batch._run_local

    def flaky(jobs, todo):  # alice meets a grader failure, bob is graded for real
        yield from real(jobs, [j for j in todo if j["student"] == "bob"])
        yield from ((job, _grader_failure(job)) for job in todo if job["student"] == "alice")

    monkeypatch.setattr(batch, "_run_local", flaky)
    cmd = [
        "grade",
        str(cls),
        "--out",
        str(out),
        "--only",
        ONLY[0],
        "--examples",
        str(EXAMPLES),
        "--jobs",
        "1",
        "--quiet",
    ]
    assert main(cmd) == 1
    err = capsys.readouterr().err
    assert "1 submission hit grader failures" in " ".join(err.split()) and "retries" in err
    assert batch.load_record(out, "alice") is None and batch.load_record(out, "bob") is not None
    assert not (out / "students" / "alice").exists()
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert rows["alice"][ONLY[0]] == "grader error" and rows["alice"]["total"] == "grader error"
    assert "grader error" in rows["alice"]["error"] and rows["bob"]["total"] == "0"
    book = {s["student"]: s for s in json.loads((out / "gradebook.json").read_text())["students"]}
    assert book["alice"]["grader_error"] and book["alice"]["total"] is None
    # the next run retries alice (only her), and a clean run exits 0
    bob = batch.record_path(out, "bob").stat().st_mtime_ns
    monkeypatch.setattr(batch, "_run_local", real)
    assert main(cmd) == 0
    assert batch.load_record(out, "alice") is not None and batch.record_path(out, "bob").stat().st_mtime_ns == bob
    assert list(csv.DictReader((out / "gradebook.csv").open()))[0]["total"] == "0"


def test_a_grader_error_is_not_a_zero_in_the_summary():
    from grader.commands.grade import stats_line
    from grader.reporters import gradebook
    from grader.results import SubmissionResult

    ok = batch.Outcome("alice", "", SubmissionResult("alice"), 1.0)
    broken = batch.Outcome("bob", "", SubmissionResult("bob", error="internal grader error: boom"), 0.0, internal=True)
    assert gradebook.distribution([ok, broken], MAX)[0][1] == 1  # alice's 0 only
    line = stats_line([ok, broken], MAX)
    assert "1 students" in line and "1 grader errors" in line and "0 not gradable" in line
    row = gradebook.rows([broken], EXERCISES)[0]
    assert row["total"] is None and row["scores"] == {ONLY[0]: None} and row["statuses"] == {ONLY[0]: "grader_error"}


def _reporting_class(root: Path, students: int, seen: Path) -> Path:
    """Complete submissions whose worker writes down its parent (the pool process) and the cores it may use."""
    seen.mkdir()
    for i in range(students):
        sub = complete(root / f"s{i}")
        with (sub / "neuron.py").open("a") as fh:
            fh.write(
                "\nimport json as _json, os as _os\n"
                f"with open({str(seen)!r} + f'/{{_os.getpid()}}', 'w') as _fh:\n"
                "    _json.dump([_os.getppid(), sorted(_os.sched_getaffinity(0))], _fh)\n"
            )
    return root


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning needs two cores")
def test_a_batch_on_every_core_gives_each_job_a_core_of_its_own(tmp_path):
    """A grade is a ping-pong between a pool process and its worker: with as many jobs as cores, each pair
    shares one core of its own (``batch._cores_for``); with fewer, nothing is pinned."""
    everything = os.sched_getaffinity(0)
    cores = sorted(everything)[:2]
    os.sched_setaffinity(0, cores)  # two cores whatever the machine: "every core" is then two jobs
    try:
        for jobs in (2, 1):
            seen = tmp_path / f"seen{jobs}"
            cls = _reporting_class(tmp_path / f"class{jobs}", 4, seen)
            outcomes = grade(cls, tmp_path / f"out{jobs}", jobs=jobs, isolation="process")
            assert [o.result.score for o in outcomes] == [MAX] * 4
            reports = [json.loads(p.read_text()) for p in seen.iterdir()]
            assert len(reports) >= 4  # every student's worker reported
            if jobs == 1:
                assert all(allowed == cores for _, allowed in reports), reports
            else:
                _assert_a_core_per_pool_process(reports, cores)
    finally:
        os.sched_setaffinity(0, everything)


_PINNED_THREADS = """
import json, multiprocessing, os, threading
import numpy  # its OpenBLAS may start helper threads here, before the pin
from threadpoolctl import threadpool_info
from grader.instructor import batch
def blas():
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
before = blas()
started, release = threading.Event(), threading.Event()
threading.Thread(target=lambda: (started.set(), release.wait()), daemon=True).start()
started.wait()
core = sorted(os.sched_getaffinity(0))[-1]
batch._pin([core], multiprocessing.Value("i", 0))
later = []
thread = threading.Thread(target=lambda: later.append(sorted(os.sched_getaffinity(0))))
thread.start()
thread.join()
tasks = {tid: sorted(os.sched_getaffinity(int(tid))) for tid in os.listdir("/proc/self/task")}
print(json.dumps({"core": core, "threads": tasks, "later": later[0], "blas": [before, blas()]}))
release.set()
"""

_two_cores = pytest.mark.skipif(
    not os.path.isdir("/proc/self/task") or len(os.sched_getaffinity(0)) < 2,
    reason="threads are listed in /proc, and a pin shows only where two cores are allowed",
)


@pytest.fixture(scope="module")
def pinned() -> dict:
    """What a process pinned by ``batch._pin`` after importing numpy shows: its threads' cores, and the threads of
    its BLAS pools before and after.  The thread-count variables are unset: numpy sizes its pool to every core."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", _PINNED_THREADS],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=True,
        env=env,
    )
    return json.loads(out.stdout)


@_two_cores
def test_a_pinned_pool_process_pins_every_thread_it_already_has(pinned):
    """An affinity belongs to one thread: a pool process pinned from its main thread alone left the threads
    started before (numpy's OpenBLAS helpers, at import) free to run on the other job's core."""
    seen = pinned
    assert len(seen["threads"]) >= 2, seen  # the main thread and the one started before the pin, at least
    assert all(allowed == [seen["core"]] for allowed in seen["threads"].values()), seen
    assert seen["later"] == [seen["core"]], seen  # a thread started after inherits the pin


@_two_cores
def test_a_pinned_pool_process_runs_its_blas_on_one_thread(pinned):
    """numpy sized OpenBLAS's pool to both cores at import; pinned to one, its helper thread only took turns with
    the grader and spun waiting for work (a batch at ``--jobs 2`` took 5% longer).  The pin sizes the pool to one."""
    before, after = pinned["blas"]
    assert before and all(n >= 2 for n in before), pinned  # the pool the pin must shrink
    assert after == [1] * len(before), pinned


def _assert_a_core_per_pool_process(reports: list[list], cores: list[int]) -> None:
    """``reports``: [pool process, cores allowed] of each worker."""
    by_pool: dict[int, set[int]] = {}
    for pool_pid, allowed in reports:
        assert len(allowed) == 1 and allowed[0] in cores, reports
        by_pool.setdefault(pool_pid, set()).update(allowed)
    assert all(len(c) == 1 for c in by_pool.values()), by_pool  # a pool process and its workers: one core
    taken = [c for cs in by_pool.values() for c in cs]
    assert len(taken) == len(set(taken)), by_pool  # and no two pool processes on the same one
