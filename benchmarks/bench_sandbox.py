"""Overhead of the sandbox over the plain worker.

Prints, for each isolation level available here: the median wall time of grading the reference of every
registered part (5 runs, public and hidden checks), its ratio to ``process``, and the median start-up time
of one worker (start + first answer, 10 runs).  Run from the repository root:

    python benchmarks/bench_sandbox.py [--runs 5] [--examples 25]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import registry, sandbox  # noqa: E402
from grader._worker.client import Worker  # noqa: E402
from grader.runner import grade  # noqa: E402

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def startup(launcher, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        with Worker(SOLUTIONS, launcher=launcher) as w:
            w.ping()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def grading(launcher, runs: int, examples: int) -> float:
    exercises = registry.all_exercises()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = grade(SOLUTIONS, exercises, launcher=launcher, examples=examples, hidden=True)
        times.append(time.perf_counter() - t)
        assert result.score == result.max_score, "the reference must pass at every isolation level"
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--examples", type=int, default=25)
    args = ap.parse_args()
    levels = ["process", "limits"] + (["sandbox"] if sandbox.bwrap_works() else [])
    parts = sorted({e.part for e in registry.all_exercises()})
    print(f"parts: {', '.join(parts)}; {args.runs} runs, {args.examples} examples; best level here: "
          f"{sandbox.available_isolation()}")
    launchers = {lvl: sandbox.launcher_for(lvl) for lvl in levels}
    grading(launchers["process"], 1, args.examples)  # warm the grader (torch import, caches)
    base = None
    print(f"{'isolation':<10} {'grading (median s)':>19} {'vs process':>11} {'worker start-up (ms)':>21}")
    for lvl in levels:
        g = grading(launchers[lvl], args.runs, args.examples)
        s = startup(launchers[lvl], 10)
        base = base or g
        print(f"{lvl:<10} {g:>19.2f} {g / base:>10.2f}x {s * 1000:>21.0f}")


if __name__ == "__main__":
    main()
