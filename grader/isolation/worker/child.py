"""The worker: the only process that ever runs student code.

The grader starts it as ``python -u child.py SUBMISSION_DIR`` (possibly inside a sandbox that can see only
this folder, the Python runtime and the submission) and talks to it over stdin/stdout in the format of
``wire.py`` beside this file.  Requests: ``ping``, ``setup`` (fresh student modules for the next exercise),
``define`` (a worker-side driver, as source), ``drive`` (run a driver), ``drive_many`` (several drives, one
reply each).  Replies: ``{"ok": value}`` or
``{"error": kind, "message": ...}``, with the captured ``stdout`` of the call and the forbidden ``imports``
seen.

**No reference code ever comes here.**  An exercise's prerequisites (the reference versions of the functions
and classes it builds on) are *stubs*: a call sends its arguments to the grader as plain data, the grader
runs the reference there and sends the result back (``{"call": ...}`` while a ``drive`` is in progress).
Only the names the grader announced for this exercise are served; the grader checks that again.

Student modules are imported from source only: no ``__pycache__``, no ``.pyc``, no extension module of the
submission is ever loaded, and no bytecode is written.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import os
import sys
import traceback
import types
from typing import Any, BinaryIO

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load_wire() -> types.ModuleType:
    """``wire.py`` beside this file, loaded by path so that no plain module name is taken from the student."""
    spec = importlib.util.spec_from_file_location("_deepgrade_wire", os.path.join(_HERE, "wire.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["_deepgrade_wire"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


wire = _load_wire()
#: The largest request the grader may send (training data is a few MB).
REQUEST_LIMIT = 256 * 1024 * 1024
STDOUT_LIMIT = 4096


# --------------------------------------------------------------------------- source-only imports
class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles the ``.py`` file itself: a ``__pycache__`` entry next to it is never read."""

    def get_code(self, fullname: str) -> types.CodeType:
        path = self.get_filename(fullname)
        return compile(self.get_data(path), path, "exec", dont_inherit=True)


def _source_only_hook(folder: str):
    def hook(path: str):
        if os.path.abspath(path or ".") != folder:
            raise ImportError("not the submission folder")
        return importlib.machinery.FileFinder(path, (_SourceOnlyLoader, [".py"]))

    return hook


# --------------------------------------------------------------------------- the session
class _MissingFile(Exception):
    pass


class GraderCallError(Exception):
    """A call to a given (reference) function failed in the grader; the message says why."""


class _Capture(io.TextIOBase):
    """sys.stdout during a call: keeps the first ``STDOUT_LIMIT`` characters and counts the rest."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        if self.size < STDOUT_LIMIT:
            self.parts.append(text[: STDOUT_LIMIT - self.size])
        self.size += len(text)
        return len(text)

    def text(self) -> str:
        out = "".join(self.parts)
        return out + (f"\n... ({self.size - STDOUT_LIMIT} more characters)" if self.size > STDOUT_LIMIT else "")


class _Session:
    """State of one worker: the submission folder, fresh student modules, stubs of the given functions."""

    def __init__(self, submission: str, proto_in: BinaryIO, proto_out: BinaryIO) -> None:
        self.submission = os.path.abspath(submission)
        self.proto_in, self.proto_out = proto_in, proto_out
        self.drivers: dict[str, types.FunctionType] = {}
        self.given: dict[str, dict[str, Any]] = {}  # part -> {name: stub}
        self.loaded: set[str] = set()
        self.part = ""
        self.forbidden: tuple[str, ...] = ()
        self.imports: list[list[str]] = []  # [part, module, "file:line"] of forbidden imports since the last reply

    # ------------------------------------------------------------------ calls into the grader
    def call_grader(self, request: dict[str, Any]) -> Any:
        wire.write_blocking(self.proto_out, {"call": request})
        reply = wire.read_blocking(self.proto_in, REQUEST_LIMIT, spin=wire.ANSWER_SPIN_SECONDS)
        if not isinstance(reply, dict) or ("ok" not in reply and "error" not in reply):
            raise GraderCallError("the grader sent a malformed answer")
        if "error" in reply:
            raise GraderCallError(str(reply["error"]))
        return reply["ok"]

    def reset(self, part: str, given: dict[str, dict[str, Any]], forbidden: list[str]) -> None:
        for name in list(self.loaded):
            sys.modules.pop(name, None)
        self.loaded.clear()
        self.part, self.forbidden = part, tuple(forbidden)
        self.given = {}
        for other, spec in given.items():
            stubs: dict[str, Any] = {n: _function_stub(self, other, n) for n in spec.get("functions", [])}
            stubs.update(
                {n: _class_stub(self, other, n, spec.get("methods", {}).get(n, [])) for n in spec.get("classes", [])}
            )
            self.given[other] = stubs

    def student(self, part: str) -> types.ModuleType:
        """The student's ``<part>.py`` from the submission, with the given functions stubbed in."""
        path = os.path.join(self.submission, part + ".py")
        if not os.path.isfile(path):
            raise _MissingFile(f"{part}.py is missing from the submission")
        if part not in self.loaded:
            # the given functions of *other* parts must be in place before this module runs `from x import y`
            for other in self.given:
                if other != part and other not in self.loaded:
                    self._import(other)
            self._import(part)
        mod = sys.modules[part]
        if os.path.abspath(getattr(mod, "__file__", "") or "") != path:
            raise _MissingFile(f"{part}.py was shadowed by another module")
        return mod

    def _import(self, part: str) -> None:
        import importlib

        sys.modules.pop(part, None)
        self.loaded.add(part)
        if not os.path.isfile(os.path.join(self.submission, part + ".py")):
            return
        mod = importlib.import_module(part)
        for name, obj in self.given.get(part, {}).items():
            setattr(mod, name, obj)
        # a module that imported a given function by name (`from losses import mse`) gets the stub too
        for other, objs in self.given.items():
            for name, obj in objs.items():
                if other != part and name in vars(mod):
                    setattr(mod, name, obj)


def _function_stub(session: _Session, part: str, name: str) -> Any:
    def given(*args: Any, **kwargs: Any) -> Any:
        return session.call_grader(
            {"kind": "function", "part": part, "name": name, "args": list(args), "kwargs": kwargs}
        )

    given.__name__ = given.__qualname__ = name
    given.__doc__ = f"{part}.{name}: given for this exercise (the reference, computed by the grader)"
    return given


def _class_stub(session: _Session, part: str, name: str, methods: list[str]) -> type:
    """A class whose instances live in the grader: the arrays given to the constructor (the parameters an
    optimizer updates in place) are sent with every method call and updated in place from the answer."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self._deepgrade_arrays = wire.arrays_in([list(args), kwargs], [])
        self._deepgrade_handle = session.call_grader(
            {"kind": "new", "part": part, "name": name, "args": list(args), "kwargs": kwargs}
        )

    def method(attr: str) -> Any:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            arrays = self._deepgrade_arrays
            reply = session.call_grader(
                {
                    "kind": "method",
                    "handle": self._deepgrade_handle,
                    "name": attr,
                    "args": list(args),
                    "kwargs": kwargs,
                    "state": list(arrays),
                }
            )
            state = reply.get("state") if isinstance(reply, dict) else None
            if not isinstance(state, list) or len(state) != len(arrays):
                raise GraderCallError("the grader sent a malformed answer")
            for mine, new in zip(arrays, state):
                if mine.flags.writeable:
                    mine[...] = new
            return reply.get("result")

        call.__name__ = call.__qualname__ = attr
        return call

    namespace: dict[str, Any] = {"__init__": __init__, "__doc__": f"{part}.{name}: given for this exercise"}
    namespace.update({m: method(m) for m in methods})
    return type(name, (), namespace)


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, NotImplementedError):
        return "not_implemented"
    if isinstance(exc, AttributeError) and str(exc).startswith("module '"):
        return "missing"  # the submission lacks a function the exercise asks for
    return "error"


def _describe(exc: BaseException, submission: str) -> str:
    """One line naming the exception and the student's line where it happened."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"SyntaxError in {os.path.basename(exc.filename)} line {exc.lineno}: {exc.msg}"
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(submission):
            where = f" (at {os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}: {frame.line})"
            break
    # all lines, not the first: Keras puts the reason under "Exception encountered when calling ..."
    text = " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
    text = text if len(text) <= 600 else text[:600] + "…"
    return f"{type(exc).__name__}: {text}{where}"[:2000]


def _audit_imports(session: _Session) -> None:
    """Record every import of a package the current part forbids (whatever file claims to import it: in a
    numpy-only worker nothing but student code could ask for torch), with the student's line if any."""
    prefix = session.submission + os.sep

    def hook(event: str, args: tuple) -> None:
        if event != "import" or not session.forbidden:
            return
        try:
            module = str(args[0])
            if module.split(".")[0] not in session.forbidden or len(session.imports) >= 1000:
                return
            part, where = session.part, "(not in a submission file)"
            frame: types.FrameType | None = sys._getframe(1)
            while frame is not None:
                name = frame.f_code.co_filename
                if name.startswith(prefix):
                    where = f"{name[len(prefix) :]}:{frame.f_lineno}"
                    part = name[len(prefix) :].rsplit(".", 1)[0]
                    break
                frame = frame.f_back
            session.imports.append([part, module, where])
        except Exception:  # noqa: BLE001 - an audit hook must never break the import
            pass

    sys.addaudithook(hook)


def _reseed() -> None:
    """Every random source starts from the same state before each call: the same code, the same grade."""
    import random

    random.seed(0)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(0)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "manual_seed"):
        if _accelerated(torch):
            torch.manual_seed(0)  # the default generator of every device (CPU, CUDA, MPS)
        else:
            torch.random.default_generator.manual_seed(0)  # the CPU's: no other device can run in this process
        cudnn = getattr(getattr(torch, "backends", None), "cudnn", None)
        if cudnn is not None:  # cuDNN's autotuner picks kernels by timing, and some of them are not deterministic
            cudnn.benchmark, cudnn.deterministic = False, True


def _accelerated(torch: Any) -> bool:
    """Whether this torch was built for a device beside the CPU (CUDA, MPS, XPU, MTIA, a custom backend), so that
    one might start in this process; True where torch cannot say.  A build fact only: asking whether a device is
    *present* would start CUDA's driver (a fifth of a second, and a child forked after it cannot use CUDA).
    Where none was built in, ``torch.manual_seed`` would still queue a lazy seed for CUDA, MTIA and XPU, each
    formatting a stack trace: about 90 µs before every call of a worker that imported torch."""
    try:
        return bool(
            torch.backends.cuda.is_built()
            or torch.backends.mps.is_built()
            or torch.xpu._is_compiled()
            or torch.mtia._is_compiled()
            or torch._C._get_privateuse1_backend_name() != "privateuseone"
        )
    except Exception:  # noqa: BLE001 - an older or a broken torch: seed every device, as torch.manual_seed does
        return True


def _preload(session: _Session, modules: Any) -> list[str]:
    """Import libraries (torch, keras) before any student module, with the submission off ``sys.path`` so no
    file of the student's runs: the grader asks for this while it grades other parts, so the import's seconds
    are spent on an idle core.  Returns the modules that could not be imported (they are imported, or fail,
    later as the student's code asks for them)."""
    import importlib

    failed = []
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != session.submission]
    try:
        for name in modules if isinstance(modules, list) else []:
            try:
                importlib.import_module(str(name))
            except Exception:  # noqa: BLE001 - absent or broken: the student's own import will say so
                failed.append(str(name))
    finally:
        sys.path[:] = saved
    return failed


def _handle(session: _Session, request: Any, capture: _Capture) -> Any:
    """The result of one request (raises what the request, or the student's code, raised)."""
    op = request.get("op") if isinstance(request, dict) else None
    if op == "ping":
        return "pong"
    if op == "setup":
        session.reset(request.get("part", ""), request.get("given", {}), request.get("forbidden", []))
        sys.stdout = capture
        for part in request.get("parts", []):
            session.student(part)
        return None
    if op == "preload":
        return _preload(session, request.get("modules", []))
    if op == "define":
        ns: dict[str, Any] = {"__name__": "_deepgrade_driver"}
        exec(compile(request["source"], f"<driver {request['name']}>", "exec"), ns)
        session.drivers[request["name"]] = ns[request.get("function", request["name"])]
        return None
    if op == "drive":
        fn = session.drivers[request["name"]]
        args = request["args"]
        _reseed()
        sys.stdout = capture
        return fn(session.student, *args)
    raise ValueError(f"unknown op {op!r}")


def _reply(session: _Session, request: Any) -> dict[str, Any]:
    """The reply to one request: its result or its error, with what the call printed and imported."""
    capture = _Capture()
    try:
        payload: dict[str, Any] = {"ok": _handle(session, request, capture)}
    except _MissingFile as exc:
        payload = {"error": "missing", "message": str(exc)}
    except BaseException as exc:  # everything the student raises is reported, never fatal
        if isinstance(exc, KeyboardInterrupt):
            raise
        if isinstance(exc, SystemExit):
            payload = {"error": "error", "message": f"the code called sys.exit({exc.code!r})"}
        else:
            payload = {"error": _error_kind(exc), "message": _describe(exc, session.submission)}
    finally:
        sys.stdout = sys.stderr
    if capture.size:
        payload["stdout"] = capture.text()
    if session.imports:
        payload["imports"], session.imports = session.imports, []
    return payload


def _send(session: _Session, payload: dict[str, Any]) -> None:
    try:
        wire.write_blocking(session.proto_out, payload)  # packed whole before the first byte is written
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - not plain data (TypeError), or a student's subclass raised on the way
        try:
            detail = f"{type(exc).__name__}: {exc}"[:500]
        except Exception:  # noqa: BLE001 - its __str__ raised too
            detail = type(exc).__name__
        message = f"returned a value that is not plain data: {detail}"
        wire.write_blocking(session.proto_out, {"error": "error", "message": message})


def _serve(session: _Session) -> None:
    while True:
        try:
            request = wire.read_blocking(session.proto_in, REQUEST_LIMIT)
        except EOFError:
            return
        if isinstance(request, dict) and request.get("op") == "drive_many":
            # several drives in one request (a replayed property's examples): one reply each, in order, each
            # written as soon as its call returns, so the grader times every call on its own
            calls = request.get("calls")
            for call in calls if isinstance(calls, list) else []:
                _send(session, _reply(session, {**call, "op": "drive"} if isinstance(call, dict) else None))
            continue
        _send(session, _reply(session, request))


def _die_with_parent() -> None:
    """Be killed (SIGKILL, by the kernel) when the process that started this one ends: the grader, or what the
    grader started and which dies with it (bubblewrap, ``setpriv --pdeathsig`` then ``unshare``; a template's
    worker has it set already), so that a grader killed without a word (SIGKILL, the OOM killer) takes the worker
    with it.  After the launcher's change of uid, which would clear it.  Where the parent is gone already, the
    requests pipe is closed and the worker ends at its first read."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError, ImportError):  # not Linux
        pass


def main(argv: list[str] | None = None) -> None:
    _die_with_parent()
    argv = sys.argv[1:] if argv is None else argv
    submission = os.path.abspath(argv[0])
    # The protocol owns the original stdin/stdout; whatever the student prints goes to stderr.
    proto_in = wire.Inbox(os.dup(0), spin=wire.spin_seconds(), block=True)
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)
    sys.stdout = sys.stderr
    sys.dont_write_bytecode = True
    sys.path_hooks.insert(0, _source_only_hook(submission))
    sys.path_importer_cache.clear()
    sys.path[0:0] = [submission]
    session = _Session(submission, proto_in, proto_out)
    _audit_imports(session)
    _serve(session)


if __name__ == "__main__":
    # The worker's own directory must not shadow student modules.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    main()
