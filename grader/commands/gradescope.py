"""deepgrade gradescope: build a Gradescope autograder zip (setup.sh + run_autograder + the grader)."""
from __future__ import annotations

import argparse
from pathlib import Path

from grader import gradescope, registry
from grader.cli import UsageError

NAME, HELP, ORDER = "gradescope", "build a Gradescope autograder zip for some or all exercises", 27


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("exercises", nargs="*", metavar="EXERCISE|PART", help="what this assignment grades (default: all)")
    p.add_argument("--out", default="autograder.zip", metavar="ZIP", help="the zip to write (default autograder.zip)")
    p.add_argument("--examples", type=int, default=25, help="hypothesis examples per property (default 25)")
    p.add_argument("--publish-hidden", action="store_true", help="show hidden checks to students by name")


def run(args: argparse.Namespace) -> int:
    chosen = registry.select(args.exercises)  # unknown names: a one-line error
    out = Path(args.out)
    if out.suffix != ".zip":
        raise UsageError(f"--out {out} should end in .zip")
    try:
        names = gradescope.build(out, exercises=args.exercises, examples=args.examples,
                                 publish_hidden=args.publish_hidden)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {out} ({len(names)} files; {len(chosen)} exercises, "
          f"{sum(e.points for e in chosen):g} points): upload it as the assignment's autograder")
    return 0
