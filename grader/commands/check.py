"""deepgrade check: grade a submission's public checks and say what to fix."""

from __future__ import annotations

import argparse
import sys

from grader.commands import UsageError
from grader.commands._common import (
    add_examples,
    add_isolation,
    add_lang,
    add_selection,
    check_environment,
    grade_with_progress,
    isolation_options,
    selected,
    submission_folder,
)
from grader.i18n import N_, _
from grader.notebooks.extract import mark_missing
from grader.reporters import report, report_json

NAME, HELP, ORDER = "check", N_("check a submission (default ./assignments) and report"), 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_selection(p)
    p.add_argument(
        "--submission",
        default=None,
        metavar="DIR",
        help=_("folder to grade (default ./assignments), or a .ipynb notebook (its solution cells are graded)"),
    )
    p.add_argument("--json", action="store_true", help=_("print one JSON document instead of the table"))
    add_examples(p, 25)
    p.add_argument(
        "--forbidden-penalty",
        type=float,
        default=0.0,
        metavar="F",
        help=_("fraction of an exercise's points a forbidden import costs (default 0: warn only)"),
    )
    add_isolation(p, default="process")
    add_lang(p)


def _user() -> str:
    import getpass

    try:
        return _("you ({user})").format(user=getpass.getuser())
    except (KeyError, OSError):
        return _("you")


def run(args: argparse.Namespace) -> int:
    exercises = selected(args)
    check_environment(exercises)
    if not 0.0 <= args.forbidden_penalty <= 1.0:
        raise UsageError(_("--forbidden-penalty must be between 0 and 1"))
    options = isolation_options(args)
    explicit, args.submission = args.submission is not None, args.submission or "assignments"
    with submission_folder(args.submission) as (sub, notebooks):
        if explicit and args.isolation == "process":
            name = "".join(c if c.isprintable() else "?" for c in args.submission)
            warning = _(
                "--isolation process runs {folder} as {user}, with your files, environment and network; "
                "use --isolation sandbox for code you did not write"
            ).format(folder=name, user=_user())
            print(_("deepgrade: warning: {message}").format(message=warning), file=sys.stderr)
        for message in notebooks.messages:
            print(f"deepgrade: {message}", file=sys.stderr)
        result = grade_with_progress(
            sub, exercises, quiet=args.json, examples=args.examples, forbidden_penalty=args.forbidden_penalty, **options
        )
    mark_missing(result, notebooks.missing)
    result.submission = args.submission
    if args.json:
        print(report_json(result))
    else:
        report(result)
    # skipped is not passed, and a forbidden import is 0 in the official grade even where check only warns
    done = result.passed and not any(e.status == "skipped" or e.notes for e in result.exercises)
    return 0 if done else 1
