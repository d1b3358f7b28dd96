"""Pieces shared by several sub-commands."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from grader import registry
from grader.cli import UsageError
from grader.registry import Exercise
from grader.results import SubmissionResult


def add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("exercises", nargs="*", metavar="EXERCISE|PART", help="exercise ids or parts (default: all)")


def selected(args: argparse.Namespace) -> list[Exercise]:
    return registry.select(args.exercises)


def submission_dir(path: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise UsageError(f"submission folder {path} does not exist")
    if not p.is_dir():
        raise UsageError(f"submission {path} is not a folder")
    return p


def grade_with_progress(submission: Path, exercises: list[Exercise], *, quiet: bool, **kw) -> SubmissionResult:
    """Run the grader with a progress bar on stderr (stdout stays clean for --json)."""
    from grader.runner import grade

    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        return grade(submission, exercises, **kw)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("grading", total=len(exercises))

        def step(er) -> None:
            bar.update(task, advance=1, description=f"{er.id}: {er.status}")

        return grade(submission, exercises, progress=step, **kw)
