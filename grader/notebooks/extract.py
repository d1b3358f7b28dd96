"""Notebook submissions: the solution cells of deepgrade notebooks, found by nbgrader ``grade_id``.

A part's notebook (written by :mod:`grader.notebooks.course`) holds one read-only setup cell (``setup_<part>``:
the imports) and one solution cell per exercise (``neuron.sigmoid`` → ``neuron_sigmoid``).  Joined in
that order they are the part's module, exactly as ``assignments/<part>.py`` would be; :func:`extract`
writes those modules into a folder that the worker grades like any other submission.
:func:`assert_passes` is what a notebook's autograder cell calls.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from grader.i18n import _
from grader.notebooks import nbformat
from grader.registry import PARTS, Exercise, all_exercises
from grader.results import SubmissionResult

#: Environment variable: hypothesis examples per property in autograder cells (default 25).
EXAMPLES_ENV = "DEEPGRADE_EXAMPLES"
#: Environment variable: the notebook an autograder cell grades (default: ``<part>.ipynb`` in the cwd).
NOTEBOOK_ENV = "DEEPGRADE_NOTEBOOK"


def solution_id(ex: Exercise) -> str:
    """The nbgrader grade_id of an exercise's solution cell."""
    return ex.id.replace(".", "_")


def _tops(ex: Exercise) -> set[str]:
    """The top-level names an exercise writes into (``Value.backward`` writes into ``Value``)."""
    return {f.split(".", 1)[0] for f in ex.functions}


def cell_owner(ex: Exercise) -> Exercise:
    """The exercise whose solution cell holds ``ex``'s code: the first of its part that writes into the same
    top-level function or class (methods of one class are one cell), usually ``ex`` itself."""
    while True:
        first = next(e for e in all_exercises() if e.part == ex.part and (_tops(e) & _tops(ex) or e is ex))
        if first is ex:
            return ex
        ex = first  # follow the chain: A writes X, B writes X and Y, C writes Y — all in A's cell


def cell_id(ex: Exercise) -> str:
    """The grade_id of the solution cell holding ``ex``'s code."""
    return solution_id(cell_owner(ex))


def autograder_id(ex: Exercise) -> str:
    """The grade_id of an exercise's autograder (test) cell."""
    return "test_" + solution_id(ex)


def setup_id(part: str) -> str:
    """The grade_id of a part's read-only setup cell (its imports)."""
    return f"setup_{part}"


def missing_message(grade_id: str) -> str:
    return _("the cell with grade_id {grade_id} is missing").format(grade_id=grade_id)


@dataclass
class Extracted:
    """What :func:`extract_notebooks` found: modules written, and exercises whose cell is missing."""

    parts: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # exercise id -> message
    messages: list[str] = field(default_factory=list)


def _cells_by_id(path: Path) -> dict[str, str]:
    nb = nbformat().read(str(path), as_version=4)
    cells: dict[str, str] = {}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and gid and gid not in cells:
            cells[gid] = cell.source
    return cells


def _part_of(path: Path, cells: dict[str, str]) -> str | None:
    """The curriculum part a notebook belongs to: by its grade_ids, else by its file name."""
    for part in PARTS:
        ids = {setup_id(part)} | {cell_id(e) for e in all_exercises() if e.part == part}
        if ids & cells.keys():
            return part
    return path.stem if path.stem in PARTS else None


def module_source(cells: dict[str, str], part: str) -> tuple[str, list[str]]:
    """The module of ``part`` made of a notebook's cells (by grade_id), and the grade_ids it lacks."""
    wanted = [setup_id(part)] + list(dict.fromkeys(cell_id(e) for e in all_exercises() if e.part == part))
    lacking = [gid for gid in wanted if gid not in cells]
    chunks = [cells[gid].strip("\n") for gid in wanted if gid in cells]
    return "\n\n\n".join(chunks) + "\n", lacking


def extract_notebooks(ipynb_paths: Iterable[Path | str], dest: Path | str) -> Extracted:
    """Write ``dest/<part>.py`` for each notebook; exercises whose solution cell is gone are in ``missing``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = Extracted()
    for path in map(Path, ipynb_paths):
        try:
            cells = _cells_by_id(path)
        except Exception as exc:  # noqa: BLE001 - a broken file is the student's, reported, not raised
            out.messages.append(
                _("{file}: not a readable notebook ({error})").format(
                    file=path.name, error=f"{type(exc).__name__}: {exc}"
                )
            )
            continue
        part = _part_of(path, cells)
        if part is None:
            out.messages.append(
                _("{file}: no deepgrade cells (grade_ids) and not named after a part").format(file=path.name)
            )
            continue
        if part in out.parts:
            out.messages.append(
                _("{file}: a second notebook for part {part}, ignored").format(file=path.name, part=repr(part))
            )
            continue
        source, lacking = module_source(cells, part)
        (dest / f"{part}.py").write_text(source)
        out.parts.append(part)
        for gid in lacking:
            out.messages.append(f"{path.name}: {missing_message(gid)}")
        for e in all_exercises():
            if e.part == part and cell_id(e) in lacking:
                out.missing[e.id] = missing_message(cell_id(e))
    return out


def extract(ipynb_paths: Iterable[Path | str], dest: Path | str) -> list[str]:
    """Write the modules of the ``assignments/`` layout from notebooks into ``dest``; returns the messages."""
    return extract_notebooks(ipynb_paths, dest).messages


def mark_missing(result: SubmissionResult, missing: dict[str, str]) -> None:
    """Report the exercises whose solution cell is missing as errors that say so (in place)."""
    for er in result.exercises:
        if er.id in missing:
            for c in er.checks:
                c.status, c.score, c.message = "error", 0.0, missing[er.id]


def _notebook(part: str) -> Path:
    """The notebook an autograder cell grades: $DEEPGRADE_NOTEBOOK, Jupyter's session file, or ./<part>.ipynb."""
    for candidate in (os.environ.get(NOTEBOOK_ENV), os.environ.get("JPY_SESSION_NAME"), f"{part}.ipynb"):
        if candidate and candidate.endswith(".ipynb") and Path(candidate).is_file():
            return Path(candidate)
    raise AssertionError(
        _(
            "cannot find {file} in {folder}: save the notebook (deepgrade grades the saved file) or set {variable}"
        ).format(file=f"{part}.ipynb", folder=os.getcwd(), variable=NOTEBOOK_ENV)
    )


def _report(result: SubmissionResult) -> str:
    """The result as the notebook's failing cell shows it (the same view as the terminal's and the feedback's)."""
    from grader.reporters import view

    lines = []
    for er in result.exercises:
        lines.append(f"{view.exercise_heading(er)} ({view.status(er.status)})")
        for c in er.checks:
            lines.append(f"  {view.check_label(c)}")
            for heading, text in view.details(c):
                lines += [f"      {heading}:"] if heading else []
                lines += ["      " + line for line in text.splitlines()]
    return "\n".join(lines)


def assert_passes(
    exercise: str, *, hidden: bool = False, notebook: str | None = None, examples: int | None = None
) -> None:
    """Autograder cell body: grade this notebook's solution cells for ``exercise`` in the worker.

    Runs the public checks (or, with ``hidden``, only the hidden ones), prints the report and raises
    AssertionError with it unless every check passes.  Nothing reaches the kernel's stderr (nbgrader
    counts any stderr output as a failure): warnings are silenced and the worker's stderr stays in it.
    """
    import contextlib
    import io
    import tempfile
    import warnings

    from grader import registry
    from grader.runner import grade

    ex = registry.get(exercise)
    examples = examples or int(os.environ.get(EXAMPLES_ENV, "25"))
    path = Path(notebook) if notebook else _notebook(ex.part)
    sink = io.StringIO()
    with (
        tempfile.TemporaryDirectory(prefix="deepgrade-nb-") as tmp,
        warnings.catch_warnings(),
        contextlib.redirect_stderr(sink),
    ):
        warnings.simplefilter("ignore")
        found = extract_notebooks([path], tmp)
        if exercise in found.missing:
            raise AssertionError(
                _("{exercise}: {message} in {file}").format(
                    exercise=exercise, message=found.missing[exercise], file=path.name
                )
            )
        result = grade(Path(tmp), [ex], examples=examples, hidden=hidden, only=lambda c: c.hidden == hidden)
    report = _report(result)
    if not all(er.status == "passed" for er in result.exercises):
        raise AssertionError(report)
    print(report)
