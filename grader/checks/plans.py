"""Check plans: what a property check draws, and the oracles' answers on it, computed once for every student.

A check's examples depend only on the exercise, the check, its seed, its example budget and the size scale,
never on the student; so do the reference's and torch's answers on them.  The first grading in which a
property holds on every example records both — the examples and, per example, the answers the check asked
for through :func:`answer` — as one ``.npz`` of plain arrays (read with ``allow_pickle=False``: data, never
code).  Every later grading replays them: no hypothesis, and no oracle for the answers recorded.

The first replayed example that fails hands the property back to hypothesis, which draws the same examples
again — without running again those already run — and shrinks the failure as it would without a plan: for code
whose results depend only on its arguments, a plan changes how fast a grade comes, never what it says
(``tests/test_plans.py`` grades the reference and mutants with and without plans).

Each example's first call to the worker is recorded too (:func:`first_call`), and a replay sends all of them
ahead in one request (``drive_many``: one reply per call, each under its own budget), where live they took a
round trip each.  An example's first call can depend only on the example and its answers, never on what the
student's code returned for it; one that sends back an array the worker returned earlier in the check is not
recorded.  The batch shows the worker the later examples' first calls before it answers the first, and runs
them even when an earlier example fails (hypothesis then shrinks as usual, and may call the code again on the
examples after the failing one): code whose results depend on the calls it has seen before (a counter in a
global) may be graded differently with a plan than without.

A plan's file name is a hash of everything its content depends on: the grader's source, hypothesis' and
numpy's versions, the reference parts the exercise needs (or their absence), the exercise, the check, the
seed, the check's budget, the scale and the property's place in the check.  Anything else — a stale, missing or
unreadable plan — is rebuilt by the next grading.  Plans live in :func:`cache_dir` (mode 700, files 600: a hidden
check's plan holds its inputs; the sandboxed worker cannot see the folder, and nothing in it is ever sent whole).

>>> cache_dir()  # doctest: +SKIP
PosixPath('/home/me/.cache/deepgrade/plans')
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
import hashlib
import importlib.metadata
import io
import json
import math
import os
import shutil
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, cast

import numpy as np

from grader.checks import compare
from grader.checks.known import flatten, tags_of, unflatten

FORMAT = 2
GRADER = Path(__file__).resolve().parent.parent
#: Plans shipped with the grader, read-only: a student release carries its public checks' plans, a Gradescope
#: zip all of its checks' (:func:`record`).
SHIPPED = GRADER / "plans"


class Diverged(BaseException):
    """A replay asked for an answer its plan does not hold: the plan does not fit this run (a BaseException,
    so no ``except Exception`` in a check swallows it); the property falls back to hypothesis."""


# --------------------------------------------------------------------------- where, and under which key
def cache_dir() -> Path | None:
    """Where plans live: ``$DEEPGRADE_CACHE/plans``, else ``$XDG_CACHE_HOME/deepgrade/plans``, else
    ``~/.cache/deepgrade/plans``; None (no plans) where ``DEEPGRADE_PLANS=0``."""
    if os.environ.get("DEEPGRADE_PLANS", "1").strip().lower() in ("0", "off", "no", "false"):
        return None
    root = os.environ.get("DEEPGRADE_CACHE")
    if root:
        return Path(root) / "plans"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "deepgrade" / "plans"


@cache
def grader_key() -> str:
    """A hash of what decides which examples a check draws and what its oracles answer: the grader's source and
    the versions of hypothesis, numpy and torch (whose optimizers and layers answer torch-graded checks)."""
    import hypothesis

    try:
        torch = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch = "none"
    h = hashlib.sha256(f"{FORMAT}/{hypothesis.__version__}/{np.__version__}/{torch}/{sys.version_info[:2]}".encode())
    for path in sorted(GRADER.rglob("*.py")):
        h.update(str(path.relative_to(GRADER)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@cache
def reference_key(exercise: str, with_reference: bool) -> str:
    """A hash of the reference solutions an exercise is graded with ("none" without them): the recorded answers
    depend on them.  Only the parts it needs (``reference.solution_parts``) count, so a Gradescope zip, which
    holds only those, keys its plans as the instructor's full checkout does."""
    from grader import reference

    if not with_reference:
        return "none"
    h = hashlib.sha256()
    for part in reference.solution_parts([exercise]):
        h.update(part.encode() + b"\0" + (reference.SOLUTIONS / f"{part}.py").read_bytes() + b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class Key:
    """Everything a property's examples and answers depend on, besides :func:`grader_key`."""

    exercise: str
    check: str
    seed: int
    examples: int
    scale: int
    reference: str  # :func:`reference_key`
    call: int = 0  # the property's place among the check's ``for_all`` calls
    #: the check's time budget where the exercise is a re-timed copy of the registered one (:func:`key_for`): a plan
    #: holds each example's first call with its budget, and a call replayed ahead must have the budget it is run with
    timeout: float | None = None

    def path(self, root: Path) -> Path:
        fields = [
            grader_key(),
            self.exercise,
            self.check,
            self.seed,
            self.examples,
            self.scale,
            self.reference,
            self.call,
        ]
        text = "\0".join(map(str, fields if self.timeout is None else [*fields, self.timeout]))
        return root / grader_key()[:16] / f"{hashlib.sha256(text.encode()).hexdigest()}.npz"


def key_for(
    exercise: Any, check: str, seed: int, examples: int, scale: int, with_reference: bool, call: int = 0
) -> Key | None:
    """The key of a property of a registered exercise's check; None (no plan) for an exercise the registry does
    not hold (one a test declares: its checks are not in the source the key hashes).  The registered exercise
    with other time budgets for its checks (``dataclasses.replace``: the quick budgets of an attack's grade) has
    plans of its own, keyed by the check's budget: nothing drawn or answered depends on a budget."""
    from grader import registry

    try:
        registered = registry.get(exercise.id)
    except KeyError:
        return None
    timeout = None
    if registered is not exercise:
        if not _retimed(exercise, registered):
            return None
        timeout = next((c.timeout for c in exercise.checks if c.name == check), None)
    return Key(exercise.id, check, seed, examples, scale, reference_key(exercise.id, with_reference), call, timeout)


def _retimed(exercise: Any, registered: Any) -> bool:
    """Whether ``exercise`` is ``registered`` with nothing changed but its checks' time budgets."""
    if type(exercise) is not type(registered) or len(exercise.checks) != len(registered.checks):
        return False
    budgets = [dataclasses.replace(c, timeout=r.timeout) for c, r in zip(exercise.checks, registered.checks)]
    return dataclasses.replace(exercise, checks=budgets) == registered


# --------------------------------------------------------------------------- answers, recorded or replayed
#: What :func:`first_call` returns for a call that goes to the worker as usual.
LIVE: Any = type("Live", (), {"__repr__": lambda self: "LIVE"})()


@dataclass
class _Episode:
    """The answers of one example: being recorded, or being replayed (``pos`` the next one to hand out)."""

    answers: list[Any] = field(default_factory=list)
    replaying: bool = False
    pos: int = 0
    plain: bool = True  # False: an answer was not plain data, so this property gets no plan
    #: the example's first call to the worker, ``(driver, args, timeout)``: recorded, or replayed with ``outcome``
    call: Any = None
    outcome: Any = LIVE  # what the worker sent back for ``call`` when it was run ahead (:func:`first_call`)
    drove: bool = False  # the example has called the worker


_EPISODE: contextvars.ContextVar[_Episode | None] = contextvars.ContextVar("deepgrade_plan_episode", default=None)


def answer(fn: Callable[..., Any], *args: Any, keep: tuple[type[Exception], ...] = ()) -> Any:
    """``fn(*args)``: an oracle's answer (plain data: arrays, numbers, tuples…), recorded with the example being
    checked, or handed back from its plan when replaying.  An exception of a ``keep`` class (``NoReference``) is
    recorded too, and raised again on replay.

    The rule that keeps plans honest: ``fn`` and ``args`` may depend on the drawn example only, never on what
    the student's code returned — a plan recorded while grading one student is replayed for every other.

    >>> answer(lambda x: x + 1, 1)  # outside a plan: just the call
    2
    """
    episode = _EPISODE.get()
    if episode is None:
        return fn(*args)
    if episode.replaying:
        if episode.pos >= len(episode.answers):
            raise Diverged("the plan holds fewer answers than the check asks for")
        kind, value = episode.answers[episode.pos]
        episode.pos += 1
        if kind == "value":
            return value
        cls = next((c for c in keep if c.__name__ == kind), None)
        if cls is None:
            raise Diverged(f"the plan holds a {kind} where this check expects none")
        raise cls(value)
    try:
        value = fn(*args)
    except keep as exc:
        episode.answers.append((type(exc).__name__, str(exc)))
        raise
    try:
        episode.answers.append(("value", snapshot(value)))
    except (TypeError, ValueError, OverflowError):
        episode.plain = False  # graded as usual; only not recorded
    return value


def fixed(key: Key | None, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` for an oracle outside any property: a fixed computation on a check's own data (the reference's
    loss curve on the digits, its training steps from given weights), read from its plan where one is stored, else
    computed and stored (plain data only: arrays, numbers, lists, dicts…).  Every student of a course, and every
    ``check`` after the first, gets the same answer without computing it again.

    The plan is ``key``'s with the digest of ``args`` added: other arguments (another data set) are another plan.
    The rule of :func:`answer` holds: ``args`` never hold anything the student's code returned.  Without a key (an
    exercise the registry does not hold, another reference) it is just the call.

    >>> fixed(None, lambda x: x + 1, 1)
    2
    """
    if key is None:
        return fn(*args)
    try:
        key = replace(key, check=f"{key.check}\0fixed\0{_digest(list(args))}")
    except (TypeError, ValueError, OverflowError):
        return fn(*args)  # arguments that are not plain data: no plan
    cases = load(key)
    if cases is not None and len(cases) == 1 and len(cases[0][1]) == 1 and cases[0][1][0][0] == "value":
        return cases[0][1][0][1]
    value = fn(*args)
    save(key, [(None, [("value", value)], None)])  # False (not stored) for what is not plain data
    return value


def _digest(value: Any) -> str:
    """A digest of a plain value: its arrays' dtypes, shapes and bytes, its numbers, strings and structure."""
    flat: dict[str, np.ndarray] = {}
    flatten(value, "v", flat, exact=True)
    h = hashlib.blake2b(digest_size=16)
    for name, arr in flat.items():
        h.update(name.encode() + b"\0" + compare.digest(arr))
    return h.hexdigest()


def snapshot(value: Any) -> Any:
    """A copy of ``value`` as a plan holds it (the check may go on to change the arrays it got); TypeError,
    ValueError or OverflowError for what is not plain data."""
    out: dict[str, np.ndarray] = {}
    flatten(value, "v", out, exact=True)
    return unflatten(out, "v")


@contextlib.contextmanager
def _episode(episode: _Episode) -> Iterator[_Episode]:
    token = _EPISODE.set(episode)
    try:
        yield episode
    finally:
        _EPISODE.reset(token)


def is_recording() -> bool:
    """Whether an example's answers are being recorded."""
    episode = _EPISODE.get()
    return episode is not None and not episode.replaying


def recording() -> contextlib.AbstractContextManager[_Episode]:
    """Record the answers asked for within this block (one example)."""
    return _episode(_Episode())


def replaying(answers: list[Any], call: Any = None, outcome: Any = LIVE) -> contextlib.AbstractContextManager[_Episode]:
    """Hand out ``answers`` within this block (one example); see :func:`exhausted`.  ``outcome`` is what the
    worker sent back for ``call`` (the example's first call in its plan), run ahead of the example."""
    return _episode(_Episode(list(answers), replaying=True, call=call, outcome=outcome))


def first_call(driver: str, args: list[Any], timeout: float, *, recordable: bool = True) -> Any:
    """Called before every call of a check to the worker.  For an example's first call: while recording, note
    it (unless not ``recordable``: its arguments hold something the worker sent back earlier in the check, which
    no other student's worker may see ahead); while replaying, return the outcome the plan's call got when it
    was run ahead with the other examples' (``Context.for_all``), if this call is that one bit for bit.
    Anything else: :data:`LIVE`, the call goes to the worker.

    The rule that keeps this honest is :func:`answer`'s: a property's first call on an example depends on the
    example and the answers only; the replies of the student's code can only change its later calls (which
    always go to the worker as they come)."""
    episode = _EPISODE.get()
    if episode is None or episode.drove:
        return LIVE
    episode.drove = True
    if not episode.replaying:
        try:
            episode.call = (driver, snapshot(list(args)), float(timeout)) if recordable else None
        except (TypeError, ValueError, OverflowError):
            episode.call = None
        return LIVE
    if episode.outcome is LIVE or episode.call is None:
        return LIVE
    recorded_driver, recorded_args, recorded_timeout = episode.call
    if recorded_driver == driver and recorded_timeout == float(timeout) and same(recorded_args, list(args)):
        return episode.outcome
    return LIVE


def same(a: Any, b: Any) -> bool:
    """Whether two plain values are the same (arrays bit for bit, NaN equal to NaN, types too)."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is np.ndarray:
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        # numbers with the same bytes are equal (the usual case: the call replayed is the call recorded); for any
        # other dtype (NaT, a NaN in a structured field) the bytes say nothing more than array_equal does
        numeric = a.dtype.kind
        if numeric in "biufc" and a.tobytes() == b.tobytes():
            return True
        return bool(np.array_equal(a, b, equal_nan=numeric in "fc"))
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if not same(x, y):
                return False
        return True
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b) or (a != a and b != b)


def exhausted(episode: _Episode) -> None:
    """Raise :class:`Diverged` unless the replayed example asked for every answer of its plan."""
    if episode.pos != len(episode.answers):
        raise Diverged("the check asked for fewer answers than the plan holds")


def answered(check: Callable[..., None]) -> Callable[..., None]:
    """Mark a check function whose oracles all answer through :func:`answer`, in one property: once its plan is
    recorded, grading it needs neither torch nor the reference (``grader.runner.import_oracles``)."""
    check.answered = True  # type: ignore[attr-defined]
    return check


def is_answered(check: Callable[..., None]) -> bool:
    return bool(getattr(check, "answered", False))


# --------------------------------------------------------------------------- plans on disk
#: A plan: the examples, in the order drawn, each with the answers asked for while checking it and its first
#: call to the worker (``(driver, args, timeout)``, or None: see :func:`first_call`).
Cases = list[tuple[Any, list[Any], Any]]

_WRITE = threading.Lock()


def _pack(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Many small arrays as two (an index and one buffer): an ``.npz`` member costs more to read than its bytes."""
    index = [[k, v.dtype.str, list(v.shape)] for k, v in data.items()]
    return {
        "index": np.frombuffer(json.dumps(index).encode(), np.uint8),
        "blob": np.frombuffer(b"".join(v.tobytes() for v in data.values()), np.uint8),
    }  # C order


def _unpack(index: np.ndarray, blob: np.ndarray) -> dict[str, np.ndarray]:
    data, offset, raw = {}, 0, blob.tobytes()
    for k, dtype, shape in json.loads(index.tobytes()):
        dt = np.dtype(dtype)
        if dt.hasobject:
            raise ValueError("object arrays in a plan")
        dims = [int(d) for d in shape]
        if any(d < 0 for d in dims):
            raise ValueError("a negative dimension in a plan")
        count = math.prod(dims)  # numpy's prod was half of loading a plan
        data[str(k)] = np.frombuffer(raw, dt, count=count, offset=offset).reshape(tuple(shape))
        offset += count * dt.itemsize
    return data


def load(key: Key) -> Cases | None:
    """The plan of ``key`` from the cache, else from the plans shipped with the grader (a release, a Gradescope
    zip: :data:`SHIPPED`), or None (none recorded, or unreadable: this grading records it)."""
    root = cache_dir()
    for folder in ([root] if root is not None else []) + [SHIPPED]:
        found = load_path(key.path(folder))
        if found is not None:
            return found
    return None


#: Plans read, by the digest of their file's bytes: every student of a batch (every exercise of ``watch``) is
#: graded against the same plans, and reading a plan's arrays and building its values is most of loading it.
#: What is kept is never handed out: each load gets its own copy (:func:`fresh`).  The last :data:`_READ_KEPT`.
_READ: OrderedDict[bytes, Cases] = OrderedDict()
_READ_KEPT = 1024
_READ_LOCK = threading.Lock()


def load_path(path: Path) -> Cases | None:
    """The plan in the file ``path``, or None (missing or unreadable)."""
    try:
        raw = path.read_bytes()
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        with _READ_LOCK:
            cases = _READ.get(digest)
            if cases is not None:
                _READ.move_to_end(digest)
        if cases is None:
            cases = _read(raw)
            with _READ_LOCK:
                _READ[digest] = cases
                while len(_READ) > _READ_KEPT:
                    _READ.popitem(last=False)
        return fresh(cases)
    except Exception:  # noqa: BLE001 - missing, damaged or foreign: a missing plan, recorded by this grading
        return None


#: What a plan holds that never changes: shared by every copy.
_IMMUTABLE = frozenset((bool, int, float, complex, str, bytes, type(None)))


def fresh(value: Any) -> Any:
    """A copy of a plan's ``value`` that shares nothing a reader could change: its arrays copied, its lists, tuples
    and dicts rebuilt, scalars (numpy's too) shared.  What :func:`known.unflatten` builds holds nothing twice, so
    this is a deep copy (``copy.deepcopy``, with its memo and dispatch for each leaf, cost 5% of the grader's CPU
    on the numpy exercises); anything else goes through ``copy.deepcopy``.

    >>> a = np.zeros(2); b = fresh([a, (1, {"k": a})])
    >>> b[0] is a or b[1][1]["k"] is a, b[1][0]
    (False, 1)
    """
    kind = type(value)
    if kind is np.ndarray:
        return value.copy()
    if kind in _IMMUTABLE or (isinstance(value, np.generic) and not isinstance(value, np.void)):
        return value  # a numpy scalar cannot be changed in place (a structured one, np.void, can: it is copied)
    if kind is list:
        return [fresh(v) for v in value]
    if kind is tuple:
        return tuple([fresh(v) for v in value])
    if kind is dict:
        return {k: fresh(v) for k, v in value.items()}
    return copy.deepcopy(value)


def _read(raw: bytes) -> Cases:
    """The plan in a file's bytes (raises ValueError, KeyError... for anything but a plan of this format)."""
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        data = _unpack(npz["index"], npz["blob"])
    if int(data["format@i"][()]) != FORMAT:
        raise ValueError("a plan of another format")
    tags = tags_of(data)
    return [
        (
            unflatten(data, f"{i}:x", tags),
            [tuple(a) for a in unflatten(data, f"{i}:y", tags)],
            _call(unflatten(data, f"{i}:c", tags)),
        )
        for i in range(int(data["cases@i"][()]))
    ]


def _call(value: Any) -> tuple[str, list[Any], float] | None:
    """A recorded first call, checked for its form (else ValueError: the plan is unreadable)."""
    if value is None:
        return None
    if not (
        isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[0], str)
        and isinstance(value[1], list)
        and isinstance(value[2], float)
    ):
        raise ValueError("a malformed call in a plan")
    return value


def exists(key: Key) -> bool:
    root = cache_dir()
    return (root is not None and key.path(root).is_file()) or key.path(SHIPPED).is_file()


def save(key: Key, cases: Cases) -> bool:
    """Write the plan of ``key`` (atomically; files 600 in folders 700); False where it cannot be stored (no
    cache, a value that is not plain data, a read-only disk): grading goes on without it."""
    root = cache_dir()
    if root is None:
        return False
    data: dict[str, np.ndarray] = {"format@i": np.asarray(FORMAT), "cases@i": np.asarray(len(cases))}
    try:
        for i, (example, answers, call) in enumerate(cases):
            flatten(example, f"{i}:x", data, exact=True)
            flatten([tuple(a) for a in answers], f"{i}:y", data, exact=True)
            flatten(call, f"{i}:c", data, exact=True)
    except (TypeError, ValueError, OverflowError):
        return False
    path = key.path(root)
    try:
        with _WRITE:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.parent.mkdir(mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")  # mode 600
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(f, **cast("dict[str, Any]", _pack(data)))
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
    except OSError:
        return False
    return True


def record(
    into: Path,
    submission: Path,
    exercises: list[Any],
    *,
    hidden: bool,
    use_reference: bool,
    examples: int,
    secret: bytes | None = None,
) -> list[Path]:
    """Grade ``submission`` (the reference solutions) on ``exercises`` with a cache of its own, and copy the
    plans it records into ``into`` (the ``plans`` folder of a release or an autograder zip); returns the files.
    ``hidden`` records the hidden checks' plans too (never for a student release)."""
    from grader.runner import grade

    saved = {k: os.environ.get(k) for k in ("DEEPGRADE_CACHE", "DEEPGRADE_PLANS")}
    with tempfile.TemporaryDirectory(prefix="deepgrade-plans-") as cache:
        os.environ["DEEPGRADE_CACHE"], os.environ["DEEPGRADE_PLANS"] = cache, "1"
        try:
            result = grade(
                submission, exercises, hidden=hidden, use_reference=use_reference, examples=examples, secret=secret
            )
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        failing = [
            f"{e.id}: {c.name}" for e in result.exercises for c in e.checks if c.status not in ("passed", "skipped")
        ]
        if failing:
            raise RuntimeError(f"the reference fails {', '.join(failing[:3])}: no plans recorded from it")
        written = []
        for path in sorted((Path(cache) / "plans").rglob("*.npz")):
            dest = into / path.relative_to(Path(cache) / "plans")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            written.append(dest)
    return written
