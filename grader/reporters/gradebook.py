"""The class gradebook (CSV and JSON) and the instructor's summary: score distribution, most-failed checks."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from grader.registry import Exercise

if TYPE_CHECKING:
    from grader.batch import Outcome


def _scores(o: "Outcome", exercises: list[Exercise]) -> dict[str, float]:
    by_id = {e.id: e.score for e in o.result.exercises}
    return {e.id: by_id.get(e.id, 0.0) for e in exercises}


def rows(outcomes: list["Outcome"], exercises: list[Exercise]) -> list[dict[str, Any]]:
    out = []
    for o in outcomes:
        statuses = {e.id: e.status for e in o.result.exercises}
        out.append({"student": o.student, "scores": _scores(o, exercises),
                    "statuses": {e.id: statuses.get(e.id, "error" if o.result.error else "skipped")
                                 for e in exercises},
                    "total": o.result.score, "max": sum(e.points for e in exercises),
                    "error": o.result.error, "notes": [f"{e.id}: {n}" for e in o.result.exercises for n in e.notes],
                    "seconds": o.seconds, "source": o.source})
    return out


def csv_text(outcomes: list["Outcome"], exercises: list[Exercise]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", *(e.id for e in exercises), "total", "max", "error"])
    for r in rows(outcomes, exercises):
        w.writerow([r["student"], *(f"{r['scores'][e.id]:g}" for e in exercises), f"{r['total']:g}",
                    f"{r['max']:g}", r["error"]])
    return buf.getvalue()


def json_text(outcomes: list["Outcome"], exercises: list[Exercise]) -> str:
    doc = {"exercises": [{"id": e.id, "title": e.title, "points": e.points} for e in exercises],
           "students": rows(outcomes, exercises)}
    return json.dumps(doc, indent=2, ensure_ascii=False)


def distribution(outcomes: list["Outcome"], max_score: float, bins: int = 5) -> list[tuple[str, int]]:
    """How many students scored in each band of the maximum (0–20 %, …, 80–100 %)."""
    counts = [0] * bins
    for o in outcomes:
        frac = o.result.score / max_score if max_score else 0.0
        counts[min(bins - 1, int(frac * bins))] += 1
    width = 100 // bins
    return [(f"{i * width}–{(i + 1) * width} %", n) for i, n in enumerate(counts)]


def most_failed(outcomes: list["Outcome"], top: int = 5) -> list[tuple[str, int]]:
    """The checks the most students did not pass (not counting unattempted ones)."""
    c: Counter[str] = Counter()
    for o in outcomes:
        for e in o.result.exercises:
            for ch in e.checks:
                if ch.status in ("failed", "error", "timeout"):
                    c[f"{e.id}: {ch.name}"] += 1
    return c.most_common(top)
