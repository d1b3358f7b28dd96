"""Pieces shared by several sub-commands."""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from grader import registry
from grader.commands import UsageError
from grader.i18n import _
from grader.notebooks.extract import Extracted, extract_notebooks
from grader.registry import Exercise
from grader.results import SubmissionResult


def add_lang(p: argparse.ArgumentParser) -> None:
    """``--lang``: the language of what the command shows (``grader.i18n``; the locale's by default)."""
    from grader.i18n import LANGUAGES

    p.add_argument(
        "--lang",
        default=None,
        metavar="LANG",
        help=_(
            "language of the feedback: {languages} (zh for short); default: the locale's "
            "(LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else en"
        ).format(languages=", ".join(LANGUAGES)),
    )


def add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("exercises", nargs="*", metavar="EXERCISE|PART", help=_("exercise ids or parts (default: all)"))


def selected(args: argparse.Namespace) -> list[Exercise]:
    return registry.select(args.exercises)


def _examples(value: str) -> int:
    """An --examples count: hypothesis needs at least one example, so 0 or less is a usage error, not a crash."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value} is not a whole number").format(value=repr(value))) from None
    if n < 1:
        raise argparse.ArgumentTypeError(_("must be at least 1"))
    return n


def add_examples(p: argparse.ArgumentParser, default: int) -> None:
    """``--examples N`` (checked here, so every command that takes it refuses 0 the same way: exit 2)."""
    p.add_argument(
        "--examples",
        type=_examples,
        default=default,
        metavar="N",
        help=_("hypothesis examples per property (default {default})").format(default=default),
    )


def check_environment(exercises: list[Exercise]) -> None:
    """Settings of this machine that would fail a correct submission, refused before anything is graded:
    a ``DEEPGRADE_MNIST`` folder without MNIST's files would otherwise fail ``train.loop`` as the student's."""
    if any(e.part == "train" for e in exercises):
        from grader.checks.training import mnist_problem

        problem = mnist_problem()
        if problem:
            raise UsageError(problem)


def submission_dir(path: str) -> Path:
    """``path`` if it names a folder (a one-line error otherwise); read it only through a safe copy."""
    p = Path(path)
    if not p.exists():
        raise UsageError(_("submission folder {path} does not exist").format(path=path))
    if not p.is_dir():
        raise UsageError(_("submission {path} is not a folder").format(path=path))
    return p


@contextlib.contextmanager
def submission_folder(path: str) -> Iterator[tuple[Path, Extracted]]:
    """A private copy to grade, made with no link followed and no bytecode (``grader.instructor.submissions.walk``):
    of the folder ``path``, or, for notebooks (a .ipynb file or a folder holding some), with their solution
    cells extracted into the modules of the assignments/ layout."""
    from grader.instructor.submissions import SubmissionError, copy, read_file

    p = Path(path)
    with tempfile.TemporaryDirectory(prefix="deepgrade-check-") as tmp:
        work = Path(tmp) / "submission"
        work.mkdir()
        try:
            if p.suffix == ".ipynb" and not p.is_dir():
                if not p.exists():
                    raise UsageError(_("submission {path} does not exist").format(path=path))
                (work / p.name).write_bytes(read_file(p))
                notebooks = [work / p.name]
            else:
                copy(submission_dir(path), work)
                notebooks = sorted(work.glob("*.ipynb"))
        except SubmissionError as exc:
            raise UsageError(_("submission {path}: {error}").format(path=path, error=exc)) from None
        if not notebooks:
            yield work, Extracted()
            return
        import importlib.util

        if importlib.util.find_spec("nbformat") is None:
            raise UsageError(_("grading notebooks needs nbformat: pip install 'deepgrade[notebook]'"))
        yield work, extract_notebooks(notebooks, work)


def add_isolation(p: argparse.ArgumentParser, default: str) -> None:
    """``--isolation`` and ``--submission-timeout`` (see grader/isolation/sandbox.py and docs/sandbox.md)."""
    from grader.isolation.sandbox import LEVELS

    p.add_argument(
        "--isolation",
        choices=LEVELS,
        default=default,
        help=_("how to isolate the student's code (default {default}; auto = the best available here)").format(
            default=default
        ),
    )
    p.add_argument(
        "--submission-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=_("time budget of the whole submission; checks after it are marked timeout"),
    )


def isolation_options(args: argparse.Namespace) -> dict:
    """``grade()`` keyword arguments from :func:`add_isolation`'s options; a one-line error if unusable."""
    from grader.isolation.sandbox import launcher_for

    if args.submission_timeout is not None and args.submission_timeout <= 0:
        raise UsageError(_("--submission-timeout must be positive"))
    try:
        launcher = launcher_for(args.isolation)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return {"launcher": launcher, "submission_timeout": args.submission_timeout}


def grade_with_progress(submission: Path, exercises: list[Exercise], *, quiet: bool, **kw) -> SubmissionResult:
    """Run the grader with a progress bar on stderr (stdout stays clean for --json)."""
    from grader.reporters.view import status
    from grader.runner import grade

    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        return grade(submission, exercises, **kw)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(_("grading"), total=len(exercises))

        def step(er) -> None:
            bar.update(task, advance=1, description=f"{er.id}: {status(er.status)}")

        return grade(submission, exercises, progress=step, **kw)
