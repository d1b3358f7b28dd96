"""What the worker boundary costs: the same checks run through the worker process versus in-process
(the student's module imported into the benchmark's own process — what deepgrade never does when grading).

Both runs use the same runner, checks, seeds and example counts; only the `Worker` differs.  Figures are
medians of 5 runs over the first half of the curriculum, after one warm-up run (torch imported, caches warm).

    python benchmarks/bench_boundary.py
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Callable

from _common import ROOT, machine

from grader import reference, registry
from grader._worker.child import _Session
from grader._worker.client import Worker
from grader.runner import grade_exercise

PARTS = ["neuron", "losses", "backprop", "autograd", "optim"]


class InProcess:
    """A stand-in for `Worker` that calls drivers directly, with no process and no serialisation."""

    def __init__(self, submission: Path) -> None:
        self.session = _Session(str(submission))
        self.submission = submission
        self.imports: list[str] = []  # the worker's record of run-time imports (forbidden-import policy)

    def setup(self, parts, prereq_source: str = "", prereq_names=None, timeout: float = 30.0) -> None:
        self.session.reset(prereq_source, prereq_names or {})
        for part in parts:
            self.session.student(part)

    def drive(self, fn: Callable[..., Any], *args: Any, timeout: float = 10.0) -> Any:
        return fn(self.session.student, *args)


def run(worker: Any, exercises: list) -> float:
    t = time.perf_counter()
    for ex in exercises:
        er = grade_exercise(worker, ex, examples=25)
        assert er.status == "passed", (ex.id, er.first_failure())
    return time.perf_counter() - t


def main() -> None:
    import sys

    exercises = [e for e in registry.all_exercises() if e.part in PARTS]
    sys.path.insert(0, str(reference.SOLUTIONS))  # the in-process run imports the submission's modules
    print(f"machine: {machine()}")
    print(f"exercises: {len(exercises)} ({', '.join(sorted({e.part for e in exercises}))})")
    inproc = InProcess(reference.SOLUTIONS)
    with Worker(reference.SOLUTIONS) as worker:
        run(worker, exercises)
        run(inproc, exercises)  # warm-up both
        w, p = [], []
        for _ in range(5):
            w.append(run(worker, exercises))
            p.append(run(inproc, exercises))
    mw, mp = statistics.median(w), statistics.median(p)
    print(f"through the worker: median {mw:.2f} s; in-process: median {mp:.2f} s; ratio {mw / mp:.2f}x")


if __name__ == "__main__":
    main()
