"""The isolation levels of grader/isolation/sandbox.py: what the worker can and cannot do at each one."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from grader import registry
from grader.cli import main
from grader.isolation import sandbox
from grader.isolation.worker import wire
from grader.isolation.worker.client import Worker
from grader.runner import grade
from tests.corpus import ROOT, SOLUTIONS
from tests.prockit import until

needs_bwrap = pytest.mark.skipif(
    not sandbox.bwrap_works(),
    reason="bubblewrap is missing or cannot create namespaces here (apt-get install bubblewrap)",
)


def probe(student, paths):
    """Worker side: what this process may do."""
    import os
    import resource
    import socket

    out = {"uid": os.getuid(), "cwd": os.getcwd(), "env": sorted(os.environ)}
    paths = dict(paths, own=student("neuron").__file__)
    for name, path in paths.items():
        try:
            with open(path, "rb") as f:
                f.read(1)
            out[name] = "read"
        except OSError as exc:
            out[name] = type(exc).__name__
    try:
        with open("/usr/pwned", "w"):
            pass
        out["write_usr"] = "wrote"
    except OSError as exc:
        out["write_usr"] = type(exc).__name__
    with open("scratch.txt", "w") as f:
        out["write_cwd"] = f.write("ok")
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=3).close()
        out["net"] = "connected"
    except OSError as exc:
        out["net"] = type(exc).__name__
    out["rlimits"] = [resource.getrlimit(getattr(resource, r))[0] for r in ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_CPU")]
    return out


def _probe(isolation: str, sub: Path, monkeypatch) -> dict:
    monkeypatch.setenv("DEEPGRADE_SECRET_TOKEN", "hunter2")
    paths = {
        "shadow": "/etc/shadow",
        "solutions": str(SOLUTIONS / "neuron.py"),
        "checks": str(ROOT / "grader" / "exercises" / "neuron.py"),
    }
    with Worker(sub, launcher=sandbox.launcher_for(isolation)) as w:
        w.setup(["neuron"])
        return w.drive(probe, paths)


@needs_bwrap
def test_sandbox_holds_every_property(tmp_path, monkeypatch):
    sub = shutil.copytree(SOLUTIONS, tmp_path / "sub")
    got = _probe("sandbox", sub, monkeypatch)
    if os.geteuid() == 0:
        assert got["uid"] >= sandbox.FIRST_UID and got["shadow"] == "PermissionError", got
    assert got["shadow"] != "read" and got["solutions"] != "read" and got["checks"] != "read", got
    assert got["own"] == "read" and got["cwd"] == sandbox.SCRATCH and got["write_cwd"] == 2, got
    assert got["write_usr"] in ("PermissionError", "OSError"), got
    assert got["net"] == "OSError", got  # ENETUNREACH: no interface is up
    assert "DEEPGRADE_SECRET_TOKEN" not in got["env"]
    limits = sandbox.DEFAULT_LIMITS
    assert got["rlimits"] == [limits.address_space, limits.processes, limits.cpu_seconds]


def test_limits_fallback_keeps_what_it_can_and_says_what_it_loses(tmp_path, monkeypatch, capsys):
    sub = shutil.copytree(SOLUTIONS, tmp_path / "sub")
    os.chmod(sub / "neuron.py", 0o600)  # an upload with a private mode is still gradable
    got = _probe("limits", sub, monkeypatch)
    err = capsys.readouterr().err
    assert "warning: isolation 'limits'" in err and "LOSES" in err and "solutions" in err
    held = {name: ok for name, ok, _ in sandbox.properties("limits")}
    assert not held["cannot read solutions/hidden checks/other submissions"]
    assert got["own"] == "read" and got["write_cwd"] == 2 and "DEEPGRADE_SECRET_TOKEN" not in got["env"], got
    assert got["rlimits"][0] == sandbox.DEFAULT_LIMITS.address_space
    if held["unprivileged user"]:
        assert got["uid"] != 0 and got["shadow"] == "PermissionError", got
    if held["no network"]:
        assert got["net"] == "OSError", got


def test_describe_says_what_holds_and_what_is_lost():
    assert "[ ] no network" in sandbox.describe("process")
    assert "LOST" in sandbox.describe("limits")
    assert sandbox.available_isolation() in ("sandbox", "limits")
    assert sandbox.describe("auto").startswith(f"isolation {sandbox.available_isolation()} (auto)")
    if sandbox.bwrap_works():
        assert "[ ]" not in sandbox.describe("sandbox")
    with pytest.raises(ValueError, match="unknown isolation"):
        sandbox.launcher_for("chroot")


def test_sandbox_without_bubblewrap_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="needs bubblewrap"):
        sandbox.launcher_for("sandbox")
    assert main(["check", "neuron.relu", "--submission", "solutions", "--isolation", "sandbox"]) == 2
    assert "needs bubblewrap" in capsys.readouterr().err


def spawn_daemon(student):
    import subprocess

    subprocess.Popen(["sleep", "876.5"], start_new_session=True)
    return "spawned"


@pytest.mark.parametrize(
    "isolation",
    [
        pytest.param("sandbox", marks=needs_bwrap),
        pytest.param(
            "limits", marks=pytest.mark.skipif(not sandbox.unshare_pid_works(), reason="unshare -p does not work here")
        ),
    ],
)
def test_no_process_left_behind(isolation, tmp_path):
    sub = shutil.copytree(SOLUTIONS, tmp_path / "sub")
    with Worker(sub, launcher=sandbox.launcher_for(isolation)) as w:
        assert w.drive(spawn_daemon) == "spawned"
        # the daemon may still be in execve, its command line empty: wait until it reads
        assert until(_daemons, 10.0), "the daemon never ran: its absence below would prove nothing"
    assert until(lambda: not _daemons(), 5.0, pause=0.1)  # SIGKILL of a namespace is asynchronous


def _daemons() -> list[str]:
    return [p for p in filter(str.isdigit, os.listdir("/proc")) if b"876.5" in _cmdline(p)]


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@needs_bwrap
def test_check_command_grades_in_the_sandbox_and_noise_is_no_failure(tmp_path, capsys):
    sub = shutil.copytree(SOLUTIONS, tmp_path / "sub")
    with open(sub / "neuron.py", "a") as f:
        f.write(
            "\nimport sys, warnings\nwarnings.warn('deprecated!')\nprint('debug output', file=sys.stderr)\n"
            "print('more output')\n"
        )
    assert (
        main(["check", "neuron.relu", "--submission", str(sub), "--isolation", "sandbox", "--json", "--examples", "5"])
        == 0
    )
    out = capsys.readouterr()
    assert '"passed"' in out.out and "--isolation process" not in out.err


def test_submission_time_budget_marks_the_rest_timeout():
    exercises = [registry.get("neuron.sigmoid"), registry.get("neuron.relu")]
    result = grade(SOLUTIONS, exercises, examples=3, submission_timeout=1e-6)
    statuses = {c.status for e in result.exercises for c in e.checks}
    assert statuses == {"timeout"}
    assert "time budget" in result.exercises[1].checks[0].message
    assert main(["check", "--isolation", "chroot"]) == 2  # an unknown level: one line, exit 2


# --------------------------------------------------------------------------- what a numpy-only worker may import
def test_package_entries_are_the_distributions_top_level_files():
    entries = sandbox.package_entries(sys.executable, ("numpy",))
    tops = {top for _, top in entries}
    assert "numpy" in tops and any(t.startswith("numpy-") and t.endswith(".dist-info") for t in tops), tops
    assert not tops & {"torch", "scipy", "sklearn", "__pycache__", ".."}, tops
    assert all(os.path.lexists(os.path.join(site, top)) for site, top in entries)
    with pytest.raises(ValueError, match="'no-such-dist-xyz' is not installed"):
        sandbox.package_entries(sys.executable, ("numpy", "no-such-dist-xyz"))
    with pytest.raises(ValueError, match="tuple of distribution names"):
        sandbox.package_entries(sys.executable, "numpy")


def test_package_folders_finds_every_python_s_packages(tmp_path):
    for folder in (
        "lib/python3/dist-packages",
        "local/lib/python3.11/dist-packages",
        "lib/python3.11/site-packages/inner/site-packages",
        "share/other/lib/python3.12/site-packages",
    ):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "lib" / "python3.12").mkdir()
    (tmp_path / "lib" / "python3.12" / "site-packages").symlink_to(tmp_path / "elsewhere")
    found = set(sandbox.package_folders((str(tmp_path),)))
    assert found == {
        str(tmp_path / f)
        for f in (
            "lib/python3/dist-packages",
            "local/lib/python3.11/dist-packages",
            "lib/python3.11/site-packages",
            "share/other/lib/python3.12/site-packages",
            "elsewhere",
        )
    }, found


def test_the_view_of_limits_and_process_holds_only_the_allowed_packages():
    view = sandbox.package_view(sys.executable, ("numpy",))
    assert sandbox.package_view(sys.executable, ("numpy",)) == view  # one per process, removed at exit
    assert {n.split("-")[0].split(".")[0] for n in os.listdir(view)} == {"numpy", *wire.NEEDS}  # and the wire's
    assert all(os.path.islink(os.path.join(view, n)) for n in os.listdir(view))
    argv, env = sandbox.process_launcher([sys.executable, "-u", "child.py", "SUB"], Path("SUB"), ("numpy",))
    assert argv == [sys.executable, "-S", "-u", "child.py", "SUB"] and env["PYTHONPATH"] == view
    assert sandbox.process_launcher(["py", "x"], Path("SUB"), None) == (["py", "x"], dict(os.environ))
    assert sandbox.launcher_for("process") is sandbox.process_launcher


# --------------------------------------------------------------------------- readable_submission
def test_readable_submission_copies_no_link_fifo_or_bytecode(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the grader's secret")
    secret.chmod(0o644)
    sub = tmp_path / "sub"
    (sub / "pkg" / "__pycache__").mkdir(parents=True)
    (sub / "neuron.py").write_text("x = 1\n")
    (sub / "pkg" / "util.py").write_text("y = 2\n")
    (sub / "pkg" / "__pycache__" / "util.cpython-311.pyc").write_bytes(b"bytecode")
    (sub / "link.py").symlink_to(secret)
    (sub / "linked_dir").symlink_to(tmp_path)
    os.link(secret, sub / "hard.py")
    os.mkfifo(sub / "fifo.py")  # copying it would block for ever
    for path in (sub / "neuron.py", sub / "pkg" / "util.py"):
        path.chmod(0o644)
    copy = sandbox.readable_submission(sub, reachable=False)  # forced by the links alone
    assert copy != sub
    got = sorted(str(p.relative_to(copy)) for p in copy.rglob("*"))
    assert got == ["neuron.py", "pkg", "pkg/util.py"], got
    assert (copy / "neuron.py").read_text() == "x = 1\n"
    assert all(p.stat().st_mode & 0o777 in (0o644, 0o755) for p in copy.rglob("*"))
    clean = tmp_path / "clean"
    (clean / "pkg").mkdir(parents=True)
    (clean / "neuron.py").write_text("x = 1\n")
    for path in (clean, clean / "pkg"):
        path.chmod(0o755)
    (clean / "neuron.py").chmod(0o644)
    assert sandbox.readable_submission(clean, reachable=False) == clean  # nothing to fix: no copy


def test_check_at_the_process_level_says_whose_code_runs_as_whom(tmp_path, capsys):
    sub = shutil.copytree(SOLUTIONS, tmp_path / "sub")
    assert main(["check", "neuron.relu", "--submission", str(sub), "--examples", "2", "--json"]) == 0
    err = capsys.readouterr().err.splitlines()
    warning = [line for line in err if "--isolation process" in line]
    assert len(warning) == 1 and "as you" in warning[0] and "network" in warning[0], err
    assert "--isolation sandbox" in warning[0]


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="workers get uids of their own as root"
)
def test_a_worker_uid_that_a_live_process_has_is_passed_over(monkeypatch):
    """Each grader takes worker uids in turn from a start of its own; another grader's live worker may hold the
    next one (its start was another): that uid is skipped, so RLIMIT_NPROC and the files of a uid stay one
    worker's."""
    import itertools
    import subprocess

    start = 1234
    monkeypatch.setattr(sandbox, "_uids", itertools.count(start))
    nxt = sandbox.FIRST_UID + (os.getpid() * 7919 + start) % sandbox.UID_RANGE
    other = subprocess.Popen(["setpriv", f"--reuid={nxt}", f"--regid={nxt}", "--clear-groups", "sleep", "60"])
    try:
        deadline = time.monotonic() + 10
        while os.stat(f"/proc/{other.pid}").st_uid != nxt and time.monotonic() < deadline:  # setpriv has run
            time.sleep(0.02)
        assert os.stat(f"/proc/{other.pid}").st_uid == nxt
        got = sandbox._worker_uid()
        assert got == sandbox.FIRST_UID + (os.getpid() * 7919 + start + 1) % sandbox.UID_RANGE != nxt
    finally:
        other.kill()
        other.wait()
    monkeypatch.setattr(sandbox, "_uids", itertools.count(start))
    assert sandbox._worker_uid() == nxt  # free again
