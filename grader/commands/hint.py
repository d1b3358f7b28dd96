"""deepgrade hint: the hint for one exercise, or for every exercise of a part."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from grader import registry
from grader.registry import Exercise

NAME, HELP, ORDER = "hint", "show the hint for an exercise, or for each exercise of a part", 30


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("exercise", metavar="EXERCISE|PART", help="exercise id or part, e.g. neuron.sigmoid or neuron")


def panel(e: Exercise) -> Panel:
    """One exercise's hint; plain text, not rich markup (a hint may hold brackets, e.g. ``x[i]``)."""
    body = f"{e.hint}\n\nWrite: {', '.join(e.functions)} in {e.part}.py"
    if e.seed:
        body += f"  (tutorial § {e.seed})"
    if e.prerequisites:
        body += f"\nBuilds on: {', '.join(e.prerequisites)}"
    return Panel(Text(body), title=Text(f"{e.id} — {e.title}"), title_align="left")


def run(args: argparse.Namespace) -> int:
    # `check neuron` works, so `hint neuron` does too: a part prints each of its exercises' hints
    exercises = registry.select([args.exercise])
    console = Console()
    for e in exercises:
        console.print(panel(e))
    return 0
