"""The runner: grade one submission, exercise by exercise, check by check, in a worker process."""
from __future__ import annotations

import importlib
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Callable, Iterable

from grader import policy, reference
from grader import secret as course_secret
from grader.secret import hidden_seed
from grader._worker.client import Launcher, StudentError, Worker, plain_launcher
from grader.checks.context import Context, NoReference
from grader.checks.failure import CheckFailed
from grader.registry import HIDDEN_EXAMPLES, HIDDEN_SCALE, Check, Exercise
from grader.results import CheckResult, ExerciseResult, SubmissionResult

#: Called after each exercise is graded (for progress bars).
Progress = Callable[[ExerciseResult], None]


def _missing_requirements(ex: Exercise) -> list[str]:
    import importlib.util

    return [r for r in ex.requires if importlib.util.find_spec(r) is None]


def check_seed(ex: Exercise, check: Check, salt: int = 0, secret: bytes | None = None) -> int:
    """A fixed seed per (exercise, check): the same submission always gets the same score.  A hidden check's
    seed comes from the course secret (:mod:`grader.secret`), so it cannot be recomputed from public names."""
    if check.hidden:
        return hidden_seed(secret or course_secret.load(), ex.id, f"{check.name}/{salt}")
    return zlib.crc32(f"{ex.id}/{check.name}/{salt}".encode())


def run_check(worker: Worker, ex: Exercise, check: Check, *, use_reference: bool, examples: int,
              salt: int = 0, hidden: bool = True, secret: bytes | None = None) -> CheckResult:
    """Run one check and turn whatever happens into a :class:`CheckResult`; never raises.

    A hidden check gets its own seed (its name differs), more examples and larger shapes.
    """
    points = ex.check_points(check, hidden=hidden, reference=use_reference)
    ctx = Context(worker, ex, check, reference=reference.module if use_reference else None,
                  seed=check_seed(ex, check, salt, secret), examples=examples * (HIDDEN_EXAMPLES if check.hidden else 1),
                  scale=HIDDEN_SCALE if check.hidden else 1)
    started = time.perf_counter()

    def result(status: str, score: float, message: str = "") -> CheckResult:
        return CheckResult(check.name, score, points, status, message, check.oracle, check.hidden,  # type: ignore[arg-type]
                           round(time.perf_counter() - started, 4), ctx.curves)

    try:
        check.run(ctx)
    except CheckFailed as exc:
        return result("failed", 0.0, exc.with_hint(ex.hint.splitlines()[0] if ex.hint else "").report())
    except StudentError as exc:
        if exc.kind == "not_implemented":
            return result("not_implemented", 0.0, f"not implemented yet: {exc.message}")
        return result("timeout" if exc.kind == "timeout" else "error", 0.0, exc.message)
    except NoReference as exc:
        return result("skipped", 0.0, str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug in a check must not stop the batch
        return result("error", 0.0, f"internal grader error in this check: {type(exc).__name__}: {exc}")
    return result("passed", points)


def grade_exercise(worker: Worker, ex: Exercise, *, hidden: bool = False, examples: int = 25,
                   use_reference: bool | None = None, salt: int = 0,
                   only: Callable[[Check], bool] | None = None, forbidden_penalty: float = 0.0,
                   deadline: tuple[float, float] | None = None, secret: bytes | None = None) -> ExerciseResult:
    """Grade one exercise.  A forbidden import (``grader.policy``) adds a note and takes off
    ``forbidden_penalty`` of its points (0: a warning only).  With ``deadline=(perf_counter time, budget)``,
    checks after that time are ``timeout``."""
    use_reference = reference.available() if use_reference is None else use_reference
    out = ExerciseResult(ex.id, ex.title, ex.part)
    checks = [c for c in ex.checks if (hidden or not c.hidden) and (use_reference or c.oracle != "reference")
              and (only is None or only(c))]
    missing = _missing_requirements(ex)

    def points(c: Check) -> float:
        return ex.check_points(c, hidden=hidden, reference=use_reference)

    def unrun(c: Check, status: str, message: str) -> CheckResult:
        """The result of a check that was not run, and why."""
        return CheckResult(c.name, 0.0, points(c), status, message, c.oracle, c.hidden)  # type: ignore[arg-type]

    out_of_time = f"not run: the submission used up its {deadline[1]:g} s time budget" if deadline else ""
    if missing:
        out.checks = [unrun(c, "skipped", f"skipped: needs {', '.join(missing)} (pip install -e '.[{missing[0]}]')")
                      for c in checks]
        return out
    if deadline and time.perf_counter() >= deadline[0]:
        out.checks = [unrun(c, "timeout", out_of_time) for c in checks]
        return out
    source, names = reference.prerequisites(ex) if use_reference else ("", {})
    try:
        worker.setup([ex.part], source, names)
    except StudentError as exc:
        status = "not_implemented" if exc.kind == "not_implemented" else \
            "timeout" if exc.kind == "timeout" else "error"
        message = f"{ex.part}.py could not be imported: {exc.message}"
        out.checks = [unrun(c, status, message) for c in checks]
    else:
        timed_out: CheckResult | None = None
        for c in checks:
            if deadline and time.perf_counter() >= deadline[0]:
                out.checks.append(unrun(c, "timeout", out_of_time))
                continue
            if timed_out is not None:  # the same code would hang again: do not wait out every check
                out.checks.append(unrun(c, "timeout", f"not run: {timed_out.name!r} timed out first "
                                                      f"({timed_out.message})"))
                continue
            out.checks.append(run_check(worker, ex, c, use_reference=use_reference, examples=examples, salt=salt,
                                        hidden=hidden, secret=secret))
            if out.checks[-1].status == "timeout":
                timed_out = out.checks[-1]
    out.notes = policy.check_submission(ex, worker.submission, worker.imports)
    if out.notes:
        out.penalty = max(0.0, min(1.0, forbidden_penalty))
    return out


def _preload_oracles(exercises: list[Exercise]) -> None:
    """Start importing torch (about 1 s) in the background while the worker starts, if a check needs it."""
    if "torch" in sys.modules or not any(c.oracle == "torch" for e in exercises for c in e.checks):
        return
    threading.Thread(target=importlib.import_module, args=("torch",), daemon=True).start()


def grade(submission: Path, exercises: Iterable[Exercise], *, launcher: Launcher = plain_launcher,
          python: str | None = None, hidden: bool = False, examples: int = 25,
          use_reference: bool | None = None, progress: Progress | None = None,
          only: Callable[[Check], bool] | None = None, forbidden_penalty: float = 0.0,
          submission_timeout: float | None = None, secret: bytes | None = None) -> SubmissionResult:
    """Grade ``submission`` (a folder in the layout of ``assignments/``) on ``exercises``.

    ``hidden`` adds the hidden checks (``deepgrade grade``); ``forbidden_penalty`` is the fraction of an
    exercise's points a forbidden import costs (0 warns only, as ``check`` does).  ``launcher`` isolates the
    worker (see :mod:`grader.sandbox`); after ``submission_timeout`` seconds the remaining checks are marked
    ``timeout`` without running."""
    submission = Path(submission)
    exercises = list(exercises)
    if hidden and secret is None:
        secret = course_secret.load()
    _preload_oracles(exercises)
    started = time.perf_counter()
    deadline = (started + submission_timeout, submission_timeout) if submission_timeout else None
    result = SubmissionResult(str(submission))
    with Worker(submission, launcher=launcher, python=python) as worker:
        for ex in exercises:
            er = grade_exercise(worker, ex, hidden=hidden, examples=examples, use_reference=use_reference,
                                only=only, forbidden_penalty=forbidden_penalty, deadline=deadline,
                                secret=secret)
            result.exercises.append(er)
            if progress:
                progress(er)
    result.seconds = round(time.perf_counter() - started, 3)
    return result
