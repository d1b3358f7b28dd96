"""Workers forked from a template that has imported numpy and torch already (``--isolation process``).

A torch part's worker spends seconds importing torch (and Keras) before it runs a line of the student's code; a
process that grades many submissions in turn (``deepgrade watch``, the test suite, a batch at ``--isolation
process``) pays that for every worker.  With the fork server on, :func:`spawn` asks a template process
(``zygote.py``, one per command line and environment a worker would be started with) to fork the worker
instead: the same interpreter, flags, environment and working directory, the libraries already imported, no
student file run before the fork.  The worker is re-parented to this process (a child subreaper), so it is
waited for, timed and killed like one started by ``subprocess``; the object returned has the parts of
``subprocess.Popen`` the worker's client uses.

:func:`spawn` is for ``process``, whose workers add nothing to the command line but interpreter flags.  The sandbox
forks its workers through :func:`spawn_from` with a template of its own, and each of them makes its own namespaces,
mounts, limits and uid before it runs (``grader.isolation.sandbox.fork_worker``, ``zygote.py --isolate``); the
``limits`` level starts every worker afresh.  Off unless :func:`enable` was called or ``DEEPGRADE_FORKSERVER=1``;
``DEEPGRADE_FORKSERVER=0`` turns it off.  Anything that goes wrong (no subreaper,
a template that died or answers nonsense) returns ``None``, and the caller starts the worker as before.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from grader.isolation.worker import proctree
from grader.isolation.worker.zygote import PLACEHOLDER  # the marker's value in a template, stamped by each worker

ZYGOTE = Path(__file__).resolve().parent / "zygote.py"
#: What every template imports (each where it can: a numpy-only part's view has no torch).  ``torch._dynamo`` (and
#: sympy with it) is what the first ``step()`` of a torch optimizer imports: 0.9 s of CPU in each worker otherwise.
MODULES = ("numpy", "torch", "torch._dynamo")
#: What a template imports too where its workers will (:func:`modules`): Keras costs 0.6 s of CPU more (after the
#: 1.9 s of :data:`MODULES`) and one part needs it, so a grade without that part forks from a template without it.
WHEN_ASKED = ("keras",)
#: Templates kept alive at once (each holds torch, some Keras: ~400 MB, mostly shared with its workers).
KEEP = 3
#: Variables that change while a process runs without changing what a worker imports, left out of the key of a
#: template (each worker still gets the environment as it is now): pytest names the current test in one; Keras
#: and torch's compiler write the other two into the grader's environment once imported (Keras always ``true``
#: where its backend is not TensorFlow, as the template's own import does; torch reads its cache folder when it
#: compiles, from the worker's environment); and every ``DEEPGRADE_`` variable is the grader's own setting
#: (cache, plans, secret), which no library a template imports reads.
VOLATILE = frozenset({"PYTEST_CURRENT_TEST", "TF_FORCE_GPU_ALLOW_GROWTH", "TORCHINDUCTOR_CACHE_DIR"})
VOLATILE_PREFIX = "DEEPGRADE_"
#: Seconds to wait for a template's first answer (it waits for the imports: seconds on a loaded machine).
ANSWER_SECONDS = 180.0
#: Seconds to wait for any later answer (a fork: milliseconds).  A template that a student stopped (``SIGSTOP``)
#: costs the next worker this long and END_SECONDS, then the worker is started as usual and no template is asked
#: again.
FORK_SECONDS = 10.0
#: Seconds a template that could not answer gets to be found dead (then it is replaced) rather than stuck.
END_SECONDS = 2.0

_ENABLED: bool | None = None
_GAVE_UP = False  # a template failed once in this process: start workers as usual from then on
_LOCK = threading.Lock()
_SERVERS: OrderedDict[tuple[Any, ...], _Server] = OrderedDict()


def enable(on: bool = True) -> None:
    """Fork workers from templates in this process (unless ``DEEPGRADE_FORKSERVER=0``)."""
    global _ENABLED
    _ENABLED = on


def enabled() -> bool:
    value = os.environ.get("DEEPGRADE_FORKSERVER", "").strip().lower()
    if value in ("0", "off", "no", "false"):
        return False
    return value in ("1", "on", "yes", "true") or bool(_ENABLED)


class Adopted:
    """A worker forked by a template and re-parented here: the parts of ``subprocess.Popen`` the client uses."""

    def __init__(self, pid: int, stdin: IO[bytes], stdout: IO[bytes], stderr: IO[bytes]) -> None:
        self.pid, self.stdin, self.stdout, self.stderr = pid, stdin, stdout, stderr
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: it is gone, how is unknown
                self.returncode = -signal.SIGKILL
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.001
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(pause)
            pause = min(0.05, pause * 2)
        return code

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class _Server:
    """One template process and the socket it is asked on."""

    def __init__(self, command: Sequence[str], env: dict[str, str]) -> None:
        self.owner = os.getpid()
        self.socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with theirs:
            self.proc = subprocess.Popen(
                list(command),
                stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # a Ctrl-C at the terminal is the grader's to handle
            )
        self.socket.settimeout(ANSWER_SECONDS)
        self.answers = self.socket.makefile("rb")
        self.lock = threading.Lock()

    def spawn(self, request: dict[str, Any]) -> Adopted | None:
        (in_r, in_w), (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe(), os.pipe()
        try:
            with self.lock:
                data = json.dumps(request).encode() + b"\n"
                sent = socket.send_fds(self.socket, [data], [in_r, out_w, err_w])
                self.socket.sendall(data[sent:])
                reply = json.loads(self.answers.readline(4096) or b"null")
            pid = int(reply["pid"]) if isinstance(reply, dict) and "pid" in reply else 0
            self.socket.settimeout(FORK_SECONDS)  # imported: every later answer is a fork
        except (OSError, ValueError, TypeError):
            pid = 0
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
        if pid <= 0:
            for fd in (in_w, out_r, err_r):
                os.close(fd)
            return None
        return Adopted(pid, open(in_w, "wb"), open(out_r, "rb"), open(err_r, "rb"))

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.proc.poll() is None

    def ended(self) -> bool:
        """Whether the template has ended, or ends within END_SECONDS (one killed while it was asked may still
        be exiting when its socket is found closed)."""
        if self.owner != os.getpid():
            return False
        try:
            self.proc.wait(END_SECONDS)
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self) -> None:
        try:
            self.socket.close()
            self.answers.close()
        except OSError:
            pass
        if self.owner == os.getpid():
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            self.proc.wait()


def modules(libraries: Sequence[str] = ()) -> tuple[str, ...]:
    """What the template of a worker whose student code will import ``libraries`` imports: :data:`MODULES`, and
    those of :data:`WHEN_ASKED` it names.

    >>> modules(), modules(["torch", "keras"])
    (('numpy', 'torch', 'torch._dynamo'), ('numpy', 'torch', 'torch._dynamo', 'keras'))
    """
    return MODULES + tuple(m for m in WHEN_ASKED if m in libraries)


def volatile(name: str) -> bool:
    """Whether a template may serve a worker whose environment differs from its own in ``name``."""
    return name in VOLATILE or name.startswith(VOLATILE_PREFIX)


def spawn(
    argv: Sequence[str], env: dict[str, str], child: Path, submission: Path, token: str, libraries: Sequence[str] = ()
) -> Adopted | None:
    """The worker of command line ``argv`` (``… child.py SUBMISSION``) and environment ``env``, forked from a
    template that imported what :func:`modules` says for ``libraries``; ``None`` where it cannot be (then start it
    as usual)."""
    if not usable() or list(argv[-2:]) != [str(child), str(submission)]:
        return None
    prefix, imported = tuple(argv[:-2]), modules(libraries)
    key = (prefix, imported, tuple(sorted((k, v) for k, v in env.items() if not volatile(k))))
    command = [*prefix, str(ZYGOTE), str(os.getpid()), proctree.MARKER, *imported]
    request = {"submission": str(submission), "token": token, "marker": proctree.MARKER, "cwd": os.getcwd()}
    return spawn_from(key, command, {**env, proctree.MARKER: PLACEHOLDER}, {**request, "env": env})


def usable() -> bool:
    """Whether workers may be forked from templates in this process now."""
    return not _GAVE_UP and enabled() and proctree.is_subreaper()


def spawn_from(key: Any, command: Sequence[str], env: dict[str, str], request: dict[str, Any]) -> Adopted | None:
    """A worker forked by the template ``key`` (started with ``command`` and ``env``, ending in ``zygote.py``'s
    arguments, where there is none alive), as ``request`` asks (see ``zygote.py``); ``None`` where it cannot be."""
    global _GAVE_UP
    if not usable():
        return None
    for _ in range(2):  # a template that died (a student may kill it) is replaced once
        with _LOCK:
            server = _SERVERS.get(key)
            if server is not None and not server.alive():
                server.close()
                server = None
                del _SERVERS[key]
            if server is None:
                while len(_SERVERS) >= KEEP:
                    _SERVERS.popitem(last=False)[1].close()
                server = _SERVERS[key] = _Server(command, env)
            _SERVERS.move_to_end(key)
        worker = server.spawn(request)
        if worker is not None:
            return worker
        died = server.ended()
        with _LOCK:
            if _SERVERS.get(key) is server:
                del _SERVERS[key]
        server.close()
        if not died:
            break
    # a template that cannot serve (it timed out, answered nonsense, or died twice running): not trusted again
    with _LOCK:
        _GAVE_UP = True
    return None


@atexit.register
def close_all() -> None:
    """End every template of this process."""
    with _LOCK:
        while _SERVERS:
            _SERVERS.popitem()[1].close()
