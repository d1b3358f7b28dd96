"""deepgrade build: generate assignments/ from solutions/ (one source per exercise), and record the
reference's answers on fixed inputs into grader/known/ (the ``known`` oracle of a student release)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import reference, registry
from grader.checks import known
from grader.commands import UsageError
from grader.i18n import N_, _
from grader.instructor.build import build

NAME, HELP, ORDER = "build", N_("generate assignments/ from the marked reference solutions"), 60


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", action="store_true", help=_("exit 1 if assignments/ is out of date; write nothing"))
    p.add_argument("--solutions", default=str(reference.SOLUTIONS), help=argparse.SUPPRESS)
    p.add_argument("--out", default=str(reference.ASSIGNMENTS), help=argparse.SUPPRESS)
    p.add_argument("--known", default=str(known.KNOWN), help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    solutions = Path(args.solutions)
    if not solutions.is_dir():
        raise UsageError(f"no solutions folder at {solutions} (a student release cannot build)")
    stale = build(solutions, Path(args.out), check=args.check)
    stale += known.build(
        lambda part: reference.module(part, solutions), registry.all_exercises(), Path(args.known), check=args.check
    )
    if args.check:
        if stale:
            print(
                f"assignments/ or grader/known/ is out of date: {', '.join(stale)} (run `deepgrade build`)",
                file=sys.stderr,
            )
            return 1
        print("assignments/ and grader/known/ are up to date")
        return 0
    print(f"wrote {len(stale)} file(s)" + (f": {', '.join(stale)}" if stale else " (all up to date)"))
    return 0
