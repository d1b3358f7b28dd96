"""Batch grading speed: one complete submission, then --jobs 2 against --jobs 1 on a class of copies.

    python benchmarks/bench_batch.py [--students 30] [--repeat 3] [--only PART ...] [--pinning | --ceiling]

Prints the wall time of grading one complete submission (a copy of solutions/), once as the first grade (which
records the check plans missing from the user's cache) and once replaying them, then the class graded with 1 and
with 2 jobs in ``--repeat`` rounds, the two runs of a round back to back (their order swapped each round): the
median wall time of each, and the speed-up, the median of the rounds' own ratios.  Every run starts from an
empty --out.
With ``--pinning``, instead: the class at 2 jobs with each pool process pinned to a core (as ``grade`` does when
the jobs are every core) and unpinned, the two runs alternated ``--repeat`` times.
With ``--ceiling``, instead: what two jobs could give on this machine at best.  In each round the class is graded
by one job on one core, alone, then by two such jobs side by side, each on a core of its own and sharing nothing
(two processes), then with ``--jobs 1`` and ``--jobs 2``.  The pair grades the class twice in the time the slower
of them takes, so ``2 x (--jobs 1) / pair`` is the most ``--jobs 2`` could gain here; ``pair / alone`` is what two
busy cores cost each other (caches, memory, a virtual machine's neighbours), which no grader code can remove.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine

from grader import registry
from grader.instructor import batch
from grader.instructor.submissions import discover


def timed(paths: list[str], exercises, *, jobs: int, examples: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        outcomes = batch.run_batch(discover(paths), Path(out), exercises, jobs=jobs, examples=examples)
        seconds = time.perf_counter() - started
    full = sum(e.points for e in exercises)
    for o in outcomes:
        if o.result.score != full:  # e.g. a wall-clock timeout on an overloaded machine
            bad = [
                f"{e.id}: {c.name}: {c.status}: {c.message[:120]}"
                for e in o.result.exercises
                for c in e.checks
                if c.status != "passed"
            ]
            print(f"  warning: {o.student} scored {o.result.score:g}/{full:g}: {bad[:2]}")
    return seconds


def compare_pinning(cls: str, exercises, args: argparse.Namespace) -> None:
    pinned = batch._cores_for
    runs: dict[str, list[float]] = {"pinned": [], "unpinned": []}
    for _ in range(args.repeat):
        for mode in runs:
            batch._cores_for = pinned if mode == "pinned" else (lambda jobs: [])
            runs[mode].append(timed([cls], exercises, jobs=2, examples=args.examples))
    batch._cores_for = pinned
    for mode, walls in runs.items():
        print(
            f"{args.students} submissions, --jobs 2, {mode}: median {statistics.median(walls):.1f} s of "
            f"{', '.join(f'{w:.1f}' for w in walls)}"
        )


def one_core(cls: str, core: int, args: argparse.Namespace) -> subprocess.Popen:
    """This script in a process of its own, on ``core`` only, grading ``cls`` with one job; it prints the wall
    time of the grade (its start-up not counted)."""
    command = [sys.executable, __file__, "--on-core", str(core), "--class-folder", cls]
    command += ["--examples", str(args.examples)]
    command += ["--only", *args.only] if args.only else []
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def seconds_of(proc: subprocess.Popen) -> float:
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"a one-core grade failed (exit {proc.returncode})")
    return float(out.split()[-1])


def ceiling(cls: str, exercises, args: argparse.Namespace) -> None:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("--ceiling needs two cores")
    rows: dict[str, list[float]] = {k: [] for k in ("alone", "pair", "jobs1", "jobs2")}
    for round_ in range(args.repeat):
        rows["alone"].append(seconds_of(one_core(cls, cores[0], args)))
        pair = [one_core(cls, core, args) for core in cores[:2]]
        rows["pair"].append(max(seconds_of(p) for p in pair))
        rows["jobs1"].append(timed([cls], exercises, jobs=1, examples=args.examples))
        rows["jobs2"].append(timed([cls], exercises, jobs=2, examples=args.examples))
        r = {k: v[-1] for k, v in rows.items()}
        print(
            f"round {round_ + 1}: one job on one core {r['alone']:.1f} s; two side by side {r['pair']:.1f} s; "
            f"--jobs 1 {r['jobs1']:.1f} s; --jobs 2 {r['jobs2']:.1f} s",
            flush=True,
        )
    m = {k: statistics.median(v) for k, v in rows.items()}
    print(
        f"medians of {args.repeat}: two busy cores cost each other {m['pair'] / m['alone'] - 1:.1%}; "
        f"--jobs 1 on two cores is {m['alone'] / m['jobs1']:.2f}x one core; the most --jobs 2 could gain here "
        f"{2 * m['jobs1'] / m['pair']:.2f}x; it gains {m['jobs1'] / m['jobs2']:.2f}x "
        f"(load average now {os.getloadavg()[0]:.1f})"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--students", type=int, default=30)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--examples", type=int, default=25)
    p.add_argument("--only", nargs="*", default=[])
    p.add_argument("--pinning", action="store_true", help="2 jobs pinned against unpinned, alternated")
    p.add_argument("--ceiling", action="store_true", help="the most --jobs 2 could gain on this machine")
    p.add_argument("--on-core", type=int, help=argparse.SUPPRESS)  # --ceiling's one-core grades
    p.add_argument("--class-folder", help=argparse.SUPPRESS)
    args = p.parse_args()
    exercises = registry.select(args.only)
    if args.on_core is not None:
        os.sched_setaffinity(0, {args.on_core})
        print(f"{timed([args.class_folder], exercises, jobs=1, examples=args.examples):.3f}")
        return
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        cls = Path(tmp) / "class"
        for i in range(args.students):
            shutil.copytree(ROOT / "solutions", cls / f"student{i:03d}", ignore=shutil.ignore_patterns("__pycache__"))
        if args.pinning:
            compare_pinning(str(cls), exercises, args)
            return
        if args.ceiling:
            timed([str(cls / "student000")], exercises, jobs=1, examples=args.examples)  # any plans missing
            ceiling(str(cls), exercises, args)
            return
        # the first grade after a change to the grader records its plans (the key hashes the grader's source)
        warm = timed([str(cls / "student000")], exercises, jobs=1, examples=args.examples)
        one = timed([str(cls / "student000")], exercises, jobs=1, examples=args.examples)
        print(
            f"one complete submission ({len(exercises)} exercises, {args.examples} examples): {one:.2f} s "
            f"(the first grade, recording any plans missing: {warm:.2f} s)"
        )
        # alternated, the order swapped each round: a virtual machine drifts by several percent within an hour,
        # so each round's ratio is of two runs minutes apart, and the figure is the median of those ratios
        walls: dict[int, list[float]] = {1: [], 2: []}
        ratios = []
        for round_ in range(args.repeat):
            for jobs in (1, 2) if round_ % 2 == 0 else (2, 1):
                walls[jobs].append(timed([str(cls)], exercises, jobs=jobs, examples=args.examples))
            ratios.append(walls[1][-1] / walls[2][-1])
        for jobs, runs in walls.items():
            print(
                f"{args.students} submissions, --jobs {jobs}: median {statistics.median(runs):.1f} s "
                f"of {', '.join(f'{r:.1f}' for r in runs)}"
            )
        print(
            f"speed-up of --jobs 2 over --jobs 1: median {statistics.median(ratios):.2f}x of the rounds' "
            f"{', '.join(f'{r:.2f}' for r in ratios)} (load average now {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
