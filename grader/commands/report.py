"""deepgrade report: rebuild a gradebook's class page (index.html) and gradebook files from its saved grades."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from grader.commands import UsageError
from grader.i18n import N_, _

NAME, HELP, ORDER = (
    "report",
    N_("rebuild DIR/index.html and the gradebook files from the saved grades (no grading)"),
    26,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help=_("a folder `deepgrade grade --out DIR` wrote"))


def run(args: argparse.Namespace) -> int:
    from grader.instructor import report

    started = time.perf_counter()
    try:
        page = report.rebuild(Path(args.dir))
    except report.NotAGradebook as exc:
        raise UsageError(str(exc)) from None
    print(_("class report: {page} ({s:.2f} s)").format(page=page, s=time.perf_counter() - started))
    return 0
