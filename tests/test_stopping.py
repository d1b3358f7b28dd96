"""Stopping is clean (issue 8, guarantee 12): SIGINT, SIGTERM and SIGHUP to ``check``, ``grade`` or ``watch``
end every worker and pool process within seconds, keep every finished grade, and exit 130 / 143 / 129."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader import stopping
from grader.isolation import sandbox
from grader.isolation.worker import forkserver, proctree
from grader.isolation.worker.proctree import MARKER
from tests.prockit import until

ROOT = Path(__file__).resolve().parent.parent
STOP_WITHIN = 5.0
ONLY = "train.split"  # quick and torch-free: the honest student is graded in seconds even on a busy machine


def slow_copy(dest: Path, function: str = "stratified_split") -> Path:
    """The reference, with ``function`` sleeping 60 s first (far past the moment of the stop)."""
    shutil.copytree(ROOT / "solutions", dest, ignore=shutil.ignore_patterns("__pycache__"))
    path = dest / f"{'neuron' if function == 'sigmoid_forward' else 'train'}.py"
    src = path.read_text()
    doc_end = src.index('"""', src.index('"""', src.index(f"def {function}(")) + 3) + 4  # after the docstring
    path.write_text(src[:doc_end] + "    import time; time.sleep(60)\n" + src[doc_end:])
    return dest


def _default_signals() -> None:
    """The command starts with the signals it is sent handled as a terminal's would be: under ``nohup`` or as a
    shell's background job (``cmd &``) the test runner inherits SIGHUP or SIGINT ignored, and the command
    rightly keeps ignoring what it was started ignoring (see the last test here)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def launch(argv: list[str], env: dict[str, str], *, stdout: int) -> subprocess.Popen:
    """``argv`` in the checkout, in a session of its own (so that its group can be signalled), stderr piped."""
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        text=True,
        stdout=stdout,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_default_signals,
    )


@pytest.fixture
def run(tmp_path):
    """``run(*args)``: start ``python -m grader *args`` in its own session, its temporary files and a tag in
    its environment both inside ``tmp_path``, so that every process it leaves can be found."""
    tag = f"deepgrade-stop-test-{os.getpid()}-{tmp_path.name}"
    env = dict(
        os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path / "tmp"), DEEPGRADE_STOP_TEST=tag, PYTHONFAULTHANDLER="1"
    )
    (tmp_path / "tmp").mkdir()
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        proc = launch([sys.executable, "-m", "grader", *args], env, stdout=subprocess.DEVNULL)
        procs.append(proc)
        return proc

    start.tag = tag
    yield start
    for proc in procs:  # a failed test must not leave a grader running
        left = leftovers(tmp_path, tag)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        stopping.kill(left)
        proc.wait()


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone
        return b""


def worker_up(tmp_path: Path, tag: str) -> bool:
    """A worker of the test's command is running (tagged, or named by its submission's path): started as
    ``child.py``, or forked from a template (grader/isolation/worker/forkserver.py) and stamped with its marker."""
    return any(b"child.py" in cmdline(p) or _stamped(p) for p in leftovers(tmp_path, tag))


def _stamped(pid: int) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    marker = f"{MARKER}=".encode()
    return any(v.startswith(marker) and v != marker + forkserver.PLACEHOLDER.encode() for v in environ)


def leftovers(tmp_path: Path, tag: str) -> dict[int, int]:
    """Live processes that belong to a test run: the tag in their environment or ``tmp_path`` on their
    command line (a sandboxed worker gets a clean environment, but bwrap names the submission)."""
    found = {}
    for pid, start in stopping.descendants(roots=[1]).items():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            environ = b""
        if tag.encode() in environ or str(tmp_path).encode() in cmdline(pid):
            found[pid] = start
    return found


def assert_stopped(
    proc: subprocess.Popen, sig: int, tmp_path: Path, tag: str, *, group: bool = False, may_stay: tuple[str, ...] = ()
) -> str:
    """Send ``sig`` (to the whole process group, as a terminal's Ctrl-C or hang-up does, if ``group``); the
    command must exit within seconds with 128 + sig, one line on stderr, and no process of it left (SIGKILL: the grader
    dies at once, and its pool processes and workers must follow it), nor any temporary folder but those named
    ``may_stay``."""
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    (os.killpg if group else os.kill)(proc.pid, sig)
    try:
        _, err = proc.communicate(timeout=STOP_WITHIN)
    except subprocess.TimeoutExpired:  # where is it stuck? faulthandler prints every thread's stack
        os.kill(proc.pid, signal.SIGABRT)
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"still running {STOP_WITHIN:g} s after {signal.Signals(sig).name}:\n{err[-6000:]}")
    if sig == signal.SIGKILL:  # no word from the grader: what it started must go by itself
        assert proc.returncode == -sig, err
    else:
        assert proc.returncode == 128 + sig, err
        assert f"deepgrade: stopped by {signal.Signals(sig).name}" in err
    assert "Traceback" not in err, err
    assert stopping.wait_gone(leftovers(tmp_path, tag), STOP_WITHIN), [
        cmdline(p)[:200] for p in leftovers(tmp_path, tag)
    ]
    left = [p.name for p in (tmp_path / "tmp").glob("deepgrade-*") if not p.name.startswith(may_stay or ("\0",))]
    assert not left, f"a temporary folder was left: {left}"
    return err


def wait_for(predicate, timeout: float, what: str) -> None:
    if not until(predicate, timeout, pause=0.05):
        pytest.fail(f"no {what} within {timeout:g} s")


def record(out: Path, student: str) -> Path | None:
    for path in (out / "records" / f"{student}.json", out / student / "grade.json"):
        if path.exists():
            return path
    return None


# --------------------------------------------------------------------------- grade
@pytest.mark.parametrize(
    "sig, group, jobs",
    [(signal.SIGTERM, False, 2), (signal.SIGINT, True, 2), (signal.SIGHUP, True, 1), (signal.SIGKILL, False, 2)],
    ids=["SIGTERM", "SIGINT-to-the-group", "SIGHUP-to-the-group-one-job", "SIGKILL"],
)
def test_grade_stops_at_once_and_keeps_what_is_graded(tmp_path, run, sig, group, jobs):
    cls, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(ROOT / "solutions", cls / "honest", ignore=shutil.ignore_patterns("__pycache__"))
    slow = [f"slow{i}" for i in range(3)]  # each takes a check's timeout at least: one is left in progress
    for name in slow:
        slow_copy(cls / name)
    proc = run("grade", str(cls), "--out", str(out), "--jobs", str(jobs), "--quiet", "--only", ONLY, "--examples", "3")
    wait_for(lambda: record(out, "honest") is not None or proc.poll() is not None, 120, "honest grade")
    time.sleep(0.3)
    err = assert_stopped(proc, sig, tmp_path, run.tag, group=group)
    kept = [name for name in ["honest", *slow] if record(out, name) is not None]
    if sig != signal.SIGKILL:
        assert f"{len(kept)} graded submission{'s' * (len(kept) != 1)} kept" in err, err
    assert len(kept) <= len(slow), "the stop came before the end: someone is not graded"
    for name in kept:  # every kept grade is whole; none is a stopped student's 0
        doc = json.loads(record(out, name).read_text())
        checks = [c for e in doc["result"]["exercises"] for c in e["checks"]]
        assert doc["student"] == name and checks, doc
        assert all(c["status"] == ("passed" if name == "honest" else "timeout") for c in checks), checks


def test_a_pool_process_killed_in_the_middle_of_a_job_leaves_no_temporary_folder(tmp_path, run):
    """The class behind a stop's grace running out: a pool process that dies by SIGKILL (the kernel's OOM
    killer, an administrator) mid-job runs no clean-up of its own.  Its folders are in the main process's."""
    cls, out = tmp_path / "class", tmp_path / "out"
    slow_copy(cls / "slow")
    proc = run("grade", str(cls), "--out", str(out), "--jobs", "2", "--quiet", "--only", ONLY, "--examples", "3")
    wait_for(lambda: worker_up(tmp_path, run.tag) or proc.poll() is not None, 120, "worker")
    time.sleep(0.5)  # the job's copy and the worker's scratch exist now
    tmp = tmp_path / "tmp"
    assert [p.name for p in tmp.glob("deepgrade-batch-*/deepgrade-*")], "the job's folders are not in the pool's"
    grader_pid = proc.pid
    pool = [
        pid
        for pid in stopping.descendants(roots=[grader_pid])
        if b"multiprocessing" in cmdline(pid)
        and any(b"child.py" in cmdline(c) for c in stopping.descendants(roots=[pid]))
    ]
    assert pool, "no pool process grading the job"
    os.kill(pool[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    assert stopping.wait_gone(leftovers(tmp_path, run.tag), STOP_WITHIN)
    assert not list(tmp.glob("deepgrade-*")), "a temporary folder was left"


@pytest.mark.parametrize("main_alive", [True, False], ids=["main-alive", "main-killed"])
def test_a_stopped_pool_process_removes_a_half_removed_job_once_the_main_process_is_gone(
    tmp_path, monkeypatch, main_alive
):
    """The race behind a SIGKILLed grade leaving its pool's folder: the stop can come while a job's copy is being
    removed (grade_one's ``rmtree``), so the copy is half there when the pool process leaves.  Once the main process is
    dead, nobody else will remove it; while it lives, it removes the folder itself after the pool is gone."""
    from grader.instructor import batch
    from grader.isolation import sandbox

    scratch = tmp_path / "deepgrade-batch-x"
    half = scratch / "deepgrade-job" / "copy"
    half.mkdir(parents=True)
    (half / "neuron.py").write_text("")
    monkeypatch.setattr(sandbox, "_remove_temps", lambda: None)  # this process's own sandbox folders stay
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(batch, "_parent", os.getppid() if main_alive else -1)
    batch._leave_scratch()
    assert scratch.exists() == main_alive


# --------------------------------------------------------------------------- check
@pytest.mark.parametrize(
    "sig, isolation", [(signal.SIGTERM, "process"), (signal.SIGINT, "process"), (signal.SIGHUP, "sandbox")]
)
def test_check_stops_at_once_and_leaves_no_worker(tmp_path, run, sig, isolation):
    if isolation == "sandbox" and shutil.which("bwrap") is None:
        pytest.skip("no bubblewrap")
    slow = slow_copy(tmp_path / "slow")
    proc = run("check", ONLY, "--submission", str(slow), "--examples", "3", "--isolation", isolation)
    wait_for(lambda: worker_up(tmp_path, run.tag) or proc.poll() is not None, 60, "worker")
    time.sleep(1.0)  # asleep in the student's function
    assert_stopped(proc, sig, tmp_path, run.tag, group=sig == signal.SIGINT)


# --------------------------------------------------------------------------- watch
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_watch_stops_while_grading(tmp_path, run, sig):
    """watch forks its workers from a template (grader/isolation/worker/forkserver.py): a worker forked there is
    adopted by the grader, and dies with it even when the grader is given no word (SIGKILL, the OOM killer)."""
    sub = tmp_path / "work"
    shutil.copytree(ROOT / "assignments", sub, ignore=shutil.ignore_patterns("__pycache__"))
    proc = run("watch", "--submission", str(sub), "--examples", "3")
    text = (slow_copy(tmp_path / "slow", "sigmoid_forward") / "neuron.py").read_text()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not worker_up(tmp_path, run.tag):
        (sub / "neuron.py").write_text(text)  # saved again until the watcher, started or not yet, reacts
        text += "\n"
        for _ in range(30):
            if worker_up(tmp_path, run.tag) or proc.poll() is not None:
                break
            time.sleep(0.1)
    wait_for(lambda: worker_up(tmp_path, run.tag) or proc.poll() is not None, 1, "worker")
    time.sleep(1.0)
    # a process killed without a word removes nothing: the folder of links to the installed packages that its
    # workers import from (sandbox.package_view) stays; it holds nothing of the student's or the instructor's
    assert_stopped(proc, sig, tmp_path, run.tag, may_stay=("deepgrade-view-",) if sig == signal.SIGKILL else ())


# --------------------------------------------------------------------------- the pieces
def test_stopped_carries_the_shells_exit_status():
    assert [stopping.Stopped(s).status for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)] == [130, 143, 129]
    assert str(stopping.Stopped(signal.SIGTERM, "3 kept")) == "stopped by SIGTERM; 3 kept"
    assert isinstance(stopping.Stopped(signal.SIGHUP), KeyboardInterrupt)  # what `except Exception` lets through


def test_handlers_respect_ignored_signals_go_quiet_once_acknowledged_and_are_restored():
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    term, intr = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        with stopping.stop_on_signals():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            with pytest.raises(stopping.Stopped) as info:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(2)
            assert info.value.signum == signal.SIGTERM and stopping.received == signal.SIGTERM
            stopping.acknowledge()
            os.kill(os.getpid(), signal.SIGINT)  # a second signal does not cut the clean-up short
            time.sleep(0.2)
        assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == (term, intr)
    finally:
        signal.signal(signal.SIGHUP, before)


class _Swallower:
    def __del__(self):  # an exception raised here is "ignored": printed and lost
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_stop_that_lands_in_a_finalizer_is_raised_again_outside_it():
    started = time.monotonic()
    with stopping.stop_on_signals(), pytest.raises(stopping.Stopped):
        _Swallower()  # collected at once: the handler runs inside __del__
        time.sleep(5)
    assert time.monotonic() - started < 2


def test_descendants_and_kill_reach_grandchildren_that_left_the_process_group():
    proc = subprocess.Popen(["sh", "-c", "setsid sleep 60 & sleep 60"])
    try:
        wait_for(lambda: len(stopping.descendants(roots=[proc.pid])) == 2, 5, "two grandchildren")
        tree = {pid: s for pid, s in stopping.descendants().items() if pid == proc.pid}
        tree.update(stopping.descendants(roots=[proc.pid]))
        assert len(tree) == 3
        assert not set(stopping.descendants(spare=[proc.pid])) & set(tree)  # a spared subtree is left alone
        stopping.kill(tree)
        assert stopping.wait_gone(tree, 5)
    finally:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- a worker's grader dies
GRADER = """
import sys
from pathlib import Path

from grader.isolation import sandbox
from grader.isolation.worker import forkserver
from grader.isolation.worker.client import Worker
from tests.forkkit import call

forked = sys.argv[3] == "forked"
forkserver.enable(forked)
worker = Worker(Path(sys.argv[1]), launcher=sandbox.launcher_for(sys.argv[2]))
worker.setup(["gan"])
assert isinstance(worker.proc, forkserver.Adopted) == forked, type(worker.proc)
print(worker.proc.pid, flush=True)
call(worker, "gan", "spin")
"""


@pytest.mark.parametrize(
    "isolation, how",
    [
        ("process", "forked"),
        ("sandbox", "forked"),
        ("process", "started"),
        ("limits", "started"),
        ("limits", "unprivileged"),
        ("sandbox", "started"),
    ],
)
def test_a_worker_dies_with_a_grader_killed_without_a_word(tmp_path, isolation, how):
    """A grader killed by SIGKILL (the OOM killer) takes its worker with it, mid-loop, whether the worker was forked
    from a template (zygote.py ``_adopted``: in the sandbox it is process 1 of its pid namespace, which goes with
    it) or started: by the grader itself (child.py's parent-death signal), through ``unshare`` (``setpriv
    --pdeathsig``, then ``--kill-child``; ``unprivileged``: a grader that is not root, whose ``unshare -r`` enters a
    user namespace, which keeps the signal) or through bubblewrap (``--die-with-parent``)."""
    assert left_after_killing_the_grader(tmp_path, "def spin():\n    while True:\n        pass\n", isolation, how) == []


def left_after_killing_the_grader(
    tmp_path: Path, source: str, isolation: str, how: str, within: float = STOP_WITHIN
) -> list[bytes]:
    """Grade ``spin()`` of a ``gan.py`` holding ``source`` (it must spin) in a grader of its own, its worker
    ``forked`` or ``started`` at ``isolation`` (or started by a grader that runs as an ``unprivileged`` user);
    once the worker has spun 0.2 s of CPU, SIGKILL the grader: the command lines of the worker's processes still
    alive ``within`` seconds later (skips where the level or the way cannot be had)."""
    if isolation == "sandbox" and not sandbox.bwrap_works():
        pytest.skip("no bubblewrap")
    if isolation == "sandbox" and how == "forked" and os.geteuid() != 0:
        pytest.skip("workers are forked in the sandbox only where the grader is root")
    # another user's grader needs folders it can reach: pytest's are root's alone
    folder = Path(tempfile.mkdtemp(prefix="deepgrade-unprivileged-")) if how == "unprivileged" else tmp_path
    try:
        python = sys.executable
        if how == "unprivileged":
            os.chmod(folder, 0o755)
            python = unprivileged_python(folder)
        sub = folder / "sub"
        sub.mkdir(mode=0o755)
        (sub / "gan.py").write_text(source)
        env = dict(os.environ, PYTHONPATH=str(ROOT), DEEPGRADE_FORKSERVER="1" if how == "forked" else "0")
        argv = [python, "-c", GRADER, str(sub), isolation, how]
        if how == "unprivileged":
            own = folder / "home"  # the grader's home and temporary folder: what it leaves is removed below
            own.mkdir()
            os.chown(own, NOBODY, NOBODY)
            env.update(HOME=str(own), TMPDIR=str(own))
            argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]
        return _left_after_killing(launch(argv, env, stdout=subprocess.PIPE), within)
    finally:
        if folder != tmp_path:
            shutil.rmtree(folder, ignore_errors=True)


#: The unprivileged user a grader runs as in ``left_after_killing_the_grader(..., "unprivileged")``.
NOBODY = 65534


def unprivileged_python(folder: Path) -> str:
    """A Python that :data:`NOBODY` can run with this one's packages, in ``folder`` (which that user can reach): a
    venv of the system's interpreter of this version whose site-packages links to this venv's entries.  Skips
    where there is none: not root, no ``setpriv``, no such interpreter, a checkout or venv that user cannot read,
    or no user namespaces for that user (what ``unshare -r`` at ``limits`` needs)."""
    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    if os.geteuid() != 0 or shutil.which("setpriv") is None or not os.access(system, os.X_OK):
        pytest.skip("needs root, setpriv and the system's Python of this version, to run a grader as another user")
    site = sandbox.runtime(sys.executable).site
    if not all(sandbox._world_reachable(p) for p in (str(ROOT), *site)):
        pytest.skip("this checkout or its venv is not readable by other users")
    venv = folder / "venv"
    subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    (theirs,) = venv.glob("lib/python*/site-packages")
    for entry in (e for s in site for e in Path(s).iterdir()):
        if not (theirs / entry.name).exists():
            (theirs / entry.name).symlink_to(entry)
    as_nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    probe = [*as_nobody, str(venv / "bin" / "python"), "-c", "import msgpack, numpy, grader"]
    if subprocess.run(probe, cwd=folder, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60).returncode:
        pytest.skip("the unprivileged user cannot import this venv's packages")
    if subprocess.run([*as_nobody, "unshare", "-r", "true"], capture_output=True, timeout=60).returncode:
        pytest.skip("no user namespaces for an unprivileged user here")
    return str(venv / "bin" / "python")


def _left_after_killing(proc: subprocess.Popen, within: float) -> list[bytes]:
    """What :func:`left_after_killing_the_grader` returns, for the grader ``proc`` (which prints its worker's pid)."""
    tree: dict[int, int] = {}
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), line + (proc.stderr.read() if proc.stderr else "")
        worker = int(line)
        spun = time.monotonic() + 30
        while proctree.cpu_seconds(worker) < 0.2 and time.monotonic() < spun:  # in the student's loop
            time.sleep(0.05)
        assert proctree.cpu_seconds(worker) >= 0.2, "the worker never ran the student's loop"
        found = proctree.stat(worker)
        assert found is not None, "the worker is gone"
        tree[worker] = found.start
        tree.update(stopping.descendants(roots=[worker]))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        stopping.wait_gone(tree, within)
        alive = {p: proctree.stat(p) for p in tree}
        return [cmdline(p)[:200] for p, st in alive.items() if st and not st.ended and st.start == tree[p]]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        stopping.kill(tree)  # what a failure left spinning
