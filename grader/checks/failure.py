"""What a failed check tells the student, and how inputs are written as copy-pasteable Python."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.i18n import _

#: Arrays with more elements than this are written by their first :data:`PREFIX` values (see python_literal).
MAX_ELEMENTS, PREFIX = 64, 8


def python_literal(value: Any) -> str:
    """Write ``value`` as Python a student can paste into a REPL (``import numpy as np`` assumed).

    An array of more than :data:`MAX_ELEMENTS` values is written as its first :data:`PREFIX` values resized
    to its shape and dtype: a report of thousands of numbers is read by no one and scrolls the failure away."""
    if isinstance(value, np.ndarray):
        if value.size > MAX_ELEMENTS:
            head = repr(value.reshape(-1)[:PREFIX].tolist())
            return f"np.resize(np.array({head}, dtype=np.{value.dtype.name}), {value.shape})"
        body = repr(value.tolist())
        return f"np.array({body}, dtype=np.{value.dtype.name})"
    if isinstance(value, np.generic):
        return f"np.{value.dtype.name}({value.item()!r})"
    if isinstance(value, tuple):
        inner = ", ".join(python_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {python_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def call_literal(function: str, args: Sequence[Any], kwargs: dict[str, Any] | None = None) -> str:
    """``function(arg, ...)`` with every argument written out in full."""
    parts = [python_literal(a) for a in args] + [f"{k}={python_literal(v)}" for k, v in (kwargs or {}).items()]
    return f"{function}({', '.join(parts)})"


@dataclass
class Details:
    """The facts of one failure; every field is optional."""

    input: str = ""  # copy-pasteable Python that reproduces it
    expected: str = ""
    got: str = ""
    worst_index: str = ""
    rel_error: float | None = None
    tolerance: str = ""
    hint: str = ""


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: a CJK character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class CheckFailed(AssertionError):
    """A check found the student's code wrong.  ``str()`` is the full report."""

    def __init__(self, summary: str, details: Details | None = None, **fields: Any) -> None:
        self.summary = summary
        self.details = details or Details(**fields)
        super().__init__(self.report())

    def report(self) -> str:
        """The summary, then one labelled line per fact, in the chosen language (``grader.i18n``): the labels and
        a hint that is a catalog's msgid are translated; inputs, numbers and code stay as they are."""
        d = self.details
        lines = [self.summary]
        facts = []
        if d.input:
            facts.append((_("input:"), d.input))
            if "np.resize(np.array(" in d.input:
                facts.append(
                    ("", _("(a large array is shown by its first {n} values, repeated to its shape)").format(n=PREFIX))
                )
        if d.worst_index:
            facts.append((_("worst index:"), d.worst_index))
        if d.expected:
            facts.append((_("expected:"), d.expected))
        if d.got:
            facts.append((_("got:"), d.got))
        if d.rel_error is not None:
            facts.append(
                (
                    _("rel. error:"),
                    _("{error}  (tolerance {tolerance})").format(error=f"{d.rel_error:.3g}", tolerance=d.tolerance),
                )
            )
        if d.hint:
            facts.append((_("hint:"), _(d.hint)))
        width = max([_width(label) for label, _text in facts] + [12])
        lines += [label + " " * (width + 1 - _width(label)) + text for label, text in facts]
        return "\n".join(lines)

    def with_input(self, literal: str) -> CheckFailed:
        if not self.details.input:
            self.details.input = literal
        return CheckFailed(self.summary, self.details)

    def with_hint(self, hint: str) -> CheckFailed:
        if hint and not self.details.hint:
            self.details.hint = hint
        return CheckFailed(self.summary, self.details)


@contextmanager
def failing_input(describe: Callable[[], str]) -> Iterator[None]:
    """A :class:`CheckFailed` raised in this block names the input it failed on: ``describe()``, called only then
    (unless the failure names one already).

    >>> with failing_input(lambda: "relu_forward(np.array([-1.0]))"):
    ...     pass  # an assert_close(...) that may fail
    """
    try:
        yield
    except CheckFailed as exc:
        raise exc.with_input(describe()) from None
