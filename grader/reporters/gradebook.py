"""The class gradebook (CSV and JSON) and the instructor's summary: score distribution, most-failed checks."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from grader.registry import Exercise
from grader.reporters.text import one_line
from grader.results import CheckResult, Outcome

#: What a gradebook cell says where the grader (not the student) failed: not a score, retried next run.
GRADER_ERROR = "grader error"


def _scores(o: Outcome, exercises: list[Exercise]) -> dict[str, float | None]:
    """Each exercise's score; None where the grader failed (the whole submission, or that exercise)."""
    by_id = {e.id: (None if e.status == "grader_error" else e.score) for e in o.result.exercises}
    return {e.id: (None if o.internal and not o.result.exercises else by_id.get(e.id, 0.0)) for e in exercises}


def error_text(o: Outcome) -> str:
    if o.internal:
        n = len(o.result.grader_failures)
        what = f"{n} check{'s' * (n != 1)} failed inside the grader" if n else one_line(o.result.error)
        return f"{GRADER_ERROR}: {what}; not the student's fault, re-running grade retries it"
    return one_line(o.result.error)


def rows(outcomes: list[Outcome], exercises: list[Exercise]) -> list[dict[str, Any]]:
    """One row per student; ``scores`` and ``total`` are None where the grader failed (``grader_error``)."""
    out = []
    for o in outcomes:
        statuses = {e.id: e.status for e in o.result.exercises}
        out.append(
            {
                "student": o.student,
                "scores": _scores(o, exercises),
                "statuses": {
                    e.id: statuses.get(
                        e.id,
                        "grader_error"
                        if o.internal and not o.result.exercises
                        else "error"
                        if o.result.error
                        else "skipped",
                    )
                    for e in exercises
                },
                "total": None if o.internal else o.result.score,
                "max": sum(e.points for e in exercises),
                "grader_error": o.internal,
                "error": error_text(o),
                "notes": [f"{e.id}: {one_line(n)}" for e in o.result.exercises for n in e.notes],
                "seconds": o.seconds,
                "source": o.source,
            }
        )
    return out


def cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @, a tab or a CR gets a leading '."""
    if value is None:
        return GRADER_ERROR
    text = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(outcomes: list[Outcome], exercises: list[Exercise]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", *(e.id for e in exercises), "total", "max", "error"])
    for r in rows(outcomes, exercises):
        w.writerow(
            [
                cell(r["student"]),
                *(cell(r["scores"][e.id]) for e in exercises),
                cell(r["total"]),
                cell(r["max"]),
                cell(r["error"]),
            ]
        )
    return buf.getvalue()


def json_text(outcomes: list[Outcome], exercises: list[Exercise]) -> str:
    doc = {
        "exercises": [{"id": e.id, "title": e.title, "points": e.points} for e in exercises],
        "students": rows(outcomes, exercises),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def distribution(outcomes: list[Outcome], max_score: float, bins: int = 5) -> list[tuple[str, int]]:
    """How many students scored in each band of the maximum (0–20 %, …, 80–100 %); grader errors not counted."""
    counts = [0] * bins
    for o in outcomes:
        if o.internal:  # not graded yet: not a 0
            continue
        frac = o.result.score / max_score if max_score else 0.0
        counts[min(bins - 1, int(frac * bins))] += 1
    width = 100 // bins
    return [(f"{i * width}–{(i + 1) * width} %", n) for i, n in enumerate(counts)]


#: The statuses of a check a student attempted and did not pass.
FAILING = ("failed", "error", "timeout")


def failures(outcomes: list[Outcome]) -> dict[tuple[str, str], list[tuple[Outcome, CheckResult]]]:
    """(exercise id, check name) -> each student who attempted that check and did not pass it, with the check's
    result; in the order the checks were first failed, the students in the order given."""
    found: dict[tuple[str, str], list[tuple[Outcome, CheckResult]]] = {}
    for o in outcomes:
        for e in o.result.exercises:
            for ch in e.checks:
                if ch.status in FAILING:
                    found.setdefault((e.id, ch.name), []).append((o, ch))
    return found


def most_failed(outcomes: list[Outcome], top: int = 5) -> list[tuple[str, int]]:
    """The checks the most students did not pass (not counting unattempted ones)."""
    worst = sorted(failures(outcomes).items(), key=lambda item: -len(item[1]))[:top]
    return [(f"{ex}: {check}", len(who)) for (ex, check), who in worst]
