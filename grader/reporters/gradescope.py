"""Gradescope's results.json: one test per check, hidden checks hidden from students unless published."""
from __future__ import annotations

from typing import Any

from grader.reporters.feedback import hidden_summary
from grader.results import SubmissionResult


def document(result: SubmissionResult, *, publish_hidden: bool = False) -> dict[str, Any]:
    """The results.json of one submission (score, execution_time, output, tests, visibility)."""
    tests: list[dict[str, Any]] = []
    for e in result.exercises:
        for c in e.checks:
            secret = c.hidden and not publish_hidden
            tests.append({
                "name": f"{e.id}: {c.name}",
                "score": round(c.score, 6),
                "max_score": round(c.max_score, 6),
                "status": "passed" if c.status == "passed" else "failed",
                "output": c.message or c.status.replace("_", " "),
                "tags": [e.part, c.oracle],
                # "hidden": only the instructor sees it on Gradescope
                "visibility": "hidden" if secret else "visible",
            })
    lines = [f"{result.score:g}/{result.max_score:g} points"]
    if result.error:
        lines = [f"This submission could not be graded: {result.error}"]
    summary = hidden_summary(result)
    if summary and not publish_hidden:
        lines.append(summary)
    return {"score": 0.0 if result.error else round(result.score, 4),
            "execution_time": int(round(result.seconds)),
            "output": "\n".join(lines),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests}
