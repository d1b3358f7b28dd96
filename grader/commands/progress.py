"""deepgrade progress: what is done and what comes next, part by part (for the self-learner)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from grader.commands._common import add_examples, add_lang, check_environment, grade_with_progress, submission_dir
from grader.i18n import N_, _
from grader.registry import PARTS, all_exercises
from grader.reporters.table import next_up

NAME, HELP, ORDER = "progress", N_("summarise what is done and what comes next"), 40


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--submission", default="assignments", metavar="DIR", help=_("folder to check (default ./assignments)")
    )
    add_examples(p, 10)
    add_lang(p)


def run(args: argparse.Namespace) -> int:
    check_environment(all_exercises())
    result = grade_with_progress(submission_dir(args.submission), all_exercises(), quiet=False, examples=args.examples)
    t = Table(title=_("your progress"), title_justify="left")
    for col in (N_("part"), N_("done"), N_("points"), N_("exercises")):
        t.add_column(_(col))
    for part in PARTS:
        mine = [e for e in result.exercises if e.part == part]
        if not mine:
            continue
        done = sum(e.status == "passed" for e in mine)
        sign = {"passed": "✓", "not_implemented": "·"}
        marks = " ".join(sign.get(e.status, "✗") + e.id.split(".", 1)[1] for e in mine)
        t.add_row(
            part, f"{done}/{len(mine)}", f"{sum(e.score for e in mine):.1f}/{sum(e.max_score for e in mine):g}", marks
        )
    console = Console()
    console.print(t)
    console.print(next_up(result))
    return 0
