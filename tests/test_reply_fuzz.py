"""Nothing from the worker is trusted in shape.

Every driver declares its reply's schema (``grader/checks/replies.py``) and ``Context.drive`` refuses replies
that do not fit.  The fuzz test then runs every check of every exercise (hidden twins too) against a fake
worker that answers each call, instantly, with data that *fits* the driver's schema: mostly the reference's
answer (computed here, so that later calls of the check are reached), sometimes that answer with one part
made wrong (another dtype, shape, length, key, a NaN, a structured or str array) or random data (``ANY``: any
plain data at all).  Each check must end as the student's failure, the student's error, a skip, or a pass —
never as any other exception, which the runner would report as a grader error.  Checks that train are fed
random data only: their honest answer would train.
"""

from __future__ import annotations

import importlib.util
import inspect
import pkgutil
import time
import traceback
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import grader.checks
import grader.exercises
from grader import reference, registry
from grader.checks import replies
from grader.checks.context import Context, NoReference
from grader.checks.failure import CheckFailed
from grader.checks.replies import (
    ANY,
    FLOAT_ARRAY,
    INT,
    NUMBER,
    STR,
    MalformedReply,
    conform,
    dict_of,
    fields,
    list_of,
    one_of,
    returns,
    tuple_of,
)
from grader.isolation.worker.client import StudentError, _function_source

#: Fuzzed runs of each check (of each hidden twin: the same code on larger data).
SEEDS, HIDDEN_SEEDS = 3, 1
#: Calls, and seconds, a check may take before the fake worker "times out" (bounds hypothesis' shrinking).
CALLS, SECONDS = 40, 0.25
#: Keys that check code looks for, so that random dicts sometimes get past the first test.
KEYS = [
    "W1",
    "b1",
    "W2",
    "b2",
    "Wx",
    "Wh",
    "b",
    "Wy",
    "by",
    "cpu",
    "cuda",
    "loss",
    "grads",
    "state",
    "losses",
    "fc1.weight",
    "fc1.bias",
    "fc2.weight",
    "fc2.bias",
    "result",
    "args",
    "x",
    "y",
    "",
    "\x00",
]


# ------------------------------------------------------------------ random plain data
def _pick(rng: np.random.Generator, options: list[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def _float(rng: np.random.Generator) -> float:
    return float(
        rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e308, -1e-320, 1.0, 0.5])
        if rng.random() < 0.5
        else rng.standard_normal() * 10.0 ** rng.integers(-3, 4)
    )


def _int(rng: np.random.Generator) -> int:
    return (
        int(rng.choice([0, 1, -1, 2, 10, 2**31, -(2**63), 2**63 - 1]))
        if rng.random() < 0.5
        else int(rng.integers(-100, 100))
    )


def _str(rng: np.random.Generator) -> str:
    return str(rng.choice(["", "x", "cpu", "meta", "ok", "torch.float32", "relu", "é\u202e\n", "a" * 300] + KEYS))


def _shape(rng: np.random.Generator) -> tuple[int, ...]:
    r = rng.random()
    if r < 0.1:
        return ()
    if r < 0.15:
        return (0,) if rng.random() < 0.5 else (3, 0, 2)
    if r < 0.2:
        return (1,) * int(rng.integers(5, 12))  # many dimensions
    if r < 0.23:
        return (int(rng.integers(200, 400)), int(rng.integers(200, 400)))  # big, within reason
    return tuple(int(rng.integers(1, 6)) for _ in range(int(rng.integers(1, 4))))


def _array(rng: np.random.Generator, kinds: str = "biufc", shape: tuple[int, ...] | None = None) -> np.ndarray:
    shape = _shape(rng) if shape is None else shape
    kind = str(rng.choice(list(kinds)))
    if kind == "f":
        dtype = _pick(rng, [np.float64, np.float64, np.float32, np.float16])
        a = rng.standard_normal(shape).astype(dtype)
        if a.size and rng.random() < 0.3:
            a.flat[int(rng.integers(a.size))] = rng.choice([np.nan, np.inf, -np.inf])
        return a
    if kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex128)
    if kind == "b":
        return rng.random(shape) < 0.5
    if kind == "u":
        return rng.integers(0, 255, shape).astype(np.uint8)
    if kind == "i":
        return rng.integers(-50, 50, shape).astype(_pick(rng, [np.int64, np.int32, np.int8]))
    if kind == "U":
        return np.full(shape, "a")
    return np.zeros(shape, dtype=[("a", "<f8"), ("b", "<i4")])  # structured


def plain(rng: np.random.Generator, depth: int = 0) -> Any:
    """Any plain data the wire can carry: scalars, strings, arrays of every kind, nested containers."""
    r = rng.random() * (1.0 if depth < 3 else 0.6)
    if r < 0.05:
        return None
    if r < 0.08:
        return bool(rng.random() < 0.5)
    if r < 0.13:
        return _int(rng) if rng.random() < 0.8 else int(rng.choice([2**70, -(2**200)]))
    if r < 0.2:
        return _float(rng)
    if r < 0.24:
        return _str(rng)
    if r < 0.27:
        return _pick(rng, [np.float64(np.nan), np.float32(1.5), np.int64(3), np.bool_(True), np.str_("s")])
    if r < 0.5:
        return _array(rng, "fffffbiucUV")
    if r < 0.6:
        return [plain(rng, depth + 1) for _ in range(int(rng.choice([0, 1, 2, 3, 5, 12])))]
    if r < 0.8:
        return tuple(plain(rng, depth + 1) for _ in range(int(rng.choice([0, 1, 2, 2, 3, 4, 6]))))
    return {
        str(rng.choice(KEYS)) if rng.random() < 0.8 else _str(rng): plain(rng, depth + 1)
        for _ in range(int(rng.choice([0, 1, 2, 4, 6])))
    }


def junk(schema: replies.Schema, rng: np.random.Generator, depth: int = 0) -> Any:
    """Random data that fits ``schema``."""
    if isinstance(schema, replies.Anything):
        return plain(rng, depth)
    if isinstance(schema, replies.Array):
        return _array(rng, schema.kinds)
    if isinstance(schema, replies.Scalar):
        make = {
            "number": lambda: _float(rng) if rng.random() < 0.5 else _int(rng),
            "int": lambda: _int(rng),
            "str": lambda: _str(rng),
            "bool": lambda: bool(rng.random() < 0.5),
        }[schema.kind]
        value: Any = make()
        if rng.random() < 0.2 and not isinstance(value, str):  # numpy scalars travel too
            value = np.asarray(value)[()]
        return value
    if isinstance(schema, replies.NoneValue):
        return None
    if isinstance(schema, replies.ListOf):
        return [junk(schema.item, rng, depth + 1) for _ in range(int(rng.choice([0, 1, 2, 3, 4, 8, 30])))]
    if isinstance(schema, replies.TupleOf):
        if schema.rest is not None:
            return tuple(junk(schema.rest, rng, depth + 1) for _ in range(int(rng.choice([0, 1, 2, 3, 5, 6]))))
        return tuple(junk(s, rng, depth + 1) for s in schema.items)
    if isinstance(schema, replies.DictOf):
        keys = list(schema.required) + [str(rng.choice(KEYS)) for _ in range(int(rng.choice([0, 1, 2, 4])))]
        return {k: junk(schema.value, rng, depth + 1) for k in keys}
    if isinstance(schema, replies.Fields):
        out = {k: junk(s, rng, depth + 1) for k, s in schema.fields}
        if rng.random() < 0.2:
            out["extra"] = plain(rng, depth + 1)
        return out
    if isinstance(schema, replies.OneOf):
        return junk(schema.options[int(rng.integers(len(schema.options)))], rng, depth)
    raise AssertionError(f"the fuzz test does not know the schema {schema!r}")


def near_miss(value: Any, rng: np.random.Generator, depth: int = 0) -> Any:
    """``value`` (a correct answer) with one part made slightly wrong: another dtype, shape, container, length,
    key, a NaN — what a wrong or hostile submission would send instead."""
    r = rng.random()
    if isinstance(value, (list, tuple)) and value and r < 0.7 and depth < 6:
        items = list(value)
        r = rng.random()
        if r < 0.6:
            i = int(rng.integers(len(items)))
            items[i] = near_miss(items[i], rng, depth + 1)
        elif r < 0.75:
            items = items[:-1]
        elif r < 0.85:
            return tuple(items) if isinstance(value, list) else items
        else:
            items.append(plain(rng, depth + 1))
        return type(value)(items)
    if isinstance(value, dict) and value and r < 0.7 and depth < 6:
        out = dict(value)
        key = _pick(rng, list(out))
        r = rng.random()
        if r < 0.6:
            out[key] = near_miss(out[key], rng, depth + 1)
        elif r < 0.8:
            del out[key]
        else:
            out[str(rng.choice(KEYS))] = plain(rng, depth + 1)
        return out
    if isinstance(value, np.ndarray) and value.dtype.names is None:
        changes = [
            lambda a: a.astype(_pick(rng, [np.float32, np.float16, np.int64, np.complex128, np.bool_])),
            lambda a: a.reshape(-1),
            lambda a: a[..., None],
            lambda a: a[:-1] if a.ndim else a[None],
            lambda a: a.T,
            lambda a: a.tolist(),
            lambda a: np.full(a.shape, np.nan),
            lambda a: np.full(a.shape, "x"),
            lambda a: np.zeros(a.shape, dtype=[("a", "<f8")]),
            lambda a: a[()] if a.ndim == 0 else a.ravel()[:1],
            lambda a: np.repeat(a, 2),
            lambda a: a.astype(np.int64) * 3 + 1000 if a.dtype.kind in "iu" else a * 3 + 1000,
            lambda a: np.zeros(a.shape, dtype=[("a", "<f8")]),
            lambda a: np.full(a.shape, "x"),
        ]
        return _pick(rng, changes)(value)
    if isinstance(value, (bool, np.bool_)):
        return _pick(rng, [not value, 1, None, "True"])
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _pick(rng, [float("nan"), float("inf"), -value, 2**70, str(value), np.asarray([value]), None])
    return plain(rng, depth)


def mutate(value: Any, schema: replies.Schema, rng: np.random.Generator, depth: int = 0) -> Any:
    """``value`` (a reply that fits ``schema``) with one part changed, still fitting ``schema``."""
    if isinstance(schema, replies.Anything):
        return near_miss(value, rng)
    if rng.random() < 0.15 or depth > 8:
        return junk(schema, rng, depth)
    if isinstance(schema, replies.Fields) and isinstance(value, dict):
        key, sub = schema.fields[int(rng.integers(len(schema.fields)))]
        return {**value, key: mutate(value[key], sub, rng, depth + 1)}
    if isinstance(schema, (replies.ListOf, replies.TupleOf, replies.DictOf)) and value and rng.random() < 0.8:
        if isinstance(value, dict) and isinstance(schema, replies.DictOf):
            key = _pick(rng, list(value))
            if rng.random() < 0.3 and key not in schema.required:
                return {k: v for k, v in value.items() if k != key}
            return {**value, key: mutate(value[key], schema.value, rng, depth + 1)}
        items = list(value)
        i = int(rng.integers(len(items)))
        if isinstance(schema, replies.TupleOf) and schema.rest is None:
            items[i] = mutate(items[i], schema.items[i], rng, depth + 1)
        elif rng.random() < 0.3:
            items = items[:i] + items[i + 1 :]
        elif isinstance(schema, replies.ListOf):
            items[i] = mutate(items[i], schema.item, rng, depth + 1)
        elif isinstance(schema, replies.TupleOf) and schema.rest is not None:
            items[i] = mutate(items[i], schema.rest, rng, depth + 1)
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(schema, replies.Array) and isinstance(value, np.ndarray):
        changed = near_miss(value, rng)
        return changed if isinstance(changed, np.ndarray) else value
    if isinstance(schema, replies.OneOf):
        for option in schema.options:
            try:
                return mutate(conform(value, option), option, rng, depth)
            except MalformedReply:
                continue
    return junk(schema, rng, depth)


def honest(fn: Any, args: tuple[Any, ...]) -> Any:
    """The driver's reply for the reference, computed here; ``_NO_ANSWER`` where there is none."""
    import torch

    threads = torch.get_num_threads()
    try:
        return fn(reference.module, *args)
    except Exception:  # noqa: BLE001 - a driver may need what this process lacks (a GPU)
        return _NO_ANSWER
    finally:
        torch.set_num_threads(threads)


_NO_ANSWER = object()
#: Drivers not run here: they switch torch into a device guard.
_NOT_HONEST = ("_on_meta", "_gan_on_meta")


class FakeWorker:
    """Answers every call at once with data that fits the driver's schema: random plain data, or (where the
    check trains nothing) the reference's answer, intact or with one part changed."""

    def __init__(self, seed: int, honest: bool = True) -> None:
        self.rng = np.random.default_rng(seed)
        self.honest = honest and reference.available()
        self.calls = 0
        self.deadline = float("inf")
        self.submission = Path(".")
        self.imports: list[tuple[str, str, str]] = []

    def drive(self, fn: Any, *args: Any, timeout: float = 10.0) -> Any:
        self.calls += 1
        if self.calls == 1:
            self.deadline = time.perf_counter() + SECONDS
        if self.calls > CALLS or time.perf_counter() > self.deadline:
            raise StudentError("timeout", "the fake worker stops answering")
        schema = replies.schema_of(fn)
        r = self.rng.random()
        if r < 0.02:
            raise StudentError("error", "ValueError: raised by the student's code")
        if self.honest and r < 0.95 and fn.__name__ not in _NOT_HONEST:  # mostly right: later code is reached
            good = honest(fn, args)
            if good is not _NO_ANSWER:
                if r < 0.7:
                    return good
                changed = mutate(good, schema, self.rng)
                try:
                    return conform(changed, schema)
                except MalformedReply:
                    pass
        return junk(schema, self.rng)


# ------------------------------------------------------------------ the fuzz test
def _available(ex: registry.Exercise) -> bool:
    return all(importlib.util.find_spec(r) is not None for r in ex.requires)


CHECKS = [(ex, c) for ex in registry.all_exercises() if _available(ex) for c in ex.checks]


@pytest.mark.parametrize("ex,check", CHECKS, ids=[f"{ex.id}:{c.name}" for ex, c in CHECKS])
def test_junk_replies_are_the_students_fault(ex, check):
    use_reference = reference.available()
    first = zlib.crc32(f"{ex.id}/{check.name}".encode())  # each check meets other data
    for seed in range(first, first + (HIDDEN_SEEDS if check.hidden else SEEDS)):
        worker = FakeWorker(seed, honest=check.oracle != "training")  # the honest answer would train
        ctx = Context(
            worker,
            ex,
            check,
            reference=reference.module if use_reference else None,
            seed=seed,
            examples=5 * (3 if check.hidden else 1),
            scale=2 if check.hidden else 1,
        )
        try:
            check.run(ctx)
        except (CheckFailed, StudentError, NoReference):
            pass
        except Exception:  # noqa: BLE001 - the point of the test
            pytest.fail(
                f"seed {seed}: a reply that fits the schemas made the check crash:\n{traceback.format_exc(limit=-6)}"
            )


# ------------------------------------------------------------------ the schemas themselves
def _drivers() -> list[Any]:
    """Every worker-side driver: module-level functions of the checks and exercises whose first argument is
    ``student``."""
    found = []
    for pkg in (grader.checks, grader.exercises):
        for info in pkgutil.iter_modules(pkg.__path__):
            module = importlib.import_module(f"{pkg.__name__}.{info.name}")
            for fn in vars(module).values():
                if inspect.isfunction(fn) and fn.__module__ == module.__name__:
                    params = list(inspect.signature(fn).parameters)
                    if params[:1] == ["student"]:
                        found.append(fn)
    return found


def test_every_driver_declares_its_reply():
    drivers = _drivers()
    assert len(drivers) >= 25, [d.__qualname__ for d in drivers]
    missing = [f"{d.__module__}.{d.__qualname__}" for d in drivers if not hasattr(d, "__reply__")]
    assert not missing, missing


def test_the_schema_stays_in_the_grader():
    for driver in _drivers():
        source = _function_source(driver)
        assert "returns(" not in source and "@" not in source.split("def ", 1)[0], driver.__qualname__
        ns: dict[str, Any] = {}
        exec(compile("from __future__ import annotations\n" + source, "<driver>", "exec"), ns)
        assert callable(ns[driver.__name__])


def test_conform_says_where_and_what():
    schema = fields(
        losses=list_of(NUMBER),
        state=dict_of(FLOAT_ARRAY, required=("cpu",)),
        pair=tuple_of(INT, one_of(STR, replies.NONE)),
        rest=tuple_of(ANY, ...),
    )
    good = {"losses": [1, 2.5, np.float32(3)], "state": {"cpu": np.zeros(2)}, "pair": (1, None), "rest": ()}
    assert conform(good, schema) is good
    bad = [
        (
            {**good, "state": {"cpu": np.zeros(2), "fc1.weight": "w"}},
            "reply['state']['fc1.weight']: expected a float array, got str",
        ),
        ({**good, "state": {}}, "reply['state']: the key 'cpu' is missing"),
        ({**good, "state": {"cpu": np.zeros(2, dtype=np.int64)}}, "expected a float array, got an int64 array"),
        ({**good, "losses": [1, True]}, "reply['losses'][1]: expected a number, got bool"),
        ({**good, "losses": [2**70]}, "got an int outside the int64 range"),
        ({**good, "pair": (1, 2, 3)}, "reply['pair']: expected a tuple of 2 items, got a tuple of 3 items"),
        ({**good, "pair": [1, None]}, "reply['pair']: expected a tuple of 2 items, got a list"),
        ({**good, "pair": (1, 2)}, "reply['pair'][1]: expected a string or None, got int"),
        ({**good, "rest": [1]}, "reply['rest']: expected a tuple of anything, got a list"),
        ({"losses": []}, "reply: the key 'state' is missing"),
        ([good], "reply: expected a dict with keys 'losses', 'state', 'pair', 'rest', got a list"),
        ({**good, "state": {"cpu": np.zeros(2, dtype=[("a", "<f8")])}}, "got a structured array"),
    ]
    for value, message in bad:
        with pytest.raises(MalformedReply) as info:
            conform(value, schema)
        assert message in str(info.value), (str(info.value), message)


def test_returns_rejects_what_is_not_a_schema():
    with pytest.raises(TypeError, match="schema"):
        returns(dict)
    with pytest.raises(TypeError, match="declares no reply schema"):
        replies.schema_of(lambda student: None)


@returns(fields(value=FLOAT_ARRAY))
def _driver_for_test(student: Any) -> dict:
    return {"value": None}


class _Answers:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)

    def drive(self, fn: Any, *args: Any, timeout: float = 10.0) -> Any:
        return self.answers.pop(0)


def test_a_malformed_reply_is_a_fatal_student_error():
    ex = registry.get("neuron.sigmoid")
    answers = _Answers({"value": "x"}, {"value": np.zeros(1)})
    ctx = Context(answers, ex, ex.checks[0], reference=None)
    with pytest.raises(StudentError) as info:
        ctx.drive(_driver_for_test)
    assert info.value.fatal and info.value.kind == "error"
    assert info.value.message == ("the worker's reply was malformed: reply['value']: expected a float array, got str")
    with pytest.raises(StudentError):  # the check is over: a well-formed reply after it is not asked for
        ctx.drive(_driver_for_test)
    with pytest.raises(TypeError, match="declares no reply schema"):  # a grader bug, found before any call
        Context(_Answers(1), ex, ex.checks[0], reference=None).drive(lambda student: 1)


def test_batched_and_checking_inputs_hold_the_worker_to_the_request():
    ex = registry.get("neuron.sigmoid")
    ctx = Context(_Answers([1.0]), ex, ex.checks[0], reference=None)
    with pytest.raises(StudentError, match="1 results for 2 argument lists"):
        ctx.batched("sigmoid_forward")([[np.zeros(1)], [np.ones(1)]])
    ctx = Context(_Answers({"result": 1, "args": []}), ex, ex.checks[0], reference=None)
    with pytest.raises(StudentError, match="expected a list of 1 arguments"):
        ctx.call_checking_inputs("sigmoid_forward", np.zeros(1))


def test_a_bug_of_the_check_surfaces_unshrunk_as_itself():
    from hypothesis import strategies as st

    from grader.checks.properties import for_all

    calls = []

    def prop(x: list[int]) -> None:
        calls.append(x)
        if len(x) > 2:
            raise KeyError("a bug of the check")

    with pytest.raises(KeyError, match="a bug of the check"):
        for_all(st.lists(st.integers(), min_size=3), prop, examples=20, seed_value=1)
    assert len(calls) == 1  # not shrunk, not replayed

    def timed_out(x: int) -> None:
        calls.append(x)
        raise StudentError("timeout", "no answer")

    calls.clear()
    with pytest.raises(StudentError, match="no answer"):
        for_all(st.integers(), timed_out, examples=20, seed_value=1)
    assert len(calls) == 1  # a fatal error ends the check at once


def test_unshrunk_reports_the_first_failing_example_and_the_same_verdict():
    from hypothesis import strategies as st

    from grader.checks.properties import for_all, unshrunk

    calls: list[list[int]] = []

    def prop(x: list[int]) -> None:
        calls.append(x)
        if sum(x) > 100:
            raise CheckFailed("sum too large")

    def run() -> str:
        calls.clear()
        with pytest.raises(CheckFailed, match="sum too large") as info:
            for_all(st.lists(st.integers(0, 1000), min_size=1), prop, examples=50, seed_value=3)
        return str(info.value)

    shrunk, shrink_calls = run(), len(calls)
    with unshrunk():
        first, first_calls = run(), len(calls)
    assert shrunk.endswith("example = [101]"), shrunk  # minimal
    assert first_calls < shrink_calls
    failing = next(x for x in calls if sum(x) > 100)
    assert calls[-1] == failing  # stopped at the first failure, which the message shows as drawn
    assert first.endswith(f"example = {failing}"), (first, failing)
    assert run() == shrunk  # the block is over: shrinking again
