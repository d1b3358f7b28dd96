"""A student's training loop decides the losses its feedback plots (``ctx.record_curve``): values at the ends of
float64, values that are not numbers, and millions of them.  The page is still written, and each chart stays a
small, well-formed SVG."""

from __future__ import annotations

import base64
import re
from xml.etree import ElementTree

import pytest

from grader import registry
from grader.checks.context import CURVE_POINTS, Context
from grader.reporters import feedback
from grader.results import CheckResult, ExerciseResult, SubmissionResult

HUGE = [1e308, -1e308, 0.0, 1.7976931348623157e308]
TINY = [5e-324, 1.7e308, 1.0]
NOT_NUMBERS = [float("nan"), float("inf"), float("-inf"), 1.0]
MANY = [1.0 / (1 + i) for i in range(2_000_000)]


def _page(losses: list[float]) -> str:
    check = CheckResult(
        "trained model reaches 90%",
        0,
        1,
        "failed",
        "too slow",
        "grader",
        curves={"loss": losses, "reference loss": [2.0, 1.0]},
    )
    return feedback.html(
        SubmissionResult("mallory", [ExerciseResult("keras_model.model", "Model", "keras_model", [check])]), "mallory"
    )


@pytest.mark.parametrize(
    "losses", [HUGE, TINY, NOT_NUMBERS, MANY, []], ids=["huge", "tiny", "not-numbers", "many", "none"]
)
def test_a_students_losses_give_a_small_well_formed_chart(losses):
    (data,) = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', _page(losses))
    svg = base64.b64decode(data)
    assert len(svg) < 32_000  # whatever the student reported
    root = ElementTree.fromstring(svg)  # well-formed
    numbers = [a for e in root.iter() for k, a in e.attrib.items() if k in ("x", "y", "x1", "y1", "x2", "y2", "points")]
    assert not [a for a in numbers if re.search(r"nan|inf", a, re.I)], numbers


def test_a_students_curve_is_stored_at_a_bounded_length():
    """What a student's training loop reports is kept in every record of the grade: at most CURVE_POINTS values."""
    exercise = registry.get("keras_model.model")
    ctx = Context(None, exercise, exercise.checks[0], reference=None)  # no worker: nothing is run
    ctx.record_curve("loss", MANY)
    kept = ctx.curves["loss"]
    assert len(kept) <= CURVE_POINTS and kept[0] == MANY[0] and kept[-1] == MANY[-1]
    assert kept == sorted(kept, reverse=True)  # still the curve, in order
    ctx.record_curve("reference loss", [2.0, 1.0])
    assert ctx.curves["reference loss"] == [2.0, 1.0]  # a real curve is kept whole
