"""deepgrade list: the exercises in curriculum order."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader import registry
from grader.commands._common import add_lang
from grader.i18n import N_, _

NAME, HELP, ORDER = "list", N_("list the exercises in curriculum order, with points"), 10


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    add_lang(p)


def run(args: argparse.Namespace) -> int:
    exercises = registry.all_exercises()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": e.id,
                        "title": e.title,
                        "part": e.part,
                        "points": e.points,
                        "prerequisites": list(e.prerequisites),
                        "seed": e.seed,
                        "checks": [
                            {
                                "name": c.name,
                                "oracle": c.oracle,
                                "hidden": c.hidden,
                                "points": round(e.check_points(c), 4),
                            }
                            for c in e.checks
                        ],
                    }
                    for e in exercises
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    t = Table(title=_("deepgrade curriculum"), title_justify="left")
    # an id is what the user types next: never cut it; the other columns fold instead
    t.add_column(_("exercise"), no_wrap=True, min_width=max(len(e.id) for e in exercises))
    for col in (N_("title"), N_("seed §"), N_("points"), N_("checks")):
        t.add_column(_(col), overflow="fold")
    for e in exercises:
        public = sum(not c.hidden for c in e.checks)
        hidden = _("{public} (+{hidden} hidden)").format(public=public, hidden=len(e.checks) - public)
        t.add_row(Text(e.id), Text(_(e.title)), e.seed, f"{e.points:g}", hidden)
    t.caption = _("{n} exercises · {points} points").format(
        n=len(exercises), points=f"{sum(e.points for e in exercises):g}"
    )
    Console().print(t)
    return 0
