"""deepgrade list: the exercises in curriculum order."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader import registry

NAME, HELP, ORDER = "list", "list the exercises in curriculum order, with points", 10


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


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
    t = Table(title="deepgrade curriculum", title_justify="left")
    # an id is what the user types next: never cut it; the other columns fold instead
    t.add_column("exercise", no_wrap=True, min_width=max(len(e.id) for e in exercises))
    for col in ("title", "seed §", "points", "checks"):
        t.add_column(col, overflow="fold")
    for e in exercises:
        public = sum(not c.hidden for c in e.checks)
        t.add_row(Text(e.id), Text(e.title), e.seed, f"{e.points:g}", f"{public} (+{len(e.checks) - public} hidden)")
    t.caption = f"{len(exercises)} exercises · {sum(e.points for e in exercises):g} points"
    Console().print(t)
    return 0
