"""The worker: the only process that ever runs student code.

This file is self-contained (stdlib + numpy) because it runs *outside* the grader's process,
possibly inside a sandbox that cannot see the rest of the grader.  The grader starts it as
``python child.py SUBMISSION_DIR`` and talks to it over stdin/stdout with length-prefixed JSON
messages.  Arrays travel as ``.npy`` bytes and are read back with ``allow_pickle=False``.

The same framing and codec functions are imported by the grader side (``grader._worker.client``),
so there is exactly one definition of the wire format.
"""
from __future__ import annotations

import base64
import io
import json
import os
import struct
import sys
import traceback
import types
from typing import Any, BinaryIO

MAX_MESSAGE = 512 * 1024 * 1024
_HEADER = struct.Struct("!Q")


# --------------------------------------------------------------------------- wire format
class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


def _np():
    import numpy

    return numpy


def encode(value: Any) -> Any:
    """Turn plain data (arrays, numbers, strings, lists, tuples, dicts with str keys) into JSON."""
    np = _np()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"__float__": repr(float(value))}  # np.float64 is a float: repr would say np.float64(inf)
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("an array of Python objects cannot be sent (dtype=object)")
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buf.getvalue()).decode("ascii")}
    if isinstance(value, np.generic):
        return {"__scalar__": encode(np.asarray(value))}
    if isinstance(value, (list, tuple)):
        return {"__tuple__": [encode(v) for v in value]} if isinstance(value, tuple) else [encode(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"dict keys must be str, got {type(k).__name__}")
            out[k] = encode(v)
        return {"__dict__": out}
    # torch tensors and other array-likes are *not* converted silently: the caller asked for plain data.
    raise TypeError(f"cannot send an object of type {type(value).__module__}.{type(value).__qualname__}")


def decode(value: Any) -> Any:
    """Inverse of :func:`encode`.  Never unpickles: ``np.load(..., allow_pickle=False)``."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "__ndarray__" in value:
            np = _np()
            raw = base64.b64decode(value["__ndarray__"], validate=True)
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
            if not isinstance(arr, np.ndarray) or arr.dtype.hasobject:
                raise ProtocolError("an array message did not hold a plain array")
            return arr
        if "__scalar__" in value:
            return decode(value["__scalar__"])[()]
        if "__float__" in value:
            text = value["__float__"]
            if text not in ("nan", "inf", "-inf"):
                raise ProtocolError(f"bad float literal {text!r}")
            return float(text)
        if "__tuple__" in value:
            return tuple(decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {str(k): decode(v) for k, v in value["__dict__"].items()}
        raise ProtocolError(f"unknown message object with keys {sorted(value)[:5]}")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ProtocolError(f"unexpected JSON value of type {type(value).__name__}")


def write_msg(stream: BinaryIO, obj: Any) -> None:
    body = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_msg(stream: BinaryIO) -> Any:
    (size,) = _HEADER.unpack(read_exact(stream, _HEADER.size))
    if size > MAX_MESSAGE:
        raise ProtocolError(f"message of {size} bytes is over the {MAX_MESSAGE} byte limit")
    try:
        return json.loads(read_exact(stream, size).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"malformed message: {exc}") from None


# --------------------------------------------------------------------------- worker side
class _Session:
    """State of one worker: the submission folder, fresh student modules, reference prerequisites."""

    def __init__(self, submission: str) -> None:
        self.submission = os.path.abspath(submission)
        self.drivers: dict[str, types.FunctionType] = {}
        self.prereqs: dict[str, dict[str, Any]] = {}  # part -> {name: reference object}
        self.loaded: set[str] = set()
        self.imports: list[list[str]] = []  # [part, module, "file:line"] seen since the last reply

    def reset(self, prereq_source: str, prereq_names: dict[str, list[str]]) -> None:
        for name in list(self.loaded):
            sys.modules.pop(name, None)
        self.loaded.clear()
        self.prereqs = {}
        if prereq_source:
            ns: dict[str, Any] = {"__name__": "_deepgrade_reference"}
            exec(compile(prereq_source, "<reference prerequisites>", "exec"), ns)
            self.prereqs = {part: {n: ns[n] for n in names} for part, names in prereq_names.items()}

    def student(self, part: str) -> types.ModuleType:
        """Import the student's ``<part>.py`` from the submission, with reference prerequisites patched in."""
        path = os.path.join(self.submission, part + ".py")
        if not os.path.isfile(path):
            raise _MissingFile(f"{part}.py is missing from the submission")
        if part not in self.loaded:
            # prerequisites of *other* parts must be patched before this module runs `from x import y`
            for other in self.prereqs:
                if other != part and other not in self.loaded:
                    self._import(other)
            self._import(part)
        mod = sys.modules[part]
        if getattr(mod, "__file__", None) and os.path.abspath(mod.__file__) != path:
            raise _MissingFile(f"{part}.py was shadowed by another module at {mod.__file__}")
        return mod

    def _import(self, part: str) -> None:
        import importlib

        sys.modules.pop(part, None)
        self.loaded.add(part)
        if not os.path.isfile(os.path.join(self.submission, part + ".py")):
            return
        mod = importlib.import_module(part)
        for name, obj in self.prereqs.get(part, {}).items():
            setattr(mod, name, obj)
        # a module that imported a prerequisite by name (`from losses import mse`) sees the reference too
        for other_part, objs in self.prereqs.items():
            for name, obj in objs.items():
                if other_part != part and name in vars(mod):
                    setattr(mod, name, obj)


class _MissingFile(Exception):
    pass


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
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}{where}"[:2000]


def _audit_imports(session: _Session) -> None:
    """Record the modules student code itself imports (an "import" audit event whose importer, past the
    import machinery, is a submission file or code it exec'd); a library importing its own dependencies is
    not recorded.  Modules already loaded raise no event: the grader's static scan covers those."""
    prefix = session.submission + os.sep
    machinery = os.path.dirname(os.__file__) + os.sep + "importlib" + os.sep

    def hook(event: str, args: tuple) -> None:
        if event != "import":
            return
        try:
            frame = sys._getframe(1)
            while frame is not None and (frame.f_code.co_filename.startswith("<frozen importlib")
                                         or frame.f_code.co_filename.startswith(machinery)):
                frame = frame.f_back
            if frame is None:
                return
            importer = frame.f_code.co_filename
            if not (importer.startswith(prefix) or importer.startswith("<")):
                return
            part, where = "", ""
            while frame is not None:
                name = frame.f_code.co_filename
                if name.startswith(prefix):
                    stem = name[len(prefix):].rsplit(".", 1)[0]
                    if not where:
                        where = f"{name[len(prefix):]}:{frame.f_lineno}"
                    if stem in session.loaded or not part:
                        part = stem
                frame = frame.f_back
            if where and len(session.imports) < 1000:
                session.imports.append([part, str(args[0]), where])
        except Exception:  # noqa: BLE001 - an audit hook must never break the import
            pass

    sys.addaudithook(hook)


def _serve(session: _Session, proto_in: BinaryIO, proto_out: BinaryIO) -> None:
    while True:
        try:
            request = read_msg(proto_in)
        except EOFError:
            return
        op = request.get("op")
        try:
            if op == "ping":
                result: Any = "pong"
            elif op == "setup":
                session.reset(request.get("prereq_source", ""), request.get("prereq_names", {}))
                for part in request.get("parts", []):
                    session.student(part)
                result = None
            elif op == "define":
                ns: dict[str, Any] = {"__name__": "_deepgrade_driver"}
                exec(compile(request["source"], f"<driver {request['name']}>", "exec"), ns)
                session.drivers[request["name"]] = ns[request.get("function", request["name"])]
                result = None
            elif op == "drive":
                fn = session.drivers[request["name"]]
                args = decode(request["args"])
                result = fn(session.student, *args)
            else:
                raise ValueError(f"unknown op {op!r}")
            payload = {"ok": encode(result)}
        except _MissingFile as exc:
            payload = {"error": "missing", "message": str(exc)}
        except BaseException as exc:  # noqa: BLE001 - everything the student raises is reported, never fatal
            if isinstance(exc, (KeyboardInterrupt,)):
                raise
            if isinstance(exc, SystemExit):
                payload = {"error": "error", "message": f"the code called sys.exit({exc.code!r})"}
            else:
                payload = {"error": _error_kind(exc), "message": _describe(exc, session.submission)}
        if session.imports:
            payload["imports"], session.imports = session.imports, []
        try:
            write_msg(proto_out, payload)
        except TypeError as exc:  # the result was not plain data
            write_msg(proto_out, {"error": "error", "message": f"returned a value that is not plain data: {exc}"})


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    submission = argv[0]
    # The protocol owns the original stdin/stdout; whatever the student prints goes to stderr.
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)  # noqa: SIM115
    sys.stdout = sys.stderr
    sys.path[0:0] = [os.path.abspath(submission)]
    sys.dont_write_bytecode = True
    session = _Session(submission)
    _audit_imports(session)
    _serve(session, proto_in, proto_out)


if __name__ == "__main__":
    # The worker's own directory must not shadow student modules.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    main()
