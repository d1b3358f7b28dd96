"""The hidden budget: what each exercise's hidden checks cost, and what they still catch.

Cost: a copy of ``solutions/`` graded with hidden checks (plans recorded first, then replayed, as every grade
after the first one of a course does), the seconds of each exercise's hidden checks at its budget
(``exercise(..., hidden_examples=k)``) and at the default ``HIDDEN_EXAMPLES``.

Power: every mutant of the corpus (``tests/mutants``) of the chosen exercises, graded with the **hidden checks
alone** (the public ones turned off) at both budgets: how many each rejects.  A hidden check guards against a
submission fitted to the public inputs, so this is its power on its own.

    python benchmarks/bench_hidden.py [--examples 25] [--power] [EXERCISE ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine

from grader import registry
from grader.registry import HIDDEN_EXAMPLES
from grader.runner import grade
from tests.corpus import mutants

SECRET = b"a benchmark course secret, 32 bytes or more"


def hidden_seconds(sub: Path, exercises: list[registry.Exercise], examples: int) -> dict[str, float]:
    """Seconds of each exercise's hidden checks, replaying (the first grade records the plans)."""
    for _ in range(2):
        result = grade(sub, exercises, hidden=True, examples=examples, secret=SECRET, only=lambda c: c.hidden)
    assert result.score == result.max_score, "the reference must pass its hidden checks"
    return {e.id: sum(c.seconds for c in e.checks) for e in result.exercises}


def rejected(tmp: Path, exercises: list[registry.Exercise], examples: int) -> tuple[int, int]:
    """(mutants rejected by the hidden checks alone, mutants) of ``exercises``."""
    ids = {e.id for e in exercises}
    chosen = [m for m in mutants() if m.exercise in ids]
    caught = 0
    for i, m in enumerate(chosen):
        sub = m.write(tmp / f"mutant{i}")
        result = grade(
            sub, [registry.get(m.exercise)], hidden=True, examples=examples, secret=SECRET, only=lambda c: c.hidden
        )
        caught += result.score < result.max_score
        shutil.rmtree(sub)
    return caught, len(chosen)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("exercises", nargs="*", help="default: those with a budget below the default")
    ap.add_argument("--examples", type=int, default=25)
    ap.add_argument("--power", action="store_true", help="also grade the corpus's mutants with hidden checks only")
    args = ap.parse_args()
    everything = registry.all_exercises()
    exercises = [registry.get(i) for i in args.exercises] or [
        e for e in everything if e.hidden_examples < HIDDEN_EXAMPLES
    ]
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}; public budget {args.examples} examples")
    budgets = {e.id: e.hidden_examples for e in exercises}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DEEPGRADE_CACHE"] = str(Path(tmp) / "cache")
        sub = Path(tmp) / "student"
        shutil.copytree(ROOT / "solutions", sub, ignore=shutil.ignore_patterns("__pycache__"))
        t = time.perf_counter()
        at_budget = hidden_seconds(sub, exercises, args.examples)
        print(
            f"hidden checks of {len(exercises)} exercises at their budgets: {sum(at_budget.values()):.1f} s "
            f"(with recording: {time.perf_counter() - t:.1f} s wall)"
        )
        for e in exercises:
            e.hidden_examples = HIDDEN_EXAMPLES
        at_default = hidden_seconds(sub, exercises, args.examples)
        print(f"  {'exercise':30} {'budget':>6} {'seconds':>8} {'at ' + str(HIDDEN_EXAMPLES) + 'x':>8}")
        for e in exercises:
            print(f"  {e.id:30} {budgets[e.id]:>5}x {at_budget[e.id]:8.2f} {at_default[e.id]:8.2f}")
        print(f"  {'total':30} {'':>6} {sum(at_budget.values()):8.2f} {sum(at_default.values()):8.2f}")
        if args.power:
            caught_default = rejected(Path(tmp), exercises, args.examples)
            for e in exercises:
                e.hidden_examples = budgets[e.id]
            caught_budget = rejected(Path(tmp), exercises, args.examples)
            print(
                f"mutants rejected by the hidden checks alone: {caught_budget[0]}/{caught_budget[1]} at the "
                f"budgets, {caught_default[0]}/{caught_default[1]} at {HIDDEN_EXAMPLES}x"
            )
        for e in exercises:
            e.hidden_examples = budgets[e.id]
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
