"""One view of a result for every text reporter (the terminal table, the feedback pages, a notebook's
``assert_passes``): the same marks, points, headings and details, so they never tell a student different
things.  Text from the worker comes back :func:`~grader.reporters.text.clean`; each reporter escapes or
fences it for its format.

>>> from grader.results import CheckResult
>>> c = CheckResult("relu_forward matches torch", 0.0, 1.0, "failed", "expected 0.0, got 1.0", "torch", False)
>>> check_label(c)
'✗ relu_forward matches torch [failed, oracle: torch]'
>>> details(c)
[('', 'expected 0.0, got 1.0')]
"""

from __future__ import annotations

from grader.i18n import N_, _, name
from grader.reporters.text import clean
from grader.results import WITHHELD, CheckResult, ExerciseResult, SubmissionResult

MARK = {
    "passed": "✓",
    "failed": "✗",
    "error": "!",
    "timeout": "⏱",
    "not_implemented": "·",
    "skipped": "-",
    "grader_error": "⚠",
}
PRINTED = N_("what your code printed")
#: Each status in words (a status itself stays English in JSON and files: it is data).
STATUS = {
    "passed": N_("passed"),
    "failed": N_("failed"),
    "error": N_("error"),
    "timeout": N_("timeout"),
    "not_implemented": N_("not_implemented"),
    "skipped": N_("skipped"),
    "grader_error": N_("grader_error"),
}


def status(s: str) -> str:
    """A status in the chosen language."""
    return _(STATUS.get(s, s))


#: What a check compares the student's code with (``Check.oracle``), as the student reads it: the names stay
#: the data of results.json and Gradescope's tags, and are translated where shown.
ORACLES = {
    "torch": N_("torch"),
    "numerical": N_("numerical"),
    "reference": N_("reference"),
    "invariant": N_("invariant"),
    "known": N_("known"),
    "training": N_("training"),
}


def oracle(name: str) -> str:
    """An oracle's name in the chosen language."""
    return _(ORACLES.get(name, name))


def title(e: ExerciseResult) -> str:
    """An exercise's title in the chosen language (the registry's is the msgid, translated where shown)."""
    return _(e.title)


def points(x: float) -> str:
    """2.5, 3, 0.33: at most two decimals, no trailing zeros."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def hidden_summary(result: SubmissionResult | ExerciseResult) -> str:
    """'hidden checks: 3/4 passed', or '' when there are none."""
    passed, total = result.hidden_passed
    return _("hidden checks: {passed}/{total} passed").format(passed=passed, total=total) if total else ""


def exercise_heading(e: ExerciseResult) -> str:
    """'✗ neuron.relu — ReLU activation: 1.5/2'."""
    return f"{MARK[e.status]} {e.id} — {title(e)}: {points(e.score)}/{points(e.max_score)}"


def status_note(c: CheckResult) -> str:
    """'[failed, oracle: torch]' for a check that did not pass; '' for one that did."""
    return (
        ""
        if c.status == "passed"
        else "[" + _("{status}, oracle: {oracle}").format(status=status(c.status), oracle=oracle(c.oracle)) + "]"
    )


def check_label(c: CheckResult) -> str:
    """'✓ name', or '✗ name [failed, oracle: torch]'."""
    note = status_note(c)
    return f"{MARK[c.status]} {name(c.name)}" + (f" {note}" if note else "")


def details(c: CheckResult) -> list[tuple[str, str]]:
    """What a check that did not pass tells the student, cleaned: (heading, text) pairs, the message first
    (heading ''), then what the code printed (empty for a hidden check: ``SubmissionResult.redacted``)."""
    if c.status == "passed":
        return []
    message = _(WITHHELD) if c.message == WITHHELD else c.message  # the one message made of a msgid alone
    return [(heading, clean(text)) for heading, text in (("", message), (_(PRINTED), c.stdout)) if text]
