"""Grader side of the worker boundary: start the worker, send calls, enforce time limits."""
from __future__ import annotations

import ast
import inspect
import os
import select
import subprocess
import sys
import textwrap
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable, Sequence

from grader._worker import child
from grader._worker.child import ProtocolError, decode, encode

CHILD = Path(child.__file__).resolve()

#: Builds the command line that starts a worker: ``launcher(argv, submission, packages)`` returns the command
#: line and its environment.  ``packages`` names the distributions the worker may import (``("numpy",)`` for a
#: numpy-only part: torch, scipy, sklearn must be absent), or is ``None`` for all.  See ``grader.sandbox``.
Launcher = Callable[[Sequence[str], Path, "tuple[str, ...] | None"], tuple[list[str], dict[str, str]]]


class StudentError(Exception):
    """Student code did not produce a result: ``kind`` is not_implemented, error, timeout or missing.

    ``fatal`` errors (a timeout, a dead worker, a missing file or function) end a check at once; an
    ordinary exception raised by the student's code on one input is not fatal, so the input can shrink.
    """

    def __init__(self, kind: str, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.fatal = fatal or kind != "error"


def plain_launcher(argv: Sequence[str], submission: Path,
                   packages: tuple[str, ...] | None = None) -> tuple[list[str], dict[str, str]]:
    """Run the worker as an ordinary child process (``--isolation process``)."""
    return list(argv), dict(os.environ)


def worker_env(env: dict[str, str]) -> dict[str, str]:
    """Environment every worker gets, whatever the isolation."""
    env = dict(env)
    env.update(
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        KERAS_BACKEND="torch",
        PYTHONWARNINGS="ignore",
    )
    return env


def _function_source(fn: Callable[..., Any]) -> str:
    """Source of a module-level function without its decorators."""
    src = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(src)
    node = tree.body[0]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.decorator_list:
        node.decorator_list = []
        return ast.unparse(node)
    return src


class Worker:
    """One student process.  Restarts itself after a timeout or crash."""

    def __init__(self, submission: Path, *, launcher: Launcher = plain_launcher, python: str | None = None,
                 startup_timeout: float = 30.0, stderr_limit: int = 64 * 1024,
                 packages: tuple[str, ...] | None = None) -> None:
        self.submission = Path(submission).resolve()
        self.packages = packages
        self.launcher = launcher
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.stderr_limit = stderr_limit
        self.proc: subprocess.Popen[bytes] | None = None
        self._defined: set[str] = set()
        self._stderr: deque[bytes] = deque()
        self._stderr_size = 0
        self._setup: dict[str, Any] | None = None
        self.restarts = 0
        self.busy_seconds = 0.0
        #: (part, module, "file:line") of the modules student code imported, as the worker reported them
        self.imports: list[tuple[str, str, str]] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        argv, env = self.launcher([self.python, "-u", str(CHILD), str(self.submission)], self.submission,
                                  self.packages)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=worker_env(env), start_new_session=True)
        self._defined = set()
        self._stderr.clear()
        self._stderr_size = 0
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        """Keep reading the worker's stderr (everything the student prints) into a bounded buffer."""
        assert proc.stderr is not None
        for chunk in iter(lambda: proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
            if proc is not self.proc:
                continue
            self._stderr.append(chunk)
            self._stderr_size += len(chunk)
            while self._stderr_size > self.stderr_limit and len(self._stderr) > 1:
                self._stderr_size -= len(self._stderr.popleft())
        proc.stderr.close()  # here, not in stop(): a grandchild may hold the pipe open and block close()

    def stderr_tail(self, n: int = 400) -> str:
        return b"".join(self._stderr)[-n:].decode("utf-8", "replace")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        proc.wait()
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
        if self._setup is not None:
            self._request(self._setup, self.startup_timeout)

    def __enter__(self) -> "Worker":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ calls
    def _request(self, message: dict[str, Any], timeout: float) -> Any:
        if self.proc is None:
            self.start()
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        started = time.perf_counter()
        try:
            try:
                child.write_msg(proc.stdin, message)
            except (BrokenPipeError, OSError):
                raise self._died() from None
            reply = self._read(proc, started + timeout, timeout)
        finally:
            self.busy_seconds += time.perf_counter() - started
        if not isinstance(reply, dict):
            raise self._protocol_broken("the worker sent a reply that is not an object")
        self._note_imports(reply.get("imports"))
        if "error" in reply:
            kind = reply.get("error")
            if kind not in ("not_implemented", "error", "missing"):
                kind = "error"
            raise StudentError(kind, str(reply.get("message", ""))[:2000])
        if "ok" not in reply:
            raise self._protocol_broken("the worker sent a reply with neither a result nor an error")
        try:
            return decode(reply["ok"])
        except (ProtocolError, ValueError, TypeError) as exc:
            raise self._protocol_broken(f"the worker sent a malformed result: {exc}") from None

    def _note_imports(self, records: Any) -> None:
        """Keep the worker's import records (untrusted: only short strings are kept)."""
        if not isinstance(records, list):
            return
        for rec in records[:1000]:
            if isinstance(rec, list) and len(rec) == 3 and all(isinstance(x, str) for x in rec) \
                    and len(self.imports) < 10000:
                self.imports.append((rec[0][:200], rec[1][:200], rec[2][:300]))

    def _read(self, proc: subprocess.Popen[bytes], deadline: float, timeout: float) -> Any:
        fd = proc.stdout.fileno()  # type: ignore[union-attr]
        buf = b""
        need = child._HEADER.size
        size: int | None = None
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                self.restart_quietly()
                raise StudentError("timeout", f"no answer within {timeout:g} s (an infinite loop, or far too slow)")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, max(need - len(buf), 1 << 16) if size is None else need - len(buf))
            if not chunk:
                raise self._died()
            buf += chunk
            if size is None and len(buf) >= child._HEADER.size:
                (size,) = child._HEADER.unpack(buf[: child._HEADER.size])
                if size > child.MAX_MESSAGE:
                    raise self._protocol_broken(f"the worker sent a {size}-byte message (over the limit)")
                buf = buf[child._HEADER.size:]
                need = size
            if size is not None and len(buf) >= need:
                import json

                try:
                    return json.loads(buf[:need].decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise self._protocol_broken("the worker sent malformed JSON") from None

    def restart_quietly(self) -> None:
        try:
            self.restart()
        except StudentError:
            pass

    def _died(self) -> StudentError:
        proc = self.proc
        code = proc.wait() if proc else None
        tail = self.stderr_tail().strip().splitlines()
        detail = f": {tail[-1]}" if tail else ""
        reason = f"killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        self.restart_quietly()
        return StudentError("error", f"the worker process {reason}{detail}", fatal=True)

    def _protocol_broken(self, message: str) -> StudentError:
        self.restart_quietly()
        return StudentError("error", message, fatal=True)

    def setup(self, parts: Sequence[str], prereq_source: str = "", prereq_names: dict[str, list[str]] | None = None,
              timeout: float = 30.0) -> None:
        """Fresh student modules for the next exercise, with reference prerequisites patched in."""
        self._setup = {"op": "setup", "parts": list(parts), "prereq_source": prereq_source,
                       "prereq_names": prereq_names or {}}
        self._request(self._setup, timeout)

    def drive(self, fn: Callable[..., Any], *args: Any, timeout: float = 10.0) -> Any:
        """Run the worker-side function ``fn(student, *args)`` and return its plain-data result.

        ``fn`` is sent as source text: it must be a self-contained module-level function (imports inside).
        """
        name = f"{fn.__module__}.{fn.__qualname__}"  # two modules may each have a driver called `run`
        if name not in self._defined:
            self._request({"op": "define", "name": name, "function": fn.__name__, "source": _function_source(fn)},
                          self.startup_timeout)
            self._defined.add(name)
        return self._request({"op": "drive", "name": name, "args": encode(list(args))}, timeout)

    def ping(self) -> str:
        return self._request({"op": "ping"}, self.startup_timeout)
