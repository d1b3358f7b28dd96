"""deepgrade hint: the hint for one exercise."""
from __future__ import annotations

import argparse

from rich.console import Console
from rich.panel import Panel

from grader import registry

NAME, HELP, ORDER = "hint", "show the hint for an exercise", 30


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("exercise", help="exercise id, e.g. neuron.sigmoid")


def run(args: argparse.Namespace) -> int:
    e = registry.get(args.exercise)
    body = f"{e.hint}\n\nWrite: {', '.join(e.functions)} in {e.part}.py"
    if e.seed:
        body += f"  (tutorial § {e.seed})"
    if e.prerequisites:
        body += f"\nBuilds on: {', '.join(e.prerequisites)}"
    Console().print(Panel(body, title=f"{e.id} — {e.title}", title_align="left"))
    return 0
