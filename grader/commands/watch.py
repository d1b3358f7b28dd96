"""deepgrade watch: re-check the exercises of whichever file you just saved (the edit-save loop)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from grader.commands._common import add_examples, add_lang, check_environment, submission_dir
from grader.i18n import N_, _
from grader.isolation.worker import forkserver
from grader.registry import PARTS, all_exercises
from grader.reporters.table import print_report
from grader.runner import grade

NAME, HELP, ORDER = "watch", N_("re-check an exercise each time its file is saved"), 50
#: How long the watcher waits for a change before it looks up (milliseconds): the delay before "watching" is said.
WAKE_MS = 200


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--submission", default="assignments", metavar="DIR", help=_("folder to watch (default ./assignments)")
    )
    add_examples(p, 10)
    add_lang(p)
    p.add_argument("--once", action="store_true", help=argparse.SUPPRESS)  # for tests: stop after one change


def parts_changed(changes: Iterable[tuple[object, str]]) -> list[str]:
    """The curriculum parts whose ``<part>.py`` is among the changed paths, in curriculum order."""
    names = {Path(path).stem for _, path in changes if path.endswith(".py")}
    return [p for p in PARTS if p in names]


def run(args: argparse.Namespace) -> int:
    from watchfiles import watch

    sub = submission_dir(args.submission)
    check_environment(all_exercises())
    console = Console()
    forkserver.enable()  # every save starts workers again: fork them from one that has imported torch (and Keras)
    watching = False
    # An idle folder yields an empty set every WAKE_MS: the first yield comes once the folder is watched, and
    # "watching" is said only then (a save before it would not be seen).
    for changes in watch(sub, debounce=300, rust_timeout=WAKE_MS, yield_on_timeout=True):
        if not watching:
            watching = True
            console.print(
                escape(
                    _("watching {folder} — save a file to re-check its exercises (Ctrl-C to stop)").format(
                        folder=f"{sub}/"
                    )
                )
            )
        parts = parts_changed(changes)
        if not parts:
            continue
        exercises = [e for e in all_exercises() if e.part in parts]
        console.rule(escape(_("{parts} changed").format(parts=", ".join(parts))))
        print_report(grade(sub, exercises, examples=args.examples), console, failures=1)
        if args.once:
            return 0
    return 0
