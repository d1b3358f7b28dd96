"""The class page of a gradebook folder, from its saved grades: ``OUT/index.html`` (and the gradebook files).

``grade`` calls :func:`write` at the end of a batch; ``deepgrade report OUT`` calls :func:`rebuild`, which reads
back what ``grade`` saved, without grading anything: ``run.json`` (the settings, the students in order, the
grader errors, which have no record), each student's ``records/<name>.json`` and ``similarity.json`` if any."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader import registry
from grader.i18n import _
from grader.instructor import batch
from grader.reporters import classpage, similarity_view
from grader.results import Outcome, SubmissionResult


class NotAGradebook(ValueError):
    """The folder is not one ``deepgrade grade --out`` wrote (or its files are damaged): one line says why."""


def write(out: Path, outcomes: list[Outcome], exercises: list[registry.Exercise], run: dict[str, Any] | None) -> Path:
    """Write ``OUT/index.html`` for these outcomes; its path."""
    text = classpage.page(outcomes, exercises, run=run, similarity=similarity_view.read(out / similarity_view.FILE))
    batch.atomic_write(out / batch.INDEX, text)
    return out / batch.INDEX


def _gradebook_json(out: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((out / "gradebook.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise NotAGradebook(f"{out / 'gradebook.json'} cannot be read: {exc}") from None
    return doc if isinstance(doc, dict) else None


def _names(doc: dict[str, Any], key: str, field: str | None, where: Path) -> list[str]:
    items = doc.get(key)
    names = [i.get(field) if field and isinstance(i, dict) else i for i in items] if isinstance(items, list) else []
    strings = [n for n in names if isinstance(n, str)]
    if not isinstance(items, list) or len(strings) != len(names):
        raise NotAGradebook(f"{where} has no list of {key}")
    return strings


def _outcome(out: Path, student: str, run: dict[str, Any] | None) -> Outcome:
    failed = ((run or {}).get("grader_errors") or {}).get(student)
    try:
        batch.record_path(out, student)  # a name that is not a safe file name: not a gradebook grade wrote
        if isinstance(failed, dict):  # the last grade's state: a grader error, not a grade (no record)
            o = batch.outcome_from_record(failed)
            o.internal, o.cached = True, False
            return o
        record = batch.load_record(out, student)
        if record is not None:
            return batch.outcome_from_record(record)
    except ValueError as exc:  # a name that is not a file name
        raise NotAGradebook(f"{out}: student {student!r}: {exc}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise NotAGradebook(f"{batch.record_path(out, student)} is damaged ({type(exc).__name__}: {exc})") from None
    missing = _("not graded yet (the last grade stopped before this submission); run grade again")
    return Outcome(student, "", SubmissionResult(student, error=missing), 0.0, internal=True)


def load(out: Path) -> tuple[list[Outcome], list[registry.Exercise], dict[str, Any] | None]:
    """The saved grades of ``out``: outcomes in the gradebook's order, its exercises, its run settings (None for a
    gradebook made before ``run.json`` existed).  :class:`NotAGradebook` for anything else."""
    if not out.is_dir():
        raise NotAGradebook(f"{out} is not a folder")
    run = batch.load_run(out)
    book = _gradebook_json(out) if run is None else None
    if run is None and book is None:
        raise NotAGradebook(f"{out} is not a gradebook: it holds neither {batch.RUN} nor gradebook.json")
    where = out / (batch.RUN if run is not None else "gradebook.json")
    doc = run or book or {}
    ids = _names(doc, "exercises", None if run is not None else "id", where)
    students = _names(doc, "students", None if run is not None else "student", where)
    try:
        exercises = [registry.get(i) for i in ids]
    except registry.UnknownExercise as exc:
        raise NotAGradebook(f"{where}: {exc} (graded by another version of the curriculum?)") from None
    return [_outcome(out, s, run) for s in students], exercises, run


def rebuild(out: Path) -> Path:
    """``index.html`` and the gradebook files of ``out`` again, from its saved grades; the page's path."""
    outcomes, exercises, run = load(out)
    batch.write_gradebook(out, outcomes, exercises)
    return write(out, outcomes, exercises, run)
