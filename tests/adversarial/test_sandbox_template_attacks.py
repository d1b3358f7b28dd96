"""A student whose sandboxed worker is forked from a template that imported torch (and Keras) (``--isolation
sandbox`` with the fork server on, as a batch grades several submissions per process: grader/isolation/
sandbox.py ``fork_worker``, zygote.py ``--isolate``) goes after what a fork shares with the next student's: the
template, the files and memory it left, the processes and IPC of the namespaces, the slot that holds the
submissions.  A forked worker must be exactly as isolated as one bubblewrap started, and nothing one student's
worker does may reach another's."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from grader import registry, stopping
from grader.isolation import sandbox
from grader.isolation.worker import forkserver, proctree
from grader.isolation.worker.client import StudentError, Worker
from grader.runner import grade
from tests.corpus import SOLUTIONS
from tests.forkkit import call, own_templates, submission
from tests.prockit import until

pytestmark = pytest.mark.skipif(
    not sandbox.bwrap_works() or os.geteuid() != 0,
    reason="workers are forked in the sandbox only where bubblewrap works and the grader is root",
)


def sandboxed(sub: Path) -> Worker:
    return Worker(sub, launcher=sandbox.launcher_for("sandbox"), wall_slack=3.0)


LOOK = """
import os, resource, socket

RLIMITS = ("AS", "NPROC", "CPU", "FSIZE", "NOFILE", "CORE")

def _link(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # the listing's own descriptor, closed by now
        return ""

def look():
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
    found = {}
    for path in ("/tmp", "/scratch", "/dev/shm"):
        try:
            found[path] = sorted(os.listdir(path))
        except OSError as exc:
            found[path] = type(exc).__name__
    tried = {}
    targets = ("/submission/planted.py", "/usr/planted", "/tmp/t", "/scratch/s", "/dev/shm/d")
    for path in targets + ("/proc/sys/kernel/hostname",):
        try:
            with open(path, "w") as fh:
                fh.write("x")
            tried[path] = "wrote"
        except OSError as exc:
            tried[path] = type(exc).__name__
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
        net = "connected"
    except OSError as exc:
        net = type(exc).__name__
    with socket.socket(socket.AF_UNIX) as abstract:
        try:
            abstract.connect("\\0deepgrade-planted")
            reached = "connected"
        except OSError as exc:
            reached = type(exc).__name__
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    shm = libc.shmget(0x5EED, 0, 0)  # a System V segment the last student may have left: -1 if none
    try:
        init_cwd = sorted(os.listdir("/proc/1/cwd"))  # process 1's folder: the template's, if it kept it
    except OSError as exc:
        init_cwd = type(exc).__name__
    traced = libc.ptrace(16, 1, None, None)  # PTRACE_ATTACH to process 1: -1 unless it may be traced
    try:
        open("/etc/shadow").read(1)
        shadow = "read"
    except OSError as exc:
        shadow = type(exc).__name__
    return {
        "pid": os.getpid(),
        "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "uid": list(os.getresuid()),
        "gid": list(os.getresgid()),
        "groups": os.getgroups(),
        "caps": [status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")],
        "no_new_privs": status["NoNewPrivs"].strip(),
        "rlimits": [resource.getrlimit(getattr(resource, "RLIMIT_" + r)) for r in RLIMITS],
        "found": found,
        "tried": tried,
        "net": net,
        "abstract": reached,
        "shadow": shadow,
        "shm": shm,
        "init_cwd": init_cwd,
        "traced": traced,
        "submission": sorted(os.listdir("/submission")),
        "cwd": os.getcwd(),
        "sockets": [fd for fd in os.listdir("/proc/self/fd") if _link(fd).startswith("socket:")],
        "shared": [m for m in open("/proc/self/maps").read().splitlines() if m.split()[1][1::2] == "ws"],
        "proc_sys_read_only": bool(os.statvfs("/proc/sys").f_flag & os.ST_RDONLY),
    }
"""

PLANT = """
import os, socket, subprocess, time

KEEP = []

def plant():
    for path in ("/tmp/planted", "/scratch/planted", "/dev/shm/planted", "/proc/1/cwd/planted"):
        try:
            with open(path, "w") as fh:
                fh.write("the answers")
        except OSError:
            pass
    server = socket.socket(socket.AF_UNIX)
    server.bind("\\0deepgrade-planted")
    server.listen(1)
    KEEP.append(server)
    import ctypes

    segment = ctypes.CDLL(None).shmget(0x5EED, 4096, 0o1000 | 0o666)  # IPC_CREAT: it outlives every process
    assert segment >= 0
    subprocess.Popen(["sleep", "8765.4"], start_new_session=True)
    if os.fork() == 0:  # a double fork away from the worker
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "8765.3"])  # a command line the grader's side can look for
        os._exit(0)
    return "planted"
"""


def _left(needle: bytes) -> list[str]:
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if needle in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(pid)
        except OSError:
            pass
    return out


def _seen(*needles: bytes) -> bool:
    """Whether a process with each of ``needles`` on its command line runs, within 10 s: a process that the
    student's code has just started may still be in ``execve``, where its command line reads empty (the parent
    returns from ``subprocess.Popen`` before the kernel has set it), or not yet started (a double fork's)."""
    return until(lambda: all(_left(n) for n in needles), 10.0)


def _gone(*needles: bytes) -> bool:
    """Whether no process with any of ``needles`` on its command line is left, within 5 s (the processes of a
    killed namespace end asynchronously)."""
    return until(lambda: not any(_left(n) for n in needles), 5.0, pause=0.1)


@pytest.fixture(scope="module")
def template():
    """Sandboxed workers are forked (the fork server is on) from templates this module's tests share (each start
    imports torch: about 2 s of CPU), beside the submissions' copies in its slots; none made before the module is
    reused, and none outlives it."""
    with own_templates():
        yield


def _slot() -> sandbox._Slot:
    """The slot of the gan workers (all parts' but numpy-only ones)."""
    (slot,) = [s for (_, _, packages), s in sandbox._SLOTS.items() if packages is None]
    return slot


def test_a_forked_worker_is_as_isolated_as_one_bubblewrap_starts(template, tmp_path):
    sub = submission(tmp_path, LOOK)
    looks = []
    for _ in range(2):
        with sandboxed(sub) as worker:
            worker.setup(["gan"])
            assert isinstance(worker.proc, forkserver.Adopted)
            looks.append(call(worker, "gan", "look"))
    limits = sandbox.DEFAULT_LIMITS
    for got in looks:
        assert got["pid"] == 2 and got["processes"] == [1, 2], got  # its own pid namespace: no template, no grader
        uid = got["uid"][0]
        assert uid >= sandbox.FIRST_UID and got["uid"] == [uid] * 3 and got["gid"] == [uid] * 3, got
        assert got["groups"] == [] and got["caps"] == ["0000000000000000"] * 5 and got["no_new_privs"] == "1", got
        assert got["rlimits"] == [
            (limits.address_space,) * 2,
            (limits.processes,) * 2,
            (limits.cpu_seconds,) * 2,
            (limits.file_size,) * 2,
            (limits.open_files,) * 2,
            (0, 0),
        ], got
        assert got["found"] == {"/tmp": [], "/scratch": [], "/dev/shm": []}, got  # fresh, though the last one wrote
        assert got["tried"]["/tmp/t"] == got["tried"]["/scratch/s"] == "wrote", got
        for path in ("/submission/planted.py", "/usr/planted", "/dev/shm/d", "/proc/sys/kernel/hostname"):
            assert got["tried"][path] in ("PermissionError", "OSError"), got
        assert got["net"] == "OSError" and got["shadow"] == "PermissionError", got
        assert got["submission"] == ["gan.py"] and got["cwd"] == sandbox.SCRATCH, got
        assert got["sockets"] == [], got  # not the template's: it would fork workers of the student's choosing
        assert got["shared"] == [], got  # no memory written by one fork of the template is read by the next
        assert got["proc_sys_read_only"], got  # as bubblewrap's --proc leaves it
        assert got["init_cwd"] == "PermissionError" and got["traced"] == -1, got  # process 1 is not the worker's
    assert looks[0]["uid"] != looks[1]["uid"]  # each worker its own uid (RLIMIT_NPROC counts per uid)


def test_nothing_one_student_leaves_reaches_the_next(template, tmp_path):
    planter = submission(tmp_path, PLANT, name="planter")
    looker = submission(tmp_path, LOOK, name="looker")
    with sandboxed(planter) as worker:
        worker.setup(["gan"])
        assert isinstance(worker.proc, forkserver.Adopted)
        assert call(worker, "gan", "plant") == "planted"
        assert _seen(b"8765.4", b"8765.3")  # both run: the daemon and the double fork's
    assert _gone(b"8765.4", b"8765.3")  # the namespace's processes are killed with its first
    with sandboxed(looker) as worker:
        worker.setup(["gan"])
        assert isinstance(worker.proc, forkserver.Adopted)
        got = call(worker, "gan", "look")
    assert got["found"] == {"/tmp": [], "/scratch": [], "/dev/shm": []}, got
    assert got["abstract"] in ("ConnectionRefusedError", "FileNotFoundError") and got["shm"] == -1, got
    assert got["submission"] == ["gan.py"] and got["processes"] == [1, 2], got
    assert got["init_cwd"] == "PermissionError", got  # nor through process 1's folder


def test_two_workers_of_one_submission_share_no_namespace(template, tmp_path):
    sub = submission(tmp_path, PLANT + LOOK.replace("import os, resource, socket", "import resource"))
    with sandboxed(sub) as planter, sandboxed(sub) as looker:
        for worker in (planter, looker):
            worker.setup(["gan"])
            assert isinstance(worker.proc, forkserver.Adopted)
        assert call(planter, "gan", "plant") == "planted"  # its socket listens while the other looks
        got = call(looker, "gan", "look")
    assert got["abstract"] in ("ConnectionRefusedError", "FileNotFoundError") and got["shm"] == -1, got
    assert got["found"] == {"/tmp": [], "/scratch": [], "/dev/shm": []} and got["processes"] == [1, 2], got


def test_a_worker_sees_its_own_submission_and_never_another_s(template, tmp_path):
    first = submission(tmp_path, LOOK, name="first")
    second = submission(tmp_path, LOOK + "\nSECOND = 2\n", name="second")
    (second / "notes.py").write_text("NOTES = 1\n")
    with sandboxed(first) as one:
        one.setup(["gan"])
        assert isinstance(one.proc, forkserver.Adopted)
        with sandboxed(second) as two:  # the first student's worker lives: this one is not forked beside it
            two.setup(["gan"])
            assert not isinstance(two.proc, forkserver.Adopted)
            assert call(two, "gan", "look")["submission"] == ["gan.py", "notes.py"]
        assert call(one, "gan", "look")["submission"] == ["gan.py"]
    with sandboxed(second) as two:  # now it is, and sees its own files alone
        two.setup(["gan"])
        assert isinstance(two.proc, forkserver.Adopted)
        assert call(two, "gan", "look")["submission"] == ["gan.py", "notes.py"]
    slot = _slot()
    assert os.listdir(slot.folder) in ([], [os.path.basename(c) for _, c in slot.workers])  # the first's copies went


def test_a_submission_edited_between_workers_is_seen_as_it_is_now(template, tmp_path):
    sub = submission(tmp_path, "def f():\n    return 1\n")
    for value in (1, 2):
        (sub / "gan.py").write_text(f"def f():\n    return {value}\n")
        with sandboxed(sub) as worker:
            worker.setup(["gan"])
            assert isinstance(worker.proc, forkserver.Adopted)
            assert call(worker, "gan", "f") == value


def test_forked_in_the_sandbox_or_started_by_it_the_grades_are_the_same(template, tmp_path, monkeypatch):
    sub = shutil.copytree(SOLUTIONS, tmp_path / "sub", ignore=shutil.ignore_patterns("__pycache__"))
    exercises = [registry.get(i) for i in ("gan.losses", "pytorch.net", "keras_model.model")]
    launcher = sandbox.launcher_for("sandbox")
    forked = grade(sub, exercises, launcher=launcher, examples=5)
    slot = _slot()
    assert slot.submission == sub.resolve()  # its torch workers were forked
    monkeypatch.setenv("DEEPGRADE_FORKSERVER", "0")
    started = grade(sub, exercises, launcher=launcher, examples=5)
    assert forked.score == started.score == sum(e.points for e in exercises)
    assert [(c.name, c.status, c.score) for e in forked.exercises for c in e.checks] == [
        (c.name, c.status, c.score) for e in started.exercises for c in e.checks
    ]


def test_a_numpy_only_part_s_forked_worker_has_numpy_alone(template, tmp_path):
    sub = submission(
        tmp_path,
        """
        import sys

        def tried():
            found = {}
            for name in ("torch", "scipy", "keras"):
                try:
                    __import__(name)
                    found[name] = "imported"
                except ImportError as exc:
                    found[name] = type(exc).__name__
            import os
            return found, sorted(m for m in ("torch", "keras") if m in sys.modules), os.getpid(), os.getuid()
        """,
        part="neuron",
    )
    worker = Worker(sub, launcher=sandbox.launcher_for("sandbox"), packages=("numpy",), wall_slack=3.0)
    with worker:
        worker.setup(["neuron"])
        assert isinstance(worker.proc, forkserver.Adopted)
        found, loaded, pid, uid = call(worker, "neuron", "tried")
    assert found == {"torch": "ModuleNotFoundError", "scipy": "ModuleNotFoundError", "keras": "ModuleNotFoundError"}
    assert loaded == [] and pid == 2 and uid >= sandbox.FIRST_UID


def test_a_forked_worker_that_signals_itself_dies_as_a_started_one_does(template, tmp_path):
    # it is not process 1 of its namespace (which ignores the signals it sends itself)
    sub = submission(tmp_path, "import os\n\ndef die(sig):\n    os.kill(os.getpid(), sig)\n    return 'alive'\n")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with sandboxed(sub) as worker:
            worker.setup(["gan"])
            assert isinstance(worker.proc, forkserver.Adopted)
            with pytest.raises(StudentError, match=f"exited with code {128 + sig}"):
                call(worker, "gan", "die", int(sig))


def _nest(root: Path, depth: int) -> Path:
    """``depth`` folders, one inside the next, below ``root`` (without recursion); the deepest."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)
    return root


def _unnest(root: Path) -> None:
    """Remove what :func:`_nest` made, deepest first (``shutil.rmtree`` recurses once per folder)."""
    fds = [os.open(root, os.O_RDONLY)]
    while "d" in os.listdir(fds[-1]):
        fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
    while len(fds) > 1:
        os.close(fds.pop())
        os.rmdir("d", dir_fd=fds[-1])
    os.close(fds[0])


def test_a_submission_nested_past_the_recursion_limit_is_copied_and_forked(template, tmp_path):
    sub = submission(tmp_path, "def f():\n    return 7\n")
    os.chmod(sub / "gan.py", 0o600)  # not world-readable: the bubblewrap path copies it too
    _nest(sub, 1200)
    try:
        assert sandbox.readable_submission(sub, reachable=False) != sub
        with sandboxed(sub) as worker:
            worker.setup(["gan"])
            assert isinstance(worker.proc, forkserver.Adopted)
            assert call(worker, "gan", "f") == 7
        slot = _slot()
        assert os.stat(slot.folder).st_mode & 0o077 == 0  # no one else on the host lists or enters the copies
    finally:
        _unnest(sub)


def test_the_grader_removes_a_tree_deeper_than_rmtree_can_go_and_follows_no_link(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept").write_text("not the grader's to remove")
    deep = tmp_path / "copy"
    deep.mkdir()
    (deep / "link").symlink_to(outside)
    _nest(deep, 1200)
    sandbox.remove_tree(str(deep))
    assert not deep.exists() and (outside / "kept").exists()


def test_a_template_that_died_is_replaced_and_costs_no_grade(template, tmp_path):
    # no worker can see or signal its template (test above), but the kernel's OOM killer or an operator can
    forkserver.close_all()  # the gan workers' template alone, started here
    sub = submission(tmp_path, "def f():\n    return 3\n")
    for attempt in range(2):
        with sandboxed(sub) as worker:
            worker.setup(["gan"])
            assert isinstance(worker.proc, forkserver.Adopted)
            assert call(worker, "gan", "f") == 3
        if attempt == 0:
            (server,) = [s for key, s in forkserver._SERVERS.items() if key[0] == "sandbox"]
            server.proc.kill()
            server.proc.wait()
    assert not forkserver._GAVE_UP
    assert [s for key, s in forkserver._SERVERS.items() if key[0] == "sandbox"] != [server]


FORK_BOMB = """
import os, time

def bomb():
    made = 0
    while made < 1000:  # RLIMIT_NPROC (256 for this uid) ends it first
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(8765.2)
            os._exit(0)
        made += 1
    return made
"""


EXEC_LOOP = """
import os

LOOP = ': exec-loop-8765.1; exec sh -c "$0" "$0"'  # a shell that execs itself for ever: its pid stays, and in
# each execve its command line and environment (the worker's marker) read empty for a moment


def escape():
    if os.fork() == 0:  # a double fork away from the worker, in a session of its own
        os.setsid()
        if os.fork() == 0:
            os.execvp("sh", ["sh", "-c", LOOP, LOOP])
        os._exit(0)
    return "escaping"
"""


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "started by bubblewrap"])
def test_an_orphan_that_execs_in_a_loop_dies_with_its_worker(template, tmp_path, monkeypatch, forked):
    """The looks for a worker's processes by their marker can miss one that is in ``execve`` (its environment reads
    empty then), and a double fork's orphan is no longer in the worker's tree: in the sandbox, the pid namespace
    ends it with the worker whatever the looks see."""
    if not forked:
        monkeypatch.setenv("DEEPGRADE_FORKSERVER", "0")
    sub = submission(tmp_path, EXEC_LOOP, name="looper")
    with sandboxed(sub) as worker:
        worker.setup(["gan"])
        assert isinstance(worker.proc, forkserver.Adopted) == forked
        assert call(worker, "gan", "escape") == "escaping"
        assert _seen(b"exec-loop-8765.1")
        loops = {p: st.start for p in map(int, _left(b"exec-loop-8765.1")) if (st := proctree.stat(p)) is not None}
        assert loops  # its pid stays the same through every execve: found by number and start time, not by name
    assert stopping.wait_gone(loops, 5.0), loops


def test_a_fork_bomb_in_one_forked_worker_costs_the_next_student_nothing(template, tmp_path):
    bomber = submission(tmp_path, FORK_BOMB, part="neuron", name="bomber")
    honest = submission(tmp_path, "def f():\n    return 5\n", part="neuron", name="honest")
    launcher = sandbox.launcher_for("sandbox")
    with Worker(bomber, launcher=launcher, packages=("numpy",), wall_slack=3.0) as worker:
        worker.setup(["neuron"])
        assert isinstance(worker.proc, forkserver.Adopted)
        made = call(worker, "neuron", "bomb")
        assert 0 < made < sandbox.DEFAULT_LIMITS.processes  # stopped by its own uid's limit, not the grader's
        bombs = stopping.descendants(roots=[worker.proc.pid])  # its namespace's: the worker and what it forked
        assert len(bombs) > made, (len(bombs), made)  # forks keep the worker's command line: found by the tree
    assert stopping.wait_gone(bombs, 5.0), len(bombs)  # the namespace's processes are killed with its first
    with Worker(honest, launcher=launcher, packages=("numpy",), wall_slack=3.0) as worker:
        worker.setup(["neuron"])  # another uid, a fresh namespace: the template still forks
        assert isinstance(worker.proc, forkserver.Adopted)
        assert call(worker, "neuron", "f") == 5
