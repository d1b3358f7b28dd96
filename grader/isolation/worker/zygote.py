"""The template a worker is forked from (at ``--isolation process``, and as root in the sandbox): an interpreter
that has imported numpy and torch (and Keras, where the grade needs it: ``forkserver.modules``) once, so that a
worker of a torch part starts in milliseconds instead of seconds.  (``zygote.py --init COMMAND...`` is something
else: process 1 of a ``limits`` worker's pid namespace, :func:`run_as_init`.)

The grader starts it as ``python [-S] -u zygote.py GRADER_PID MARKER MODULE...`` with the environment a worker would
get, its stdin a Unix socket (see ``forkserver.py``).  It imports the ``MODULE``\\ s it can (no submission is on
``sys.path``: no student file ever runs here), then serves one request at a time: a JSON line naming the
submission, the worker's marker token and working directory, with the worker's stdin, stdout and stderr as
three file descriptors (``SCM_RIGHTS``).  For each it forks twice: the first child forks the worker and exits
at once, so the worker is re-parented to the grader (a child subreaper), which waits for it, kills it and reads
its CPU time exactly as it does a worker it started itself.  The worker sets up its standard streams, its own
session, the marker and the directory, then runs ``child.main`` as ``python child.py SUBMISSION`` would.

Nothing a worker does reaches the template or another worker: each is a copy-on-write fork taken before any
student code ran.  This file is self-contained (stdlib only; ``child.py`` is loaded by path).

**In the sandbox** (``--isolate``, see ``grader.isolation.sandbox.fork_worker``) the template runs as root inside
a bubblewrap root of its own (no network, read-only binds, no submission but an empty slot), and each worker is
made what a worker started by bubblewrap is before it runs: the middle process enters new pid, mount, IPC,
network and UTS namespaces; its child, process 1 of the new pid namespace (everything in it dies with it, and it
sees no other process), mounts its own ``/proc`` (with bubblewrap's read-only covers), a fresh tmpfs on ``/tmp``
and its scratch folder, binds its own copy of the submission over ``/submission``, lowers its rlimits, drops
every capability (bounding set included) and its groups, takes its own unprivileged uid, sets ``no_new_privs``
and checks that all of it holds (:func:`_isolate`); then it forks the worker and reaps (:func:`_init`).  A
template whose probe worker cannot do all of that exits before it imports anything, and the grader starts its
workers with bubblewrap as before.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import signal
import socket
import sys
import traceback
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 4, 24, 38
_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
_CLONE_NEWPID, _CLONE_NEWNET = 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
#: What bubblewrap's ``--proc`` binds read-only over itself (its ``cover_proc_dirs``).
_PROC_COVERS = ("sys", "sysrq-trigger", "irq", "bus")
#: The template is started with ``DEEPGRADE_WORKER=`` this (as long as a worker's token): each worker writes its
#: own token over it (:func:`_stamp`).
PLACEHOLDER = "-" * 16
_REQUEST_LIMIT = 16 << 20
#: The grader's pid (the template's first argument): the process that adopts each worker.
_GRADER = 0


def _die_with(parent: int) -> None:
    """Exit when the grader does (the kernel's parent-death signal, and a check it was not already gone; in the
    sandbox, ``0``: the parent is bubblewrap, which dies with the grader)."""
    try:
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if parent and os.getppid() != parent:
        os._exit(0)


def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _ok(result: int, what: str) -> None:
    if result != 0:
        import ctypes

        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    import ctypes

    encode = lambda s: None if s is None else s.encode()  # noqa: E731
    _ok(_libc().mount(encode(source), target.encode(), encode(fstype), ctypes.c_ulong(flags), encode(data)), target)


def _unshare() -> None:
    """In the middle process: the namespaces of the next worker (it will be process 1 of the new pid namespace)."""
    flags = _CLONE_NEWPID | _CLONE_NEWNS | _CLONE_NEWIPC | _CLONE_NEWNET | _CLONE_NEWUTS
    _ok(_libc().unshare(flags), "unshare")


def _clear_capabilities() -> None:
    """``capset`` with every set empty (version 3: two 32-bit words per set)."""
    import ctypes

    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    _ok(_libc().capset(header, data), "capset")


def _status() -> dict[str, str]:
    with open("/proc/self/status") as fh:
        return {k: v.strip() for k, _, v in (line.partition(":") for line in fh)}


def _isolate(spec: dict[str, Any]) -> None:
    """In the worker, as root in its own namespaces: the sandbox a worker started by bubblewrap has (see the
    module docstring).  Raises unless every part of it holds."""
    import resource

    libc = _libc()
    uid = int(spec["uid"])
    if uid <= 0 or os.getpid() != 1:
        raise ValueError("a worker needs its own pid namespace and an unprivileged uid")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing mounted here reaches the template
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    for cover in _PROC_COVERS:  # read-only, as bubblewrap's --proc leaves them
        path = f"/proc/{cover}"
        if os.path.exists(path):
            _mount(path, path, None, _MS_BIND | _MS_REC)
            _mount(None, path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    for path, size in spec["tmpfs"]:
        _mount("tmpfs", str(path), "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={int(size)},mode=1777")
    copy, inside = str(spec["copy"]), str(spec["submission"])
    _mount(copy, inside, None, _MS_BIND | _MS_REC)
    _mount(None, inside, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    os.chdir("/")  # off the template's own scratch folder, which these mounts cover but a cwd would keep open
    for name, value in spec["rlimits"]:
        resource.setrlimit(getattr(resource, str(name)), (int(value), int(value)))
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        last = int(fh.read())
    for cap in range(last + 1):
        _ok(libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0), "dropping the bounding set")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to another uid: the permitted and effective capabilities are cleared
    _clear_capabilities()  # and the inheritable ones (bubblewrap gave the template's to its inheritable set)
    _ok(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _ok(libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")  # its own /proc files, as after an exec
    status = _status()
    held = (
        os.getresuid() == (uid, uid, uid)
        and os.getresgid() == (uid, uid, uid)
        and not os.getgroups()
        and all(int(status[k], 16) == 0 for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"))
        and status["NoNewPrivs"] == "1"
    )
    if not held:
        raise PermissionError("the worker's sandbox did not hold")


def _init() -> None:
    """As process 1 of the worker's pid namespace, isolated already: fork the worker (which returns from here),
    then reap every orphan of the namespace until the worker ends, and exit with its status (128 + the signal that
    killed it), as bubblewrap's own process 1 does.  The worker is then an ordinary process: the signals it sends
    itself are delivered, and its orphans do not pile up as zombies."""
    worker = os.fork()
    if worker == 0:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # no signal its namespace may send it ends it
    _ok(_libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")  # nor may the worker trace it or open its /proc
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # the worker's pipes are the worker's alone: their ends close when it dies
        os.dup2(devnull, fd)
    os.closerange(3, 65536)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        if pid == worker:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code)


def _load_child() -> Any:
    spec = importlib.util.spec_from_file_location("_deepgrade_child", os.path.join(_HERE, "child.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _environment_block() -> tuple[int, bytes]:
    """Where this process's initial environment lies in its memory, and its bytes: what ``/proc/PID/environ``
    shows (``env_start`` and ``env_end``, fields 50 and 51 of ``/proc/self/stat``)."""
    with open("/proc/self/stat", "rb") as fh:
        fields = fh.read().rsplit(b")", 1)[1].split()
    start, end = int(fields[47]), int(fields[48])
    with open("/proc/self/mem", "rb", buffering=0) as mem:
        mem.seek(start)
        return start, mem.read(end - start)


def _placeholder_at(marker: str) -> int:
    """The address of the marker's placeholder in the environment block (ValueError where there is none)."""
    start, block = _environment_block()
    needle = f"{marker}={PLACEHOLDER}".encode()
    at = (b"\0" + block).find(b"\0" + needle + b"\0")
    if at < 0:
        raise ValueError("no marker placeholder in the environment")
    return start + at + len(marker) + 1


def _stamp(marker: str, token: str) -> None:
    """Write the worker's token over the placeholder in place: ``/proc/PID/environ`` of the worker and of every
    process it forks then carries ``DEEPGRADE_WORKER=<token>``, as a worker started by ``exec`` does, so the
    grader finds and kills them even once they have left the worker's process tree (``proctree.marked``)."""
    if len(token) != len(PLACEHOLDER):
        raise ValueError("a token of another length")
    with open("/proc/self/mem", "r+b", buffering=0) as mem:
        mem.seek(_placeholder_at(marker))
        mem.write(token.encode())


def _probe(marker: str) -> None:
    """Exit (the grader then starts its workers itself) unless a fork of this process can stamp its marker."""
    pid = os.fork()
    if pid == 0:
        try:
            _stamp(marker, "0" * len(PLACEHOLDER))
            os._exit(0)
        finally:
            os._exit(1)
    if os.waitpid(pid, 0)[1] != 0:
        sys.exit(0)


def _adopted(adoption: int, grader: int, *, in_own_pids: bool) -> None:
    """Die with the grader, once it has adopted this process: the template tells (``adoption`` says a byte) when
    it has reaped the middle process, and so this one is the grader's child (the grader is a child subreaper).
    Before that the parent-death signal would come from the middle's exit; after it, a grader killed without a
    word (SIGKILL, the OOM killer) takes this process, and in the sandbox its pid namespace, with it.  A template
    gone before saying so (the grader died) ends this process here.  In a pid namespace of its own the parent's
    pid reads 0: a grader that died in the moment between adopting and the signal set leaves a worker whose
    requests pipe has closed, and which exits at its first read."""
    said = os.read(adoption, 1)
    os.close(adoption)
    if not said:
        os._exit(1)
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if not in_own_pids and os.getppid() != grader:
        os._exit(1)


def _become_worker(child: Any, request: dict[str, Any], fds: list[int], adoption: int) -> None:
    """In the forked worker: its streams, session, marker (and in the sandbox, its namespaces' mounts, limits and
    uid), its death with the grader (:func:`_adopted`) and directory, then the worker's own main loop."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        adoption = os.dup2(adoption, 3)
        os.closerange(4, 65536)  # the template's socket and the descriptors as received
        if "sandbox" in request:
            _isolate(request["sandbox"])  # a change of uid clears the parent-death signal: it is set after
        _adopted(adoption, _GRADER, in_own_pids="sandbox" in request)
        if "sandbox" in request:
            _init()  # returns in the worker, process 2 of the namespace
        _stamp(str(request["marker"]), str(request["token"]))  # what /proc shows, for forks too
        os.environ.clear()  # the environment as the grader has it now (the template's may differ in a volatile one)
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})
        os.environ[str(request["marker"])] = str(request["token"])  # inherited by every program it runs
        os.chdir(str(request["cwd"]))
        sys.argv = [os.path.join(_HERE, "child.py"), str(request["submission"])]
        child.main([str(request["submission"])])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - a broken start: say why on stderr, as a failed interpreter would
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def _spawn(child: Any, request: dict[str, Any], fds: list[int]) -> int:
    """Fork the worker through a short-lived middle process (in the sandbox, the one that enters the worker's
    namespaces); the worker's pid.  Once the middle is reaped, the worker is the grader's: it is told so."""
    r, w = os.pipe()
    told, tell = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(r)
            os.close(tell)
            if "sandbox" in request:
                _unshare()
            worker = os.fork()
            if worker == 0:
                os.close(w)
                _become_worker(child, request, fds, told)
            os.write(w, str(worker).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.close(told)
    try:
        data = b""
        while chunk := os.read(r, 64):
            data += chunk
        os.close(r)
        os.waitpid(middle, 0)  # the middle's exit has re-parented the worker to the grader
        try:
            os.write(tell, b"\1")
        except BrokenPipeError:  # the worker is gone already: the grader finds it so, as any dead worker
            pass
    finally:
        os.close(tell)
    return int(data)


def _probe_isolation(spec: dict[str, Any]) -> None:
    """Exit (the grader then starts its workers with bubblewrap) unless a worker forked here can be isolated:
    a middle process enters the namespaces and waits for its child, which isolates itself and exits."""
    middle = os.fork()
    if middle == 0:
        code = 1
        try:
            _unshare()
            worker = os.fork()
            if worker == 0:
                ok = 1
                try:
                    _isolate(spec)
                    ok = 0
                except BaseException:  # noqa: BLE001 - why it failed, for whoever runs the template by hand
                    traceback.print_exc()
                finally:
                    os._exit(ok)
            code = os.waitstatus_to_exitcode(os.waitpid(worker, 0)[1])
        finally:
            os._exit(code)
    if os.waitstatus_to_exitcode(os.waitpid(middle, 0)[1]) != 0:
        sys.exit(0)


def main() -> None:
    global _GRADER
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    _GRADER = int(sys.argv[1])
    _die_with(_GRADER)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader stops its workers itself
    control = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    _probe(sys.argv[2])  # a worker that could not stamp its marker is never forked from here
    modules = sys.argv[3:]
    if modules[:1] == ["--isolate"]:
        _probe_isolation(json.loads(modules[1]))
        modules = modules[2:]
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - absent here (a numpy-only view) or broken: the worker imports it itself
            pass
    child = _load_child()
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 3)
            while message and not message.endswith(b"\n") and len(message) < _REQUEST_LIMIT:
                more = control.recv(1 << 16)  # a request is one line; a long environment comes in pieces
                if not more:
                    return
                message += more
        except OSError:
            return
        if not message:
            return
        try:
            request = json.loads(message)
            if len(fds) != 3:
                raise ValueError("three descriptors expected")
            reply: dict[str, Any] = {"pid": _spawn(child, request, fds)}
        except Exception as exc:  # noqa: BLE001 - the grader starts this worker itself instead
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            for fd in fds:
                os.close(fd)
        control.sendall(json.dumps(reply).encode() + b"\n")


def run_as_init(argv: list[str]) -> None:
    """``python -I -S zygote.py --init COMMAND...``: process 1 of the pid namespace ``unshare`` makes for a worker at
    ``limits`` (``sandbox._with_init``), as :func:`_init` is for a forked one: ``COMMAND`` (the rest of the worker's
    command line) runs in a child, and this process, undumpable and deaf to the signals its namespace may send it,
    holds the parent-death signal ``unshare --kill-child`` gave it, out of the student's reach."""
    _init()  # returns in the child
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--init"]:
        run_as_init(sys.argv[2:])
    else:
        main()
