"""A synthetic graded class for the class-page tests and benchmark: outcomes made up from the real curriculum's
exercises and checks (no grading), saved into a gradebook folder as ``deepgrade grade`` saves them."""

from __future__ import annotations

import random
from pathlib import Path

from grader import registry
from grader.instructor import batch, report
from grader.results import CheckResult, ExerciseResult, Outcome, Status, SubmissionResult

#: Every this-many students, one whose submission could not be graded and one the grader failed on.
BROKEN_EVERY, BROKEN_AT, INTERNAL_AT = 25, 7, 13


def _exercise(ex: registry.Exercise, student: str, skill: float, rng: random.Random) -> ExerciseResult:
    checks = ex.checks or []
    each = round(ex.points / max(1, len(checks)), 4)
    results = []
    untouched = rng.random() > skill + 0.3
    for c in checks:
        if untouched:
            results.append(CheckResult(c.name, 0.0, each, "not_implemented", "raise NotImplementedError", c.oracle))
        elif rng.random() < skill:
            results.append(CheckResult(c.name, each, each, "passed", "", c.oracle, c.hidden, 0.01))
        else:  # a message that names the student, as a student's own exception text can
            status: Status = rng.choice(["failed", "failed", "error", "timeout"])
            message = f"expected 1.0, got {rng.randint(2, 4)}.0 at index 0 ({student} was here; {student.upper()})"
            results.append(CheckResult(c.name, 0.0, each, status, message, c.oracle, c.hidden, 0.02, stdout="hi"))
    return ExerciseResult(ex.id, ex.title, ex.part, results)


def synthetic_class(n: int, exercises: list[registry.Exercise], *, seed: int = 0) -> list[Outcome]:
    """``n`` students of varied skill; every :data:`BROKEN_EVERY`-th from :data:`BROKEN_AT` could not be graded,
    from :data:`INTERNAL_AT` met a grader error."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        name = f"student{i:03d}"
        seconds = round(rng.uniform(1.0, 30.0), 3)
        if i % BROKEN_EVERY == BROKEN_AT:
            result = SubmissionResult(name, error=f"{name}.zip is not a readable zip")
            out.append(Outcome(name, f"/class/{name}.zip", result, seconds, "k"))
            continue
        skill = rng.random()
        result = SubmissionResult(name, [_exercise(e, name, skill, rng) for e in exercises], seconds=seconds)
        internal = i % BROKEN_EVERY == INTERNAL_AT
        if internal:
            result.exercises[0].checks[0].status = "grader_error"
            result.exercises[0].checks[0].message = "torch failed to import"
        out.append(Outcome(name, f"/class/{name}", result, seconds, "k", internal=internal))
    return out


def save_class(out: Path, outcomes: list[Outcome], exercises: list[registry.Exercise], **settings) -> Path:
    """Save ``outcomes`` as ``run_batch`` would (records, student files, run.json, gradebook, the page);
    the page's path."""
    run = batch.run_settings(
        isolation=settings.get("isolation", "process"),
        executor="processes",
        publish_hidden=settings.get("publish_hidden", False),
        secret="0123456789abcdef",
        examples=25,
        forbidden_penalty=1.0,
        submission_timeout=None,
        exercises=[e.id for e in exercises],
        students=[o.student for o in outcomes],
    )
    for o in outcomes:
        if o.internal:
            run["grader_errors"][o.student] = o.record()
        else:
            batch.save(out, o, publish_hidden=run["hidden"]["published"])
    run.update(finished="2026-01-01 00:00:00 UTC", wall_seconds=12.5, graded=len(outcomes))
    batch.write_run(out, run)
    batch.write_gradebook(out, outcomes, exercises)
    return report.write(out, outcomes, exercises, run)
