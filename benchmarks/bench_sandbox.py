"""Overhead of each isolation level over the plain worker, numpy-only workers included.

For each configuration (level, and which packages the worker may import) it prints the median worker start-up
(start + first answer) and the median wall time of grading the reference of some parts (public and hidden
checks), each with its ratio to the plain worker (``process``, every package), and the ratio of the fastest
runs (less sensitive to load).  Runs are interleaved, so load
from other jobs falls on every configuration alike; the load average is printed before and after.

    python benchmarks/bench_sandbox.py [--parts neuron,losses] [--runs 5] [--startups 15] [--examples 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import registry
from grader.isolation import sandbox
from grader.isolation.worker.client import Worker
from grader.runner import grade

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def forcing(launcher, packages):
    """``launcher`` told that the worker may import only ``packages`` (as the runner tells it for a part)."""
    return lambda argv, submission, _=None: launcher(argv, submission, packages)


def startup(launcher, packages) -> float:
    t = time.perf_counter()
    with Worker(SOLUTIONS, launcher=launcher, packages=packages) as w:
        w.ping()
    return time.perf_counter() - t


def grading(launcher, packages, exercises, examples: int) -> float:
    t = time.perf_counter()
    result = grade(SOLUTIONS, exercises, launcher=forcing(launcher, packages), examples=examples, hidden=True)
    took = time.perf_counter() - t
    assert result.score == result.max_score, "the reference must pass at every level"
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="neuron,losses", help="numpy-only parts to grade (comma-separated)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--startups", type=int, default=15)
    ap.add_argument("--examples", type=int, default=10)
    args = ap.parse_args()
    parts = args.parts.split(",")
    exercises = [e for e in registry.all_exercises() if e.part in parts]
    levels = ["process", "limits"] + (["sandbox"] if sandbox.bwrap_works() else [])
    launchers = {lvl: sandbox.launcher_for(lvl) for lvl in levels}
    configs = (
        [("process", None)]
        + [(lvl, ("numpy",)) for lvl in levels]
        + ([("sandbox", None)] if "sandbox" in levels else [])
    )
    print(
        f"parts {', '.join(parts)} ({len(exercises)} exercises, hidden checks, {args.examples} examples); "
        f"{args.runs} gradings and {args.startups} start-ups per configuration, interleaved; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before"
    )
    for lvl, pk in configs:  # warm every cache (runtime, package entries, views, the grader's imports)
        grading(launchers[lvl], pk, exercises[:1], 2)
        startup(launchers[lvl], pk)
    starts: dict = {c: [] for c in configs}
    grades: dict = {c: [] for c in configs}
    for _ in range(args.startups):
        for c in configs:
            starts[c].append(startup(launchers[c[0]], c[1]))
    for _ in range(args.runs):
        for c in configs:
            grades[c].append(grading(launchers[c[0]], c[1], exercises, args.examples))
    base_s, base_g = statistics.median(starts[configs[0]]), statistics.median(grades[configs[0]])
    print(
        f"{'isolation':<10} {'packages':<9} {'start-up ms':>11} {'vs plain':>9} {'(min)':>6} "
        f"{'grading s':>10} {'vs plain':>9} {'(min)':>6}"
    )
    for c in configs:
        s, g = statistics.median(starts[c]), statistics.median(grades[c])
        print(
            f"{c[0]:<10} {'all' if c[1] is None else ','.join(c[1]):<9} {s * 1000:>11.0f} {s / base_s:>8.2f}x "
            f"{min(starts[c]) / min(starts[configs[0]]):>5.2f}x {g:>10.2f} {g / base_g:>8.2f}x "
            f"{min(grades[c]) / min(grades[configs[0]]):>5.2f}x"
        )
    print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
