"""deepgrade check: grade a submission's public checks and say what to fix."""
from __future__ import annotations

import argparse

from grader.commands._common import add_selection, grade_with_progress, selected, submission_dir
from grader.reporters import report, report_json

NAME, HELP, ORDER = "check", "check a submission (default ./assignments) and report", 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_selection(p)
    p.add_argument("--submission", default="assignments", metavar="DIR", help="folder to grade")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    p.add_argument("--examples", type=int, default=25, help="hypothesis examples per property (default 25)")


def run(args: argparse.Namespace) -> int:
    exercises = selected(args)
    sub = submission_dir(args.submission)
    result = grade_with_progress(sub, exercises, quiet=args.json, examples=args.examples)
    if args.json:
        print(report_json(result))
    else:
        report(result)
    return 0 if result.passed else 1
