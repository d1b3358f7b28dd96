"""Gradescope's results.json: one test per check.

Prints what it is given: pass ``SubmissionResult.redacted(publish_hidden)`` (``grader.instructor.batch`` does), so a
hidden check shows its name, status and points, never its details unless the instructor publishes them.
"""

from __future__ import annotations

from typing import Any

from grader.i18n import _
from grader.reporters.text import clean
from grader.reporters.view import PRINTED, hidden_summary, status
from grader.results import SubmissionResult


def document(result: SubmissionResult) -> dict[str, Any]:
    """The results.json of one submission (score, execution_time, output, tests, visibility)."""
    tests: list[dict[str, Any]] = []
    for e in result.exercises:
        for c in e.checks:
            tests.append(
                {
                    "name": f"{e.id}: {c.name}",
                    "score": round(c.score, 6),
                    "max_score": round(c.max_score, 6),
                    "status": "passed" if c.status == "passed" else "failed",
                    "output": (clean(c.message) or status(c.status).replace("_", " "))
                    + (f"\n\n{_(PRINTED)}:\n{clean(c.stdout)}" if c.stdout else ""),
                    "tags": [e.part, c.oracle],
                    "visibility": "visible",
                }
            )
    lines = [_("{score}/{max_score} points").format(score=f"{result.score:g}", max_score=f"{result.max_score:g}")]
    if result.error:
        lines = [_("This submission could not be graded: {error}").format(error=clean(result.error))]
    summary = hidden_summary(result)
    if summary:
        lines.append(summary)
    return {
        "score": 0.0 if result.error else round(result.score, 4),
        "execution_time": int(round(result.seconds)),
        "output": "\n".join(lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        # plain text: no Markdown, HTML or ANSI in student text is rendered by Gradescope
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "tests": tests,
    }
