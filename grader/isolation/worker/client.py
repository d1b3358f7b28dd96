"""Grader side of the worker boundary: start the worker, exchange messages under a budget, serve its calls.

Every exchange is bounded: the request is written and the reply read through non-blocking pipes under the
call's :class:`Budget` (CPU seconds of the worker's processes plus the grader's time serving the worker's
calls, with a wall-clock ceiling), and the reply is parsed by ``wire.Reader`` under a byte limit (a small
multiple of the request, with a hard ceiling).  A worker that stops reading, floods, answers garbage or
dies costs that check its points, never the grader its memory or its time.
"""

from __future__ import annotations

import ast
import atexit
import functools
import inspect
import io
import os
import secrets
import select
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.i18n import _
from grader.isolation.worker import cpugroup, forkserver, proctree, wire
from grader.isolation.worker.wire import ProtocolError

CHILD = Path(__file__).resolve().parent / "child.py"
#: The files the worker runs from (``child.py`` loads ``wire.py`` beside it): a sandbox binds all of them.
CHILD_FILES = (CHILD, CHILD.with_name("wire.py"))

#: Builds the command line that starts a worker: ``launcher(argv, submission, packages)`` returns the command
#: line and its environment.  ``packages`` names the distributions the worker may import (``("numpy",)`` for a
#: numpy-only part: torch, scipy, sklearn must be absent), or is ``None`` for all.  See ``grader.isolation.sandbox``.
#: A launcher may also carry ``fork(python, submission, packages, token, libraries)``, which returns a worker forked
#: from a template of its own, or ``None`` to have it started (the sandbox's: ``sandbox.fork_worker``).
Launcher = Callable[[Sequence[str], Path, "tuple[str, ...] | None"], tuple[list[str], dict[str, str]]]

#: A reply may be this many times the request's size, and at least REPLY_FLOOR, never over REPLY_CEILING.
REPLY_FACTOR, REPLY_FLOOR, REPLY_CEILING = 8, 4 * 1024 * 1024, 256 * 1024 * 1024
#: The wall-clock ceiling of a call whose CPU budget is ``t`` seconds: WALL_FACTOR·t + WALL_SLACK.
WALL_FACTOR, WALL_SLACK = 4.0, 20.0
#: CPU budget of importing the student's module (keras and torch take seconds, more on a loaded machine).
IMPORT_SECONDS = 60.0
_POLL = 0.2

proctree.become_subreaper()
_LIVE: weakref.WeakSet[Worker] = weakref.WeakSet()
_STOPPING = threading.Event()
#: Cgroups of stopped workers that could not be removed at once (a process not yet gone): tried again at exit.
_GROUPS_LEFT: list[cpugroup.CpuGroup] = []


@atexit.register
def _remove_groups_left() -> None:
    _GROUPS_LEFT[:] = [g for g in _GROUPS_LEFT if not g.remove()]


def stop_all() -> None:
    """Kill every live worker of this process (each whole process tree); later requests raise
    ``KeyboardInterrupt``.  For a clean stop on SIGINT/SIGTERM/SIGHUP."""
    _STOPPING.set()
    for worker in list(_LIVE):
        worker.stop()


class StudentError(Exception):
    """Student code did not produce a result: ``kind`` is not_implemented, error, timeout or missing.

    ``fatal`` errors (a timeout, a dead worker, a missing file or function, a malformed reply) end a check
    at once; an ordinary exception raised by the student's code on one input is not fatal, so the input can
    shrink.
    """

    def __init__(self, kind: str, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.fatal = fatal or kind != "error"


class GivenCallError(Exception):
    """The worker asked for something the grader will not or cannot serve; the worker's code sees it raised."""


@dataclass(frozen=True)
class Budget:
    """What one call may use: ``cpu`` seconds (the worker's processes plus the grader's time serving the
    worker's calls) and ``wall`` seconds of wall-clock time."""

    cpu: float
    wall: float

    @classmethod
    def of(cls, seconds: float, slack: float = WALL_SLACK) -> Budget:
        return cls(seconds, WALL_FACTOR * seconds + slack)


def plain_launcher(
    argv: Sequence[str], submission: Path, packages: tuple[str, ...] | None = None
) -> tuple[list[str], dict[str, str]]:
    """Run the worker as an ordinary child process (see ``grader.isolation.sandbox`` for the isolation levels)."""
    return list(argv), dict(os.environ)


#: Launchers whose workers may be forked from a template that imported torch already (``forkserver.spawn``): those
#: that add nothing to the command line but interpreter flags (``process``).  The sandbox forks through its own
#: ``fork``; ``limits`` never forks.
FORKABLE: set[Launcher] = set()


def reply_limit(request: int) -> int:
    """The most bytes a reply to a request of ``request`` bytes may have."""
    return min(REPLY_CEILING, max(REPLY_FLOOR, REPLY_FACTOR * request))


def worker_env(env: dict[str, str]) -> dict[str, str]:
    """Environment every worker gets, whatever the isolation."""
    env = dict(env)
    env.update(
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        KERAS_BACKEND="torch",
        PYTHONWARNINGS="ignore",
        CUBLAS_WORKSPACE_CONFIG=":4096:8",
    )  # cuBLAS reductions in a fixed order: the same grade twice
    return env


@functools.cache
def _function_source(fn: Callable[..., Any]) -> str:
    """Source of a module-level function without its decorators (the same for every worker that is sent it)."""
    src = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(src)
    node = tree.body[0]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.decorator_list:
        node.decorator_list = []
        return ast.unparse(node)
    return src


class _Meter:
    """Time spent by one call so far, against its budget."""

    def __init__(self, worker: Worker, budget: Budget) -> None:
        self.worker, self.budget = worker, budget
        self.start = time.perf_counter()
        self.cpu0: tuple[float, float] | None = None  # Worker.cpu_seconds() at the first poll
        self.before_poll = 0.0
        self.served = 0.0  # grader seconds spent answering the worker's calls
        self.checked = self.start

    def used(self) -> float:
        """Seconds charged so far: wall time until the first poll, then the worker's CPU time."""
        proc = self.worker.proc
        if self.cpu0 is None or proc is None:
            return time.perf_counter() - self.start
        grouped, living = self.worker.cpu_seconds()
        return self.before_poll + max(0.0, grouped - self.cpu0[0], living - self.cpu0[1]) + self.served

    def check(self) -> None:
        """Raise a timeout if the call is over its budget (reads the worker's CPU time: call every ~0.2 s)."""
        now = time.perf_counter()
        proc = self.worker.proc
        if _STOPPING.is_set():
            raise KeyboardInterrupt
        if now - self.start > self.budget.wall:
            raise self.worker._timeout(
                _(
                    "no answer within {seconds} s of wall-clock time (it sleeps or waits, or the machine is overloaded)"
                ).format(seconds=f"{self.budget.wall:g}")
            )
        if proc is None:
            return
        if self.cpu0 is None:
            self.cpu0 = self.worker.cpu_seconds()
            self.before_poll = now - self.start
            return
        if self.used() > self.budget.cpu:
            raise self.worker._timeout(
                _("used more than {seconds} s of CPU time (an infinite loop, or far too slow)").format(
                    seconds=f"{self.budget.cpu:g}"
                )
            )

    def remaining_wall(self) -> float:
        return self.budget.wall - (time.perf_counter() - self.start)

    def wait(self, fd: int, *, write: bool = False) -> None:
        """Wait (at most ``_POLL`` s) for ``fd`` to be readable (writable), checking the budget every ``_POLL``
        seconds whether or not bytes flow: a worker that drips a byte at a time still runs out of time."""
        fds = [fd]
        select.select([] if write else fds, fds if write else [], [], max(0.0, min(_POLL, self.remaining_wall())))
        self.tick()

    def tick(self) -> None:
        now = time.perf_counter()
        if now - self.checked >= _POLL:
            self.checked = now
            self.check()


class Worker:
    """One student process.  Restarts itself after a timeout, a crash or a broken message."""

    def __init__(
        self,
        submission: Path,
        *,
        launcher: Launcher = plain_launcher,
        python: str | None = None,
        startup_timeout: float = 30.0,
        stderr_limit: int = 64 * 1024,
        packages: tuple[str, ...] | None = None,
        serve: Callable[[dict[str, Any]], Any] | None = None,
        wall_slack: float = WALL_SLACK,
        libraries: Sequence[str] = (),
    ) -> None:
        self.submission = Path(submission).resolve()
        self.launcher = launcher
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.stderr_limit = stderr_limit
        self.packages = packages
        self.wall_slack = wall_slack  # a call's wall-clock ceiling is WALL_FACTOR·budget + this
        #: the libraries the student's code will import (torch, Keras): a forked worker's template imported them
        #: (``forkserver.modules``); any other is imported by the worker as the code asks for it
        self.libraries = tuple(libraries)
        #: answers the worker's calls to given (reference) functions; see grader.reference.Given
        self.serve = serve
        self.proc: subprocess.Popen[bytes] | forkserver.Adopted | None = None
        self._group: cpugroup.CpuGroup | None = None  # the worker's cgroup, where it has one
        self._started: int | None = None  # the worker's start time (proctree.Proc.start): tells it from a later pid
        self.token = ""
        self._defined: set[str] = set()
        self._stderr: deque[bytes] = deque()
        self._stderr_size = 0
        self._setup: dict[str, Any] | None = None
        self._set_up = False
        self._setup_error: StudentError | None = None
        self.restarts = 0
        #: seconds charged to this worker's calls so far (see :class:`_Meter`): the submission's time budget
        self.used_seconds = 0.0
        #: the student's print() output of the last call (capped by the worker)
        self.last_stdout = ""
        #: the last 8 KiB of everything the student printed since the caller last emptied it (the runner does,
        #: per check: a failure is often found on one call and confirmed on others that print nothing)
        self.printed = ""
        #: (part, module, "file:line") of forbidden modules the worker saw imported
        self.imports: list[tuple[str, str, str]] = []
        self._preloading = False  # a preload request was sent and its reply is not read yet

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if _STOPPING.is_set():
            raise KeyboardInterrupt
        self.token = secrets.token_hex(8)
        self.proc = self._launch()
        started = proctree.stat(self.proc.pid)  # not waited for yet: the worker's own, alive or a zombie
        self._started = started.start if started is not None else None
        self._group = self._enroll(self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            os.set_blocking(stream.fileno(), False)  # type: ignore[union-attr]
            wire.widen_pipe(stream.fileno())  # type: ignore[union-attr]
        self._reader = wire.Inbox(self.proc.stdout.fileno(), spin=wire.spin_seconds())  # type: ignore[union-attr]
        self._defined = set()
        self._set_up = False
        self._preloading = False
        self._stderr.clear()
        self._stderr_size = 0
        _LIVE.add(self)
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()

    def _launch(self) -> subprocess.Popen[bytes] | forkserver.Adopted:
        """The worker's process: forked from the sandbox's template (``sandbox.fork_worker``) or from a template at
        ``process`` (``forkserver.spawn``) where one can be, else started from its command line."""
        fork = getattr(self.launcher, "fork", None)
        forked = fork(self.python, self.submission, self.packages, self.token, self.libraries) if fork else None
        if forked is not None:
            return forked
        argv, env = self.launcher([self.python, "-u", str(CHILD), str(self.submission)], self.submission, self.packages)
        env = worker_env(env)
        if self.launcher in FORKABLE:
            forked = forkserver.spawn(argv, env, CHILD, self.submission, self.token, self.libraries)
            if forked is not None:
                return forked
        env[proctree.MARKER] = self.token
        pipe = subprocess.PIPE
        return subprocess.Popen(argv, stdin=pipe, stdout=pipe, stderr=pipe, env=env, start_new_session=True)

    def _drain(self, proc: subprocess.Popen[bytes] | forkserver.Adopted) -> None:
        """Keep reading the worker's stderr (whatever it writes to fds 1 and 2) into a bounded buffer."""
        stderr = proc.stderr
        assert isinstance(stderr, io.BufferedReader)  # a pipe opened with the default buffering
        for chunk in iter(lambda: stderr.read1(65536), b""):
            if proc is not self.proc:
                continue
            self._stderr.append(chunk)
            self._stderr_size += len(chunk)
            while self._stderr_size > self.stderr_limit and len(self._stderr) > 1:
                self._stderr_size -= len(self._stderr.popleft())
        stderr.close()  # here, not in stop(): a grandchild may hold the pipe open and block close()

    def stderr_tail(self, n: int = 400) -> str:
        return b"".join(self._stderr)[-n:].decode("utf-8", "replace")

    def _enroll(self, pid: int) -> cpugroup.CpuGroup | None:
        """A cgroup of the worker's own, its processes in it, where one can be had (:mod:`cpugroup`).  The worker
        runs nothing of the student's before its first request: the first process, then every one it has started
        (those it starts later are born in the cgroup)."""
        group = cpugroup.make(self.token)
        if group is None:
            return None
        moved: set[int] = set()
        try:
            todo = [pid]
            while todo:  # a process started before its parent was moved is found by the next look
                group.add(todo)
                moved.update(todo)
                todo = [p for p in proctree.descendants(pid) if p not in moved]
        except OSError:  # a cgroup this process may make but not move processes into
            group.remove()
            return None
        return group

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU seconds the worker's processes have used, two ways: its cgroup's count, which includes the processes
        the kernel reaped unseen (0.0 without a cgroup), and the living processes' (``/proc``).  The meter charges
        the larger growth: a process that left the cgroup (a worker running as root can) is still seen alive."""
        group, proc = self._group, self.proc
        grouped = 0.0
        if group is not None:
            try:
                grouped = group.seconds()
            except (OSError, ValueError):
                pass
        return grouped, proctree.cpu_seconds(proc.pid) if proc is not None else 0.0

    def stop(self) -> None:
        """Kill the worker and every process it started (see :func:`proctree.kill`)."""
        proc, self.proc = self.proc, None
        group, self._group = self._group, None
        started, self._started = self._started, None  # a stop before the next start has read its own: the old rule
        _LIVE.discard(self)
        if proc is None:
            return
        proctree.kill(proc.pid, self.token, start=started)  # its number may be another's once it is waited for
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        proc.wait()
        if group is not None and not group.remove():
            _GROUPS_LEFT.append(group)
        for stream in (proc.stdin, proc.stdout):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ one exchange
    def preload(self, modules: Sequence[str]) -> None:
        """Start the worker and have it import ``modules`` (torch, keras), returning at once: the caller goes on
        with other work while the worker imports.  No student file runs meanwhile (the submission is off
        ``sys.path`` during the import) and the seconds are charged to no call; the next call first waits for
        the import (see :meth:`_settle`).  A module that fails to import is imported, or fails, when the
        student's code asks for it, as without a preload."""
        if self.proc is None:
            self.start()
        try:
            self._send({"op": "preload", "modules": list(modules)}, _Meter(self, Budget.of(IMPORT_SECONDS)))
        except StudentError:  # died at once: the next call starts a fresh worker
            return
        self._preloading = True

    def _settle(self) -> None:
        """Read the reply to a preload (waiting at most its budget); a worker that fails it is restarted."""
        if not self._preloading or self.proc is None:
            return
        self._preloading = False
        meter = _Meter(self, Budget.of(IMPORT_SECONDS, self.wall_slack))
        try:
            reply = self._receive(meter, REPLY_FLOOR)
        except StudentError:  # died, timed out or broke the protocol: _receive has stopped it already
            return
        if not isinstance(reply, dict) or "ok" not in reply:
            self._restart_quietly()

    def _exchange(self, message: dict[str, Any], budget: Budget) -> Any:
        """Send ``message`` and return the worker's final reply, serving its calls meanwhile."""
        replies, error = self._stream(message, [budget])
        if error is not None:
            raise error
        return replies[0]

    def _stream(
        self,
        message: dict[str, Any] | list[bytes | memoryview],
        budgets: Sequence[Budget],
        limits: Sequence[int] | None = None,
    ) -> tuple[list[Any], StudentError | None]:
        """Send ``message`` (a value, or the chunks of one already encoded) and read one reply per budget, each
        under its own budget from the moment the one before it came (serving the worker's calls meanwhile): the
        replies read, and the error that ended the stream early (a timeout, a death, a malformed message: the
        worker has been stopped), if any.

        Each reply is held to its own byte limit in ``limits`` (default: :func:`reply_limit` of the request's
        size, for a request of one reply)."""
        if _STOPPING.is_set():
            raise KeyboardInterrupt
        self._settle()
        if self.proc is None:
            self.start()
        replies: list[Any] = []
        meter = _Meter(self, budgets[0])
        try:
            size = self._send(message, meter)
            for i, budget in enumerate(budgets):
                if i:
                    self.used_seconds += meter.used()
                    meter = _Meter(self, budget)
                replies.append(self._reply(meter, limits[i] if limits is not None else reply_limit(size)))
        except StudentError as exc:
            return replies, exc
        finally:
            self.used_seconds += meter.used() if self.proc is not None else time.perf_counter() - meter.start
        return replies, None

    def _reply(self, meter: _Meter, limit: int) -> Any:
        """The worker's next reply (not a call: those are answered here).  The reply asked for is looked for as long
        as the inbox looks; a message after an answer only briefly, since the worker paces those
        (``wire.ANSWER_SPIN_SECONDS``)."""
        look = None
        while True:
            reply = self._receive(meter, limit, look)
            if isinstance(reply, dict) and set(reply) == {"call"}:
                self._write(self._answer(reply["call"], meter), meter)
                look = wire.ANSWER_SPIN_SECONDS
                continue
            return reply

    def _answer(self, call: Any, meter: _Meter) -> list[bytes | memoryview]:
        """The encoded answer to a call to a given function (encoded here: an answer that is not plain data
        is an error for the worker's code, not for the grader)."""
        started = time.thread_time()
        try:
            if self.serve is None or not isinstance(call, dict):
                raise GivenCallError("nothing is given for this exercise")
            chunks = wire.encode({"ok": self.serve(call)})
        except (GivenCallError, TypeError, ValueError, ArithmeticError, IndexError, KeyError) as exc:
            chunks = wire.encode({"error": f"{type(exc).__name__}: {str(exc)[:500]}"})
        except Exception as exc:  # noqa: BLE001 - the reference failed on the student's arguments
            chunks = wire.encode({"error": f"{type(exc).__name__}: {str(exc)[:500]}"})
        meter.served += time.thread_time() - started
        return chunks

    def _send(self, message: Any, meter: _Meter) -> int:
        """Write ``message``: a value, or the chunks of one already encoded (a list, as :func:`wire.encode` gives)."""
        return self._write(message if isinstance(message, list) else wire.encode(message), meter)

    def _write(self, chunks: list[bytes | memoryview], meter: _Meter) -> int:
        """Write one encoded message (its chunks joined where small), serving the deadline; its size."""
        proc = self.proc
        assert proc is not None and proc.stdin is not None
        fd = proc.stdin.fileno()
        total = 0
        for chunk in wire.joined(chunks):
            view = memoryview(chunk)
            total += len(view)
            while view:
                try:
                    view = view[os.write(fd, view) :]  # non-blocking: a full pipe raises BlockingIOError
                    meter.tick()
                    continue
                except BlockingIOError:
                    pass
                except OSError:  # BrokenPipeError among them
                    raise self._died() from None
                meter.wait(fd, write=True)
        return total

    def _receive(self, meter: _Meter, limit: int, look: float | None = None) -> Any:
        """The worker's next message, its start looked for ``look`` seconds (default: as long as the inbox looks) and
        the rest of a message that comes in parts only briefly; the wait, and each part, under ``meter``."""
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        try:
            message = self._reader.message(
                limit, spin=look, rest=wire.ANSWER_SPIN_SECONDS, idle=lambda: meter.wait(fd), progress=meter.tick
            )
        except EOFError:
            raise self._died() from None
        except ProtocolError as exc:
            raise self._broken(f"the worker sent a malformed message: {exc}") from None
        meter.tick()
        return message

    # ------------------------------------------------------------------ outcomes
    def _request(self, message: dict[str, Any], budget: Budget) -> Any:
        reply = self._exchange(message, budget)
        broken = self._absorb(reply)
        if broken is not None:
            raise broken
        return self.result(reply)

    def _absorb(self, reply: Any) -> StudentError | None:
        """Take in a reply as it comes: note its imports, keep what it printed.  A reply that is neither a result
        nor an error breaks the protocol: the worker is stopped, and the error returned."""
        if not isinstance(reply, dict):
            return self._broken("the worker sent a reply that is not an object")
        self._note_imports(reply.pop("imports", None))
        out = reply.get("stdout")
        reply["stdout"] = out[:8192] if isinstance(out, str) else ""
        self.printed = (self.printed + reply["stdout"])[-8192:]
        if "error" not in reply and "ok" not in reply:
            return self._broken("the worker sent a reply with neither a result nor an error")
        return None

    def result(self, reply: dict[str, Any]) -> Any:
        """The value of a reply that :meth:`drive_many` returned, or the :class:`StudentError` it carries."""
        self.last_stdout = reply["stdout"]
        if "error" in reply:
            kind, message = reply.get("error"), reply.get("message", "")
            # untrusted: compared only as a str (an array's `in` would compare element by element, then raise)
            if not isinstance(kind, str) or kind not in ("not_implemented", "error", "missing"):
                kind = "error"
            raise StudentError(kind, message[:2000] if isinstance(message, str) else "")
        return reply["ok"]

    def _note_imports(self, records: Any) -> None:
        """Keep the worker's import records (untrusted: only short strings are kept)."""
        if not isinstance(records, list):
            return
        for rec in records[:1000]:
            if (
                isinstance(rec, list)
                and len(rec) == 3
                and all(isinstance(x, str) for x in rec)
                and len(self.imports) < 10000
            ):
                self.imports.append((rec[0][:200], rec[1][:200], rec[2][:300]))

    def _timeout(self, message: str) -> StudentError:
        self._restart_quietly()
        return StudentError("timeout", message)

    def _restart_quietly(self) -> None:
        self.stop()
        self.restarts += 1
        self._set_up = False

    def _died(self) -> StudentError:
        proc = self.proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
        tail = self.stderr_tail().strip().splitlines()
        detail = f": {tail[-1][:300]}" if tail else ""
        reason = (
            _("the worker process killed by signal {signal}").format(signal=-code)
            if code is not None and code < 0
            else _("the worker process exited with code {code}").format(code=code)
        )
        self._restart_quietly()
        return StudentError("error", reason + detail, fatal=True)

    def _broken(self, message: str) -> StudentError:
        self._restart_quietly()
        return StudentError("error", message, fatal=True)

    # ------------------------------------------------------------------ the protocol
    def setup(
        self,
        parts: Sequence[str],
        *,
        part: str = "",
        given: dict[str, Any] | None = None,
        forbidden: Sequence[str] = (),
        serve: Callable[[dict[str, Any]], Any] | None = None,
        timeout: float = IMPORT_SECONDS,
    ) -> None:
        """Fresh student modules for the next exercise: import ``parts`` with the ``given`` functions stubbed
        (calls to them are answered by ``serve``), recording imports of ``forbidden`` packages.

        A failed import is remembered: later calls for this exercise fail the same way at once, without
        importing again (a module that loops for ever costs its budget once)."""
        self._setup = {
            "op": "setup",
            "parts": list(parts),
            "part": part or (parts[0] if parts else ""),
            "given": given or {},
            "forbidden": list(forbidden),
        }
        self.serve = serve
        self._setup_error = None
        self._set_up = False
        self._ensure_setup(timeout)

    def _ensure_setup(self, timeout: float = IMPORT_SECONDS) -> None:
        if self._setup_error is not None:
            raise self._setup_error
        if self._set_up or self._setup is None:
            return
        try:
            self._request(self._setup, Budget.of(timeout, self.wall_slack))
        except StudentError as exc:
            self._setup_error = StudentError(exc.kind, exc.message, fatal=True)
            raise self._setup_error from None
        self._set_up = True

    def drive(self, fn: Callable[..., Any], *args: Any, timeout: float = 10.0) -> Any:
        """Run the worker-side function ``fn(student, *args)`` and return its plain-data result.

        ``fn`` is sent as source text: it must be a self-contained module-level function (imports inside).
        ``timeout`` is its CPU budget (see :class:`Budget`).
        """
        name = self._driver(fn)
        return self._request({"op": "drive", "name": name, "args": list(args)}, Budget.of(timeout, self.wall_slack))

    def drive_many(self, calls: Sequence[tuple[Callable[..., Any], Sequence[Any], float]]) -> list[Any]:
        """Run several calls ``(fn, args, timeout)`` of :meth:`drive` in one request, in order, each under its
        own budget and byte limit (those it would have on its own).  Returns what came back, in order: each
        call's raw reply (:meth:`result` turns it into the value or the error, as :meth:`drive` would), or the
        :class:`StudentError` that ended the run (a timeout, a death: the worker is stopped, and the calls after
        it are not run and have no entry).  Only as many calls go as their limits allow together within
        :data:`REPLY_CEILING` (the grader holds their replies at once); the rest have no entry either."""
        packed, limits, total = [], [], 0
        for fn, args, _timeout in calls:
            # each call goes as the request it would be on its own (the worker reads it as a drive whatever its op),
            # packed once: its size is its reply's limit, and its bytes go into the request as they are
            body = wire.pack({"op": "drive", "name": self._driver(fn), "args": list(args)})
            limit = reply_limit(wire.HEADER_SIZE + len(body))
            if total + limit > REPLY_CEILING:
                break
            packed.append(body)
            limits.append(limit)
            total += limit
        if not packed:
            return []
        budgets = [Budget.of(t, self.wall_slack) for _, _, t in calls[: len(packed)]]
        request = wire.encode_with_list({"op": "drive_many"}, "calls", packed)
        replies, error = self._stream(request, budgets, limits)
        for i, reply in enumerate(replies):
            broken = self._absorb(reply)
            if broken is not None:
                return replies[:i] + [broken]
        return replies + ([error] if error is not None else [])

    def _driver(self, fn: Callable[..., Any]) -> str:
        """The worker's name for the driver ``fn``, sent to it (as source) the first time."""
        if self.proc is None:
            self.start()
        self._ensure_setup()
        name = f"{fn.__module__}.{fn.__qualname__}"  # two modules may each have a driver called `run`
        if name not in self._defined:
            self._request(
                {"op": "define", "name": name, "function": fn.__name__, "source": _function_source(fn)},
                Budget.of(self.startup_timeout, self.wall_slack),
            )
            self._defined.add(name)
        return name

    def ping(self) -> str:
        return self._request({"op": "ping"}, Budget.of(self.startup_timeout, self.wall_slack))
