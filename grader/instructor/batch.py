"""Batch grading: a class of submissions, in parallel, resumable, crash-safe.

Each submission becomes a *job* of plain data; :func:`grade_one` turns a job into a plain-data outcome (the
same function runs in a local pool process or on a Dask worker).  Student code runs only in
worker subprocesses (``grader.runner``); the checks themselves (hypothesis, the reference) run grader-side.

The output folder: ``OUT/gradebook.{csv,json}``; what a student receives in ``OUT/students/<name>/``
(feedback.md, feedback.html, results.json), made only from :meth:`SubmissionResult.redacted`; the
instructor's full record in ``OUT/records/<name>.json``, written last, atomically, with a key (content hash
of the submission + hash of the grader and curriculum + options): a re-run grades only what is missing or
changed.  A result with grader failures gets no record, so the next run retries it.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import grader
from grader import i18n, reference, registry, stopping
from grader import secret as course_secret
from grader.instructor.submissions import Submission, SubmissionError, content_hash, materialize, pack, safe_name
from grader.isolation import sandbox
from grader.isolation.worker import forkserver
from grader.isolation.worker.client import Launcher
from grader.results import Outcome, SubmissionResult

STUDENTS, RECORDS = "students", "records"
#: The settings and times of the last grade into OUT (what the class page shows), and the class page.
RUN, INDEX = "run.json", "index.html"
#: What a student receives, in ``OUT/students/<name>/``.
STUDENT_FILES = ("feedback.md", "feedback.html", "results.json")
EXECUTORS: tuple[str, ...] = ("processes", "dask")
#: The checks keep per-process state (hypothesis, the size scale of hidden checks): one grade at a time
#: per process, whatever the caller's threads (a Dask worker with several threads, for instance).
_ONE_AT_A_TIME = threading.Lock()


# --------------------------------------------------------------------------- isolation
def isolation_levels() -> list[str]:
    """The ``--isolation`` levels, the default first (``auto``: the best this machine offers)."""
    return ["auto", *(level for level in sandbox.LEVELS if level != "auto")]


def launcher_for(level: str) -> Launcher:
    """The worker launcher for an isolation level; ``ValueError`` for one this machine cannot give."""
    return sandbox.launcher_for(level)


# --------------------------------------------------------------------------- keys
def usable_cores() -> list[int]:
    """The cores this process may use (empty where the system does not say: not Linux)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return []


def default_jobs() -> int:
    """As many jobs as this process may use cores."""
    return max(1, len(usable_cores()) or os.cpu_count() or 1)


def curriculum_hash() -> str:
    """Hash of the grader's files and the reference solutions: a new grader or curriculum re-grades."""
    h = hashlib.sha256(grader.__version__.encode())
    roots = [Path(grader.__file__).resolve().parent, reference.SOLUTIONS]
    for root in roots:
        if not root.is_dir():
            continue
        for p in sorted(root.rglob("*")):  # code and data (known answers)
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc":
                h.update(p.relative_to(root.parent).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def grade_key(content: str, curriculum: str, options: dict[str, Any]) -> str:
    doc = json.dumps({"content": content, "curriculum": curriculum, "options": options}, sort_keys=True)
    return hashlib.sha256(doc.encode()).hexdigest()


# --------------------------------------------------------------------------- one job
def grade_one(job: dict[str, Any]) -> dict[str, Any]:
    """Grade one submission described by plain data; return plain data.  Never raises for student faults.

    ``job``: student, source (a path string, or zip bytes from another machine), exercises (ids),
    examples, isolation, forbidden_penalty, secret (the course secret: hidden checks' seeds).
    Returns: student, result (``SubmissionResult.to_json()``), seconds.
    """
    from grader.runner import grade

    started = time.perf_counter()
    i18n.set_language(job.get("lang") or i18n.DEFAULT)
    source = job["source"]
    result = SubmissionResult(job["student"])
    work: Path | None = None
    try:
        work = Path(tempfile.mkdtemp(prefix="deepgrade-"))
        # An unprivileged worker (isolation "limits") may enter the folder but not list it, so it can open its
        # own copy (world-readable, under a secret name: no second copy per worker) and cannot find anyone else's.
        os.chmod(work, 0o711)
        folder = materialize(Path(source) if isinstance(source, str) else source, work / secrets.token_hex(16))
        exercises = [registry.get(i) for i in job["exercises"]]
        if job.get("forkserver"):  # this process grades one submission after another: fork their torch workers
            forkserver.enable()
        with _ONE_AT_A_TIME:
            result = grade(
                folder,
                exercises,
                launcher=launcher_for(job.get("isolation") or "auto"),
                hidden=True,
                examples=int(job.get("examples", 25)),
                forbidden_penalty=float(job.get("forbidden_penalty", 0.0)),
                submission_timeout=job.get("submission_timeout"),
                secret=job.get("secret"),
            )
    except SubmissionError as exc:
        result.error = str(exc)
    finally:
        if work is not None:
            sandbox.remove_tree(str(work))
    return {"student": job["student"], "result": result.to_json(), "seconds": round(time.perf_counter() - started, 3)}


# --------------------------------------------------------------------------- outcomes and storage
def atomic_write(path: Path, data: str | bytes) -> None:
    """Write a file so that a reader (or a crash) sees either the old content or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _name(student: str) -> str:
    if not student or safe_name(student) != student:
        raise ValueError(f"unsafe student name {student!r}")
    return student


def student_dir(out: Path, student: str) -> Path:
    """``OUT/students/<name>/``: what the student receives."""
    return out / STUDENTS / _name(student)


def record_path(out: Path, student: str) -> Path:
    """``OUT/records/<name>.json``: the instructor's full record (hidden details included), used to resume."""
    return out / RECORDS / f"{_name(student)}.json"


def load_record(out: Path, student: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(record_path(out, student).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("student") == student else None


def outcome_from_record(doc: dict[str, Any]) -> Outcome:
    result = SubmissionResult.from_json(doc["result"], doc["student"])
    result.seconds = float(doc.get("seconds", 0.0))
    return Outcome(doc["student"], doc.get("source", ""), result, result.seconds, doc.get("key", ""), cached=True)


def save(out: Path, outcome: Outcome, *, publish_hidden: bool) -> None:
    """Write what the student receives (from the redacted result only), then the record that marks the grade
    as done (all atomically)."""
    from grader.reporters import feedback, gradescope

    shown = outcome.result.redacted(publish_hidden)  # the one redaction: reporters print what they are given
    folder = student_dir(out, outcome.student)
    atomic_write(folder / "results.json", json.dumps(gradescope.document(shown), indent=2, ensure_ascii=False))
    atomic_write(folder / "feedback.md", feedback.markdown(shown, outcome.student))
    atomic_write(folder / "feedback.html", feedback.html(shown, outcome.student))
    atomic_write(record_path(out, outcome.student), json.dumps(outcome.record(), indent=1, ensure_ascii=False))


def run_settings(
    *,
    isolation: str,
    executor: str,
    publish_hidden: bool,
    secret: str,
    examples: int,
    forbidden_penalty: float,
    submission_timeout: float | None,
    exercises: list[str],
    students: list[str],
) -> dict[str, Any]:
    """What ``OUT/run.json`` says of a grade: its settings (``secret``: the secret's fingerprint) and the class
    in order; :func:`run_batch` adds the counts, the grader errors (student -> outcome record: they have no
    record in ``records/``) and, once it is done, ``finished`` and ``wall_seconds``."""
    return {
        "deepgrade": grader.__version__,
        "isolation": isolation,
        "isolation_level": sandbox.resolve(isolation),
        "executor": executor,
        "hidden": {"run": True, "published": publish_hidden, "secret": secret},
        "examples": examples,
        "forbidden_penalty": forbidden_penalty,
        "submission_timeout": submission_timeout,
        "exercises": exercises,
        "students": students,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "finished": None,  # a stopped grade leaves it so: the page says so
        "wall_seconds": None,
        "graded": 0,
        "up_to_date": 0,
        "grader_errors": {},
    }


def write_run(out: Path, run: dict[str, Any]) -> None:
    atomic_write(out / RUN, json.dumps(run, indent=1, ensure_ascii=False))


def load_run(out: Path) -> dict[str, Any] | None:
    """``OUT/run.json``, or None where there is none (a gradebook of an older deepgrade) or it is unreadable."""
    try:
        doc = json.loads((out / RUN).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def write_gradebook(out: Path, outcomes: list[Outcome], exercises: list[registry.Exercise]) -> None:
    from grader.reporters import gradebook

    atomic_write(out / "gradebook.csv", gradebook.csv_text(outcomes, exercises))
    atomic_write(out / "gradebook.json", gradebook.json_text(outcomes, exercises))


# --------------------------------------------------------------------------- executors
#: What an executor yields: each job with its reply (or the exception that took it).
Replies = Generator[tuple[dict[str, Any], Any], None, None]
#: How long stopped pool processes get to kill their workers and remove their temporary folders; then SIGKILL.
STOP_GRACE = 3.0
_busy = False  # in a pool process: a job is being graded
_parent = 0  # in a pool process: the main process's pid


def _pool_init(parent: int, scratch: str, cores: tuple[list[int], Any] | None = None) -> None:
    """Each pool process: the main process decides when to stop (a Ctrl-C reaches the whole process group, so
    SIGINT and SIGHUP do nothing here); SIGTERM ends the job in progress; the main process's death, even by
    SIGKILL, sends SIGTERM.  The process starts with the stop signals held (``_run_local``).  Its temporary
    folders (the job's copy, the sandbox's scratch and views) all go into ``scratch``, which the main process
    removes once the pool is gone, however a pool process ended.  With ``cores`` (the list, and a shared
    counter), the process takes the next core for itself and its workers (see :func:`_cores_for`)."""
    global _parent
    _parent = parent
    tempfile.tempdir = scratch
    if cores is not None:
        _pin(*cores)
    signal.signal(signal.SIGINT, stopping._ignore)
    signal.signal(signal.SIGHUP, stopping._ignore)
    stopping.arm([signal.SIGTERM], before_raise=_pool_stopping)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        pass
    if _orphaned():  # the main process died before prctl
        os.kill(os.getpid(), signal.SIGTERM)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stopping.SIGNALS)


def _pool_stopping(signum: int) -> None:
    """SIGTERM in a pool process: kill its workers; between jobs exit now, during one unwind it first.
    (A signal handler may interrupt the worker client anywhere, even holding a lock: only /proc and kill.)"""
    stopping.kill(stopping.descendants())
    if not _busy:
        _leave_scratch()
        os._exit(128 + signum)


def _leave_scratch() -> None:
    """A stopped pool process, about to end without ``atexit``: remove what the sandbox made in this process
    (its scratch folders, its package view).  If the main process has died (after a SIGKILL nobody else would
    remove anything), remove the whole of the pool's scratch folder: the batch is over, every pool process is
    stopping, and a job's copy may be half removed (the stop can come in the middle of its ``rmtree``).  While the
    main process lives, it removes the folder itself once the pool is gone."""
    sandbox._remove_temps()
    if _orphaned() and tempfile.tempdir is not None:
        shutil.rmtree(tempfile.tempdir, ignore_errors=True)


def _orphaned() -> bool:
    """In a pool process: whether the main process has died (the pool process was re-parented)."""
    return os.getppid() != _parent


def _grade_in_pool(job: dict[str, Any]) -> dict[str, Any]:
    """:func:`grade_one` in a pool process; a stop ends the process once the job has unwound (its worker
    killed, its temporary folder removed): the parent is stopping and wants no answer."""
    global _busy
    _busy = True
    try:
        return grade_one(job)
    except KeyboardInterrupt:
        stopping.acknowledge()
        stopping.stop_workers()
        _leave_scratch()
        os._exit(128 + signal.SIGTERM)
    finally:
        _busy = False


def _tracker_ignoring_hangups() -> None:
    """Start multiprocessing's resource tracker (it removes the pool's semaphores) with SIGHUP ignored, as it
    ignores SIGINT and SIGTERM itself: a terminal's hang-up reaches the whole process group."""
    from multiprocessing import resource_tracker

    if threading.current_thread() is not threading.main_thread():
        return
    with stopping.signals_blocked():  # a SIGHUP meanwhile waits for the grader's own handler
        previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # SIG_IGN survives exec
        try:
            resource_tracker.ensure_running()
        finally:
            signal.signal(signal.SIGHUP, previous if previous is not None else signal.SIG_DFL)


def _cores_for(jobs: int) -> list[int]:
    """The cores to pin a pool's processes to, one each: every core this process may use when the batch asks
    for as many jobs as there are (the default), else none.  A grade is a ping-pong between a pool process and
    its worker, thousands of round trips; a pair that shares one core hands over without waking another core
    and runs cache-warm (``benchmarks/bench_batch.py``: 15% less time per student), and pairs no longer take
    turns on each other's cores.  With fewer jobs than cores nothing is pinned: one job's worker may import
    torch on a free core while its grader works (``runner``'s preload), and a batch sharing a bigger machine
    with others must not crowd onto its first cores."""
    allowed = usable_cores()
    return allowed if jobs >= 2 and jobs == len(allowed) else []


def _pin(cores: list[int], taken: Any) -> None:
    """Pin this process (every thread it has, and so every thread and worker it starts) to the next free core of
    ``cores``, and size its thread pools to that one core.  Every thread: an affinity is a thread's own, and
    numpy's OpenBLAS starts its helper threads at import, before this runs."""
    with taken.get_lock():
        index = taken.value
        taken.value += 1
    core = {cores[index % len(cores)]}
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:  # no /proc: this thread only
        threads = [0]
    for tid in threads:
        with contextlib.suppress(OSError):  # a thread gone meanwhile, a core taken away (a cgroup's cpuset)
            os.sched_setaffinity(tid, core)
    _one_thread_pools()


def _one_thread_pools() -> None:
    """Have the BLAS and OpenMP libraries already loaded here use one thread.  numpy sized OpenBLAS's pool to the
    cores it saw at import, before the pin: on one core its helper thread only takes turns with the grader and
    spins while it waits for work.  That cost a batch at ``--jobs 2`` 5% of its time (``benchmarks/bench_batch.py
    --ceiling``; ``docs/benchmarks.md``).  Libraries loaded later (torch's OpenMP, a worker's numpy) see the one
    core themselves."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # called, not entered: the limit holds for the life of the process


def _local(jobs: int, scratch: str) -> cf.ProcessPoolExecutor:
    """Processes: the checks run grader-side (hypothesis, the reference: most of the CPU), so threads would
    share one GIL, and the checks' state is per process.  Each process pays the grader's start-up once.  One
    job gets a process too: a stop can end a process at once, a thread only when it next looks."""
    _tracker_ignoring_hangups()
    # spawn: the pool never inherits the grader's threads (progress bar, worker pipes)
    context = multiprocessing.get_context("spawn")
    cores = _cores_for(jobs)
    return cf.ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_pool_init,
        initargs=(os.getpid(), scratch, (cores, context.Value("i", 0)) if cores else None),
    )


def _stop_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel the jobs not started, SIGTERM its processes (each kills its workers and
    unwinds), after :data:`STOP_GRACE` SIGKILL whatever of their process trees is left, and reap them."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pids = {p.pid for p in procs if p.pid is not None}
    # the trees are taken while the pool processes live: once one dies, its children belong to init
    tree = {pid: start for pid, start in stopping.descendants().items() if pid in pids}
    tree.update(stopping.descendants(roots=pids))
    pool.shutdown(wait=False, cancel_futures=True)
    stopping.kill({pid: s for pid, s in tree.items() if pid in pids}, signal.SIGTERM)
    tree.update(stopping.descendants(roots=pids))  # a worker started meanwhile
    stopping.wait_gone({pid: s for pid, s in tree.items() if pid in pids}, STOP_GRACE)
    stopping.kill(tree, signal.SIGKILL)
    for p in procs:
        p.join(timeout=1.0)


def _run_local(jobs: int, todo: list[dict[str, Any]]) -> Replies:
    # The pool's temporary folders live in one folder of the main process: a pool process killed in the middle
    # of a job (a stop's grace run out, a crash) cannot leave one behind.  Others may pass through, not list.
    scratch = tempfile.mkdtemp(prefix="deepgrade-batch-")
    os.chmod(scratch, 0o711)
    try:
        yield from _run_pool(jobs, todo, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_pool(jobs: int, todo: list[dict[str, Any]], scratch: str) -> Replies:
    pool = _local(jobs, scratch)
    try:
        with stopping.signals_blocked():  # no pool process half-started when a stop comes
            futures = {pool.submit(_grade_in_pool, job): job for job in todo}
        for fut in cf.as_completed(futures):
            try:
                yield futures[fut], fut.result()
            except Exception as exc:  # noqa: BLE001 - a crashed pool process: report, go on
                yield futures[fut], exc
    except BaseException:  # a stop, or the consumer closed this generator: end the pool now, not at exit
        stopping.acknowledge()
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def _run_dask(scheduler: str, todo: list[dict[str, Any]], submissions: dict[str, Submission]) -> Replies:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError("--executor dask needs the dask extra: pip install 'deepgrade[dask]'") from None
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        futures = {}
        for job in todo:
            # the submission travels as zip bytes: a Dask worker need not see this machine's disk
            try:
                remote = dict(job, source=pack(submissions[job["student"]]))
            except SubmissionError as exc:  # refused here, like materialize() would there
                yield (
                    job,
                    {
                        "student": job["student"],
                        "seconds": 0.0,
                        "result": SubmissionResult(job["student"], error=str(exc)).to_json(),
                    },
                )
                continue
            key = f"deepgrade-{job['student']}-{job['key'][:12]}"
            futures[client.submit(grade_one, remote, pure=False, key=key)] = job
        for fut in as_completed(list(futures)):
            try:
                yield futures[fut], fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker: report, go on
                yield futures[fut], exc


# --------------------------------------------------------------------------- the batch
def run_batch(
    submissions: list[Submission],
    out: Path,
    exercises: list[registry.Exercise],
    *,
    examples: int = 25,
    jobs: int | None = None,
    executor: str = "processes",
    scheduler: str | None = None,
    isolation: str = "",
    force: bool = False,
    publish_hidden: bool = False,
    forbidden_penalty: float = 0.0,
    submission_timeout: float | None = None,
    secret: bytes | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_result: Callable[[Outcome], None] | None = None,
    class_page: bool = True,
) -> list[Outcome]:
    """Grade ``submissions`` into ``out``; returns one outcome per submission, in the given order.
    ``secret`` seeds the hidden checks (default: :func:`grader.secret.load`); it travels in each job.
    ``class_page``: write ``OUT/index.html`` at the end (the Gradescope autograder, one student, does not)."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}")
    if executor == "dask" and not scheduler:
        raise ValueError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    isolation = isolation or isolation_levels()[0]
    launcher_for(isolation)  # a level this machine cannot give is an error before anything runs
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    curriculum = curriculum_hash()
    secret = course_secret.load() if secret is None else secret
    options = {
        "exercises": [e.id for e in exercises],
        "examples": examples,
        "publish_hidden": publish_hidden,
        "forbidden_penalty": forbidden_penalty,
        "submission_timeout": submission_timeout,
        "secret": course_secret.fingerprint(secret),
    }  # another secret, other hidden inputs: re-grade
    if i18n.language() != i18n.DEFAULT:  # feedback in another language: re-grade (English keeps its keys)
        options["lang"] = i18n.language()
    done: dict[str, Outcome] = {}
    todo: list[dict[str, Any]] = []
    for stale in [*out.glob(".*.tmp"), *out.glob(f"{RECORDS}/.*.tmp"), *out.glob(f"{STUDENTS}/*/.*.tmp")]:
        # left by a killed run
        stale.unlink(missing_ok=True)
    for sub in submissions:
        key = grade_key(content_hash(sub), curriculum, options)
        record = None if force else load_record(out, sub.student)
        if record is not None and record.get("key") == key:
            done[sub.student] = outcome_from_record(record)
        else:
            # absolute, not resolved: a submission that is a link must stay one, to be refused
            todo.append(
                {
                    "student": sub.student,
                    "source": str(sub.path.absolute()),
                    "key": key,
                    "exercises": options["exercises"],
                    "examples": examples,
                    "isolation": isolation,
                    "forbidden_penalty": forbidden_penalty,
                    "submission_timeout": submission_timeout,
                    "secret": secret,
                    "lang": i18n.language(),  # the messages are written grader-side, in the job's process
                }
            )
    if on_plan:
        on_plan(len(submissions), len(done))
    order = [s.student for s in submissions]
    grader_errors: dict[str, Any] = {}  # student -> the outcome's record (not in records/: retried next run)
    run = run_settings(
        isolation=isolation,
        executor=executor,
        publish_hidden=publish_hidden,
        secret=course_secret.fingerprint(secret),
        examples=examples,
        forbidden_penalty=forbidden_penalty,
        submission_timeout=submission_timeout,
        exercises=[e.id for e in exercises],
        students=order,
    )
    run.update(graded=len(todo), up_to_date=len(done), grader_errors=grader_errors)
    write_run(out, run)

    def finished() -> list[Outcome]:
        return [done[s] for s in order if s in done]

    if sandbox.resolve(isolation) in ("process", "sandbox") and len(todo) > (jobs or default_jobs()):
        for job in todo:  # each process grades several: its workers are forked from one that imported torch
            job["forkserver"] = True
    if todo:
        by_name = {s.student: s for s in submissions}
        stream: Replies = (
            _run_dask(scheduler or "", todo, by_name)
            if executor == "dask"
            else _run_local(max(1, min(jobs or default_jobs(), len(todo))), todo)
        )
        with contextlib.closing(stream):  # a stop here ends the executor now, not at exit
            for job, reply in stream:
                if isinstance(reply, dict):
                    result = SubmissionResult.from_json(reply["result"], job["student"])
                    result.seconds = float(reply.get("seconds", 0.0))
                    outcome = Outcome(
                        job["student"],
                        job["source"],
                        result,
                        result.seconds,
                        job["key"],
                        internal=bool(result.grader_failures),
                    )
                    if not outcome.internal:  # a grader failure is not a grade: no record, retried next run
                        save(out, outcome, publish_hidden=publish_hidden)
                else:
                    result = SubmissionResult(
                        job["student"], error=f"internal grader error: {type(reply).__name__}: {reply}"
                    )
                    outcome = Outcome(job["student"], job["source"], result, 0.0, job["key"], internal=True)
                done[job["student"]] = outcome
                if outcome.internal:
                    grader_errors[outcome.student] = outcome.record()
                write_gradebook(out, finished(), exercises)
                if on_result:
                    on_result(outcome)
    write_gradebook(out, finished(), exercises)
    run.update(finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"), wall_seconds=round(time.perf_counter() - started, 3))
    write_run(out, run)
    if class_page:
        from grader.instructor import report

        report.write(out, finished(), exercises, run)
    return finished()
