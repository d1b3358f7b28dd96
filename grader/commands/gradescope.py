"""deepgrade gradescope: build a Gradescope autograder zip (setup.sh + run_autograder + the grader)."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader import registry
from grader import secret as course_secret
from grader.commands import UsageError
from grader.commands._common import add_examples
from grader.i18n import N_, _
from grader.instructor import autograder

NAME, HELP, ORDER = "gradescope", N_("build a Gradescope autograder zip for some or all exercises"), 27


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "exercises", nargs="*", metavar="EXERCISE|PART", help=_("what this assignment grades (default: all)")
    )
    p.add_argument(
        "--out", default="autograder.zip", metavar="ZIP", help=_("the zip to write (default autograder.zip)")
    )
    add_examples(p, 25)
    p.add_argument("--publish-hidden", action="store_true", help=_("show hidden checks to students by name"))
    p.add_argument(
        "--secret-file",
        metavar="PATH",
        help=_("the course secret baked into the zip for the hidden checks (default: as `grade` finds it)"),
    )
    p.add_argument(
        "--no-plans",
        action="store_true",
        help=_(
            "do not grade the reference here to ship the check plans (each submission then draws "
            "its examples again: slower)"
        ),
    )


def run(args: argparse.Namespace) -> int:
    chosen = registry.select(args.exercises)  # unknown names: a one-line error
    out = Path(args.out)
    if out.suffix != ".zip":
        raise UsageError(f"--out {out} should end in .zip")
    try:
        secret = course_secret.load(args.secret_file)
        names = autograder.build(
            out,
            exercises=args.exercises,
            examples=args.examples,
            secret=secret,
            publish_hidden=args.publish_hidden,
            with_plans=not args.no_plans,
        )
    except course_secret.SecretError as exc:
        raise UsageError(str(exc)) from None
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    parts = sorted({n.split("/")[1].removesuffix(".py") for n in names if n.startswith("solutions/")})
    print(
        f"wrote {out} ({len(names)} files; {len(chosen)} exercises, {sum(e.points for e in chosen):g} points; "
        f"solutions of {', '.join(parts)}): upload it as the assignment's autograder. It holds the course "
        "secret: give it to no one else"
    )
    return 0
