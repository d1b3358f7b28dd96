"""deepgrade nbgrader: write an nbgrader course (config + one source notebook per part) from solutions/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import reference
from grader.commands import UsageError
from grader.commands._common import add_lang
from grader.i18n import N_, _
from grader.registry import PARTS

NAME, HELP, ORDER = "nbgrader", N_("write an nbgrader course (source notebooks with autograder cells)"), 70


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help=_("course folder to write (nbgrader_config.py, source/<part>/)"))
    p.add_argument("--part", action="append", choices=PARTS, dest="parts", help=_("only this part (repeatable)"))
    p.add_argument("--course", default="deepgrade", help=_("nbgrader course id (default deepgrade)"))
    p.add_argument("--solutions", default=str(reference.SOLUTIONS), help=argparse.SUPPRESS)
    add_lang(p)  # the language of the notebooks' text (titles, hints, check names)


def run(args: argparse.Namespace) -> int:
    from grader.notebooks.course import write_course

    solutions = Path(args.solutions)
    if not solutions.is_dir():
        raise UsageError(f"no solutions folder at {solutions} (a student release cannot build a course)")
    dest = Path(args.dir)
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a folder")
    written, skipped = write_course(dest, solutions, args.parts, course=args.course)
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    if not written:
        raise UsageError(f"no part of {', '.join(args.parts or PARTS)} has a solutions file to build from")
    for nb in written:
        print(f"wrote {nb}")
    print(f"next: cd {dest} && nbgrader generate_assignment {written[0].parent.name}")
    return 0
