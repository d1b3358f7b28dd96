"""The template a worker is forked from (``--isolation process`` only): an interpreter that has imported numpy,
torch and Keras once, so that a worker of a torch part starts in milliseconds instead of seconds.

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
#: The template is started with ``DEEPGRADE_WORKER=`` this (as long as a worker's token): each worker writes its
#: own token over it (:func:`_stamp`).
PLACEHOLDER = "-" * 16
_REQUEST_LIMIT = 16 << 20


def _die_with(parent: int) -> None:
    """Exit when the grader does (the kernel's parent-death signal, and a check it was not already gone)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(0)


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


def _become_worker(child: Any, request: dict[str, Any], fds: list[int]) -> None:
    """In the forked worker: its streams, session, marker and directory, then the worker's own main loop."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 65536)  # the template's socket and the descriptors as received
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
    """Fork the worker through a short-lived middle process; the worker's pid."""
    r, w = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(r)
            worker = os.fork()
            if worker == 0:
                os.close(w)
                _become_worker(child, request, fds)
            os.write(w, str(worker).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 64):
        data += chunk
    os.close(r)
    os.waitpid(middle, 0)
    return int(data)


def main() -> None:
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    _die_with(int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader stops its workers itself
    control = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    _probe(sys.argv[2])  # a worker that could not stamp its marker is never forked from here
    for name in sys.argv[3:]:
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


if __name__ == "__main__":
    main()
