"""Results: what the runner produces and every reporter reads.  Plain dataclasses, JSON both ways."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from grader import __version__
from grader.i18n import N_

Status = Literal["passed", "failed", "error", "timeout", "not_implemented", "skipped", "grader_error"]
#: ``grader_error``: the check failed inside the grader (not the student's fault): it scores nothing *and*
#: costs nothing, the submission is not recorded as graded, and ``grade`` retries it on the next run.
STATUSES: tuple[str, ...] = ("passed", "failed", "error", "timeout", "not_implemented", "skipped", "grader_error")
#: What a student sees instead of a hidden check's message.
WITHHELD = N_("details of hidden checks are not shown")  # a msgid: reporters translate it (grader.reporters.view)


@dataclass
class CheckResult:
    name: str
    score: float
    max_score: float
    status: Status
    message: str = ""
    oracle: str = ""
    hidden: bool = False
    seconds: float = 0.0
    #: series a reporter may plot, e.g. {"loss": [...], "reference loss": [...]} for a training check
    curves: dict[str, list[float]] = field(default_factory=dict)
    #: what the student's code printed during the failing call (public checks only; capped), shown under the
    #: failure as pytest shows captured output
    stdout: str = ""

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        for key in ("curves", "stdout"):
            if not doc[key]:
                doc.pop(key)
        return doc

    def redacted(self) -> CheckResult:
        """This result as a student may see it: a hidden check keeps its status and points, not its details."""
        if not self.hidden:
            return self
        return replace(self, message=WITHHELD if self.message else "", curves={}, stdout="")


@dataclass
class ExerciseResult:
    id: str
    title: str
    part: str
    checks: list[CheckResult] = field(default_factory=list)
    #: remarks for the instructor, e.g. a forbidden import (see ``grader.isolation.policy``)
    notes: list[str] = field(default_factory=list)
    #: fraction of the checks' points taken off (1.0: the exercise scores 0)
    penalty: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks) * (1.0 - self.penalty), 4)

    @property
    def hidden_passed(self) -> tuple[int, int]:
        """(hidden checks passed, hidden checks run)."""
        hidden = [c for c in self.checks if c.hidden]
        return sum(c.status == "passed" for c in hidden), len(hidden)

    def public_view(self) -> ExerciseResult:
        """The result with every hidden check's details withheld (see :meth:`CheckResult.redacted`)."""
        return replace(self, checks=[c.redacted() for c in self.checks], notes=list(self.notes))

    @property
    def max_score(self) -> float:
        """Points at stake: a skipped check (an optional package missing here) is not held against anyone."""
        return round(sum(c.max_score for c in self.checks if c.status not in ("skipped", "grader_error")), 4)

    @property
    def status(self) -> Status:
        """passed if every check passed; else the most telling status of the checks that did not."""
        statuses = {c.status for c in self.checks}
        if not self.checks or statuses == {"passed"}:
            return "passed"
        if statuses == {"skipped"}:
            return "skipped"
        if "passed" not in statuses and statuses <= {"not_implemented", "skipped"}:
            return "not_implemented"
        for s in ("grader_error", "timeout", "error", "failed", "not_implemented"):
            if s in statuses:
                return s
        return "failed"

    def first_failure(self, *, hidden: bool = True) -> CheckResult | None:
        return next(
            (c for c in self.checks if c.status not in ("passed", "skipped") and (hidden or not c.hidden)), None
        )

    def to_json(self) -> dict[str, Any]:
        doc = {
            "id": self.id,
            "title": self.title,
            "part": self.part,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "checks": [c.to_json() for c in self.checks],
        }
        passed, total = self.hidden_passed
        if total:
            doc["hidden"] = {"passed": passed, "total": total}
        if self.notes:
            doc["notes"] = list(self.notes)
        if self.penalty:
            doc["penalty"] = self.penalty
        return doc


@dataclass
class SubmissionResult:
    submission: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    error: str = ""  # a whole-submission problem (not a zip, unreadable, ...)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 4)

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises), 4)

    @property
    def grader_failures(self) -> list[str]:
        """'<exercise>: <check>: <message>' for every check that failed inside the grader (see ``grader_error``)."""
        return [
            f"{e.id}: {c.name}: {c.message}" for e in self.exercises for c in e.checks if c.status == "grader_error"
        ]

    @property
    def passed(self) -> bool:
        return not self.error and all(e.status in ("passed", "skipped") and not e.penalty for e in self.exercises)

    @property
    def hidden_passed(self) -> tuple[int, int]:
        """(hidden checks passed, hidden checks run) over all exercises."""
        pairs = [e.hidden_passed for e in self.exercises]
        return sum(p for p, _ in pairs), sum(t for _, t in pairs)

    def redacted(self, publish: bool = False) -> SubmissionResult:
        """What a student may see: hidden checks' details withheld unless the instructor ``publish``es them."""
        if publish:
            return self
        return replace(self, exercises=[e.public_view() for e in self.exercises])

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "score": self.score,
            "max_score": self.max_score,
            "exercises": [e.to_json() for e in self.exercises],
        }
        passed, total = self.hidden_passed
        if total:
            doc["hidden"] = {"passed": passed, "total": total}
        if self.error:
            doc["error"] = self.error
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any], submission: str = "") -> SubmissionResult:
        exercises = [
            ExerciseResult(
                e["id"],
                e["title"],
                e["part"],
                [CheckResult(**c) for c in e["checks"]],
                list(e.get("notes", [])),
                float(e.get("penalty", 0.0)),
            )
            for e in doc.get("exercises", [])
        ]
        return cls(submission, exercises, doc.get("error", ""))


@dataclass
class Outcome:
    """A submission graded by ``deepgrade grade`` (or taken from its record, or failed by the grader), with where
    it came from: what the gradebook reports and the record keeps."""

    student: str
    source: str
    result: SubmissionResult
    seconds: float
    key: str = ""
    cached: bool = False
    internal: bool = False  # the grader failed (not the student): no record, re-graded next time

    def record(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "source": self.source,
            "key": self.key,
            "seconds": self.seconds,
            "grader": __version__,
            "result": self.result.to_json(),
        }
