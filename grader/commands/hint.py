"""deepgrade hint: the hint for one exercise, or for every exercise of a part."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from grader import registry
from grader.commands._common import add_lang
from grader.i18n import N_, _
from grader.registry import Exercise

NAME, HELP, ORDER = "hint", N_("show the hint for an exercise, or for each exercise of a part"), 30


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("exercise", metavar="EXERCISE|PART", help=_("exercise id or part, e.g. neuron.sigmoid or neuron"))
    add_lang(p)


def sections(seed: str) -> str:
    """'2.1, 4.1' as '2.1 artificial neural networks, 4.1 the neuron model' (the titles translated)."""
    named = [f"{n} {_(registry.SECTIONS[n])}" if n in registry.SECTIONS else n for n in seed.split(", ")]
    return _(", ").join(named)


def panel(e: Exercise) -> Panel:
    """One exercise's hint; plain text, not rich markup (a hint may hold brackets, e.g. ``x[i]``)."""
    body = (
        _(e.hint)
        + "\n\n"
        + _("Write: {functions} in {file}").format(functions=", ".join(e.functions), file=f"{e.part}.py")
    )
    if e.seed:
        body += "  " + _("(tutorial § {section})").format(section=sections(e.seed))
    if e.prerequisites:
        body += "\n" + _("Builds on: {exercises}").format(exercises=", ".join(e.prerequisites))
    return Panel(Text(body), title=Text(f"{e.id} — {_(e.title)}"), title_align="left")


def run(args: argparse.Namespace) -> int:
    # `check neuron` works, so `hint neuron` does too: a part prints each of its exercises' hints
    exercises = registry.select([args.exercise])
    console = Console()
    for e in exercises:
        console.print(panel(e))
    return 0
