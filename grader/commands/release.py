"""deepgrade release: write a student repository (assignments, grader, known answers; no reference code)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from grader import reference, registry
from grader.checks import known
from grader.commands import UsageError
from grader.i18n import N_, _
from grader.instructor.build import build
from grader.instructor.release import ROOT, leaks, ship_plans, write

NAME, HELP, ORDER = "release", N_("write a student repository without the reference solutions"), 65


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="DIR", help=_("new (or empty) folder to write the release into"))
    p.add_argument(
        "--no-plans",
        action="store_true",
        help=_(
            "do not ship the public checks' plans (students' first `check` of each exercise then draws "
            "its examples itself: slower)"
        ),
    )


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if not reference.available():
        raise UsageError("no solutions/ here: releases are made from the instructor's repository")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder")
    if out.resolve() == ROOT or ROOT in out.resolve().parents and out.resolve().parent == ROOT:
        raise UsageError("write the release outside the repository")
    stale = build(reference.SOLUTIONS, reference.ASSIGNMENTS, check=True)
    stale += known.build(reference.module, registry.all_exercises(), check=True)
    if stale:
        raise UsageError(f"out of date: {', '.join(stale)}; run `deepgrade build` first")
    write(out)
    if not args.no_plans:
        ship_plans(out, registry.all_exercises())
    found = leaks(out, reference.SOLUTIONS, reference.ASSIGNMENTS)
    if found:
        shutil.rmtree(out)
        raise UsageError(
            f"reference code would leak, release removed: {found[0]}"
            + (f" (and {len(found) - 1} more)" if len(found) > 1 else "")
        )
    files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"wrote a student release of {len(registry.all_exercises())} exercises to {out} ({files} files)")
    return 0
