"""Reply schemas: what a worker-side driver may send back, checked before any check reads the reply.

A hostile submission can make the worker answer any plain data for any call.  Each driver declares the shape
of its honest reply with :func:`returns`; :meth:`grader.checks.context.Context.drive` checks every reply with
:func:`conform` and turns a mismatch into the student's error, so check code may index what the schema
promises without guarding against KeyError, TypeError or IndexError.

    @returns(fields(losses=list_of(NUMBER), state=dict_of(FLOAT_ARRAY)))
    def _train(student, ...): ...

The decorator stays on the grader side: drivers are sent to the worker as source without their decorators.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from grader.i18n import _
from grader.isolation.worker.client import StudentError

F = TypeVar("F", bound=Callable[..., Any])

_INT64 = (-(2**63), 2**63 - 1)


class MalformedReply(ValueError):
    """A reply that does not fit its schema; the message says where and what."""


def malformed(detail: str) -> StudentError:
    """The student's error for a reply that cannot be used (fatal: the worker is not to be trusted further)."""
    return StudentError("error", _("the worker's reply was malformed: {detail}").format(detail=detail), fatal=True)


def describe(value: Any) -> str:
    """A short name for what a value is (never its contents)."""
    if isinstance(value, np.ndarray):
        kind = "structured" if value.dtype.names is not None else value.dtype.name
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} array of shape {value.shape}"
    if isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
        return "an int outside the int64 range"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return type(value).__name__


def _key(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


class Schema:
    """What a value must be.  ``what`` names it in messages ("a float array")."""

    what = "anything"

    def check(self, value: Any, path: str) -> None:  # pragma: no cover - every schema overrides it
        raise NotImplementedError

    def _fail(self, value: Any, path: str) -> MalformedReply:
        return MalformedReply(f"{path}: expected {self.what}, got {describe(value)}")


@dataclass(frozen=True)
class Anything(Schema):
    """Any plain data the wire can carry (the student's own result, passed on as it is)."""

    what = "anything"

    def check(self, value: Any, path: str) -> None:
        return None


@dataclass(frozen=True)
class Array(Schema):
    """A numpy array whose dtype kind is one of ``kinds`` (numpy's letters: b, i, u, f, c)."""

    kinds: str = "biufc"
    what: str = "a numeric array"

    def check(self, value: Any, path: str) -> None:
        if not (isinstance(value, np.ndarray) and value.dtype.names is None and value.dtype.kind in self.kinds):
            raise self._fail(value, path)


@dataclass(frozen=True)
class Scalar(Schema):
    """A Python or numpy scalar of the given kind: "number" (int or float, not bool), "int", "str", "bool"."""

    kind: str
    what: str

    def check(self, value: Any, path: str) -> None:
        if self.kind == "bool":
            ok = isinstance(value, (bool, np.bool_))
        elif self.kind == "str":
            ok = isinstance(value, str)
        else:
            types = (int, np.integer) if self.kind == "int" else (int, float, np.integer, np.floating)
            ok = (
                isinstance(value, types)
                and not isinstance(value, bool)
                and not (isinstance(value, int) and not _INT64[0] <= value <= _INT64[1])
            )
        if not ok:
            raise self._fail(value, path)


@dataclass(frozen=True)
class NoneValue(Schema):
    what = "None"

    def check(self, value: Any, path: str) -> None:
        if value is not None:
            raise self._fail(value, path)


@dataclass(frozen=True)
class ListOf(Schema):
    item: Schema

    @property
    def what(self) -> str:  # type: ignore[override]
        return f"a list of {_plural(self.item.what)}"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise self._fail(value, path)
        for i, v in enumerate(value):
            self.item.check(v, f"{path}[{i}]")


@dataclass(frozen=True)
class TupleOf(Schema):
    """A tuple of exactly ``items`` (one schema per position), or of any length when ``rest`` is set."""

    items: tuple[Schema, ...] = ()
    rest: Schema | None = None

    @property
    def what(self) -> str:  # type: ignore[override]
        if self.rest is not None:
            return f"a tuple of {_plural(self.rest.what)}"
        return f"a tuple of {len(self.items)} items"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, tuple) or (self.rest is None and len(value) != len(self.items)):
            raise self._fail(value, path)
        for i, v in enumerate(value):
            (self.rest if self.rest is not None else self.items[i]).check(v, f"{path}[{i}]")


@dataclass(frozen=True)
class DictOf(Schema):
    """A dict (str keys) whose every value fits ``value``, holding at least the keys ``required``."""

    value: Schema
    required: tuple[str, ...] = ()

    @property
    def what(self) -> str:  # type: ignore[override]
        need = f" with keys {', '.join(map(repr, self.required))}" if self.required else ""
        return f"a dict of {_plural(self.value.what)}{need}"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise self._fail(value, path)
        for key in self.required:
            if key not in value:
                raise MalformedReply(f"{path}: the key {key!r} is missing")
        for key, v in value.items():
            self.value.check(v, f"{path}[{_key(key)}]")


@dataclass(frozen=True)
class Fields(Schema):
    """A dict with (at least) these keys, each value fitting its schema; other keys are ignored."""

    fields: tuple[tuple[str, Schema], ...]

    @property
    def what(self) -> str:  # type: ignore[override]
        return f"a dict with keys {', '.join(repr(k) for k, _ in self.fields)}"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise self._fail(value, path)
        for key, schema in self.fields:
            if key not in value:
                raise MalformedReply(f"{path}: the key {key!r} is missing")
            schema.check(value[key], f"{path}[{key!r}]")


@dataclass(frozen=True)
class OneOf(Schema):
    options: tuple[Schema, ...]

    @property
    def what(self) -> str:  # type: ignore[override]
        return " or ".join(o.what for o in self.options)

    def check(self, value: Any, path: str) -> None:
        for option in self.options:
            try:
                option.check(value, path)
                return
            except MalformedReply:
                continue
        raise self._fail(value, path)


def _plural(what: str) -> str:
    """ "a float array" -> "float arrays", "a list of ints" -> "lists of ints" (for "a list of ...")."""
    for article in ("a ", "an "):
        if what.startswith(article) and " or " not in what:
            rest = what[len(article) :]
            cut = min([i for i in (rest.find(" of "), rest.find(" with ")) if i >= 0], default=len(rest))
            head, tail = rest[:cut], rest[cut:]
            return head + ("" if head.endswith("s") else "s") + tail
    return what


# ------------------------------------------------------------------ the schema language
ANY: Schema = Anything()
ARRAY: Schema = Array()
FLOAT_ARRAY: Schema = Array("f", "a float array")
NUMBER: Schema = Scalar("number", "a number")
INT: Schema = Scalar("int", "an int")
STR: Schema = Scalar("str", "a string")
BOOL: Schema = Scalar("bool", "a bool")
NONE: Schema = NoneValue()


def array(kinds: str, what: str) -> Schema:
    """A numpy array of the given dtype kinds (e.g. ``array("iu", "an integer array")``)."""
    return Array(kinds, what)


def list_of(item: Schema) -> Schema:
    return ListOf(item)


def tuple_of(*items: Any) -> Schema:
    """``tuple_of(A, B)``: a pair; ``tuple_of(A, ...)``: a tuple of any length, every item an A."""
    if len(items) == 2 and items[1] is Ellipsis:
        return TupleOf(rest=items[0])
    if any(i is Ellipsis for i in items):
        raise TypeError("tuple_of(S, ...) takes exactly one schema before the ...")
    return TupleOf(tuple(items))


def dict_of(value: Schema, *, required: tuple[str, ...] = ()) -> Schema:
    return DictOf(value, tuple(required))


def fields(**schemas: Schema) -> Schema:
    return Fields(tuple(schemas.items()))


def one_of(*options: Schema) -> Schema:
    return OneOf(tuple(options))


# ------------------------------------------------------------------ use
def returns(schema: Schema) -> Callable[[F], F]:
    """Decorator: record ``schema`` as the reply of a worker-side driver (grader side only)."""
    if not isinstance(schema, Schema):
        raise TypeError(f"returns() takes a schema, got {type(schema).__name__}")

    def mark(fn: F) -> F:
        fn.__reply__ = schema  # type: ignore[attr-defined]
        DRIVERS[driver_name(fn)] = fn
        return fn

    return mark


#: Every driver declared with :func:`returns`, by :func:`driver_name`: the only ones a plan may name.
DRIVERS: dict[str, Callable[..., Any]] = {}


def driver_name(driver: Callable[..., Any]) -> str:
    """``module.qualname`` of a driver: its name in a plan."""
    return f"{driver.__module__}.{driver.__qualname__}"


def schema_of(driver: Callable[..., Any]) -> Schema:
    """The reply schema of ``driver``; a driver without one is a grader bug (TypeError)."""
    schema = getattr(driver, "__reply__", None)
    if not isinstance(schema, Schema):
        raise TypeError(
            f"the driver {getattr(driver, '__qualname__', driver)!r} declares no reply schema: "
            "decorate it with @returns(...) (grader/checks/replies.py)"
        )
    return schema


def conform(value: Any, schema: Schema, path: str = "reply") -> Any:
    """``value`` if it fits ``schema``; else :class:`MalformedReply` saying where and what."""
    schema.check(value, path)
    return value
