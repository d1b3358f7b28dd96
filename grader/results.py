"""Results: what the runner produces and every reporter reads.  Plain dataclasses, JSON both ways."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "error", "timeout", "not_implemented", "skipped"]
STATUSES: tuple[str, ...] = ("passed", "failed", "error", "timeout", "not_implemented", "skipped")


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

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        if not self.curves:
            doc.pop("curves")
        return doc


@dataclass
class ExerciseResult:
    id: str
    title: str
    part: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 4)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 4)

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
        for s in ("timeout", "error", "failed", "not_implemented"):
            if s in statuses:
                return s  # type: ignore[return-value]
        return "failed"

    def first_failure(self) -> CheckResult | None:
        return next((c for c in self.checks if c.status not in ("passed", "skipped")), None)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "part": self.part, "score": self.score,
                "max_score": self.max_score, "status": self.status,
                "checks": [c.to_json() for c in self.checks]}


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
    def passed(self) -> bool:
        return not self.error and all(e.status in ("passed", "skipped") for e in self.exercises)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"score": self.score, "max_score": self.max_score,
                               "exercises": [e.to_json() for e in self.exercises]}
        if self.error:
            doc["error"] = self.error
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any], submission: str = "") -> "SubmissionResult":
        exercises = [ExerciseResult(e["id"], e["title"], e["part"], [CheckResult(**c) for c in e["checks"]])
                     for e in doc.get("exercises", [])]
        return cls(submission, exercises, doc.get("error", ""))
