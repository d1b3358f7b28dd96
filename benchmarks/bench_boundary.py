"""What the prerequisite round trips cost: the exercises graded with given (reference) functions, run with
those functions served by the grader over the wire (what deepgrade does: no reference code in the worker)
versus computed in the worker by the submission's own copies (the reference solutions themselves, so both
runs compute the same answers; only where the given functions run differs).

Same worker, checks, seeds and example counts.  Medians of ``REPEAT`` runs after one warm-up, per exercise,
with the number of calls the grader served and the cost per call.

    python benchmarks/bench_boundary.py
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from _common import machine

from grader import reference, registry, runner
from grader.isolation.worker.client import Worker

REPEAT = 3
EXAMPLES = 25


class _Counting(reference.Given):
    """The grader's server of given functions, keeping a tally of the calls served."""

    served = 0

    def __call__(self, call: dict[str, Any]) -> Any:
        _Counting.served += 1
        return super().__call__(call)


class _NothingGiven(reference.Given):
    """No given functions: the worker runs the submission's own (here: the reference) versions."""

    def __init__(self, ex: registry.Exercise) -> None:
        super().__init__(ex)
        self.spec, self._allowed = {}, {}


def _time(ex: registry.Exercise, given: type[reference.Given]) -> tuple[float, int]:
    runner.reference.Given = given  # type: ignore[misc]  # what the runner builds for each exercise
    try:
        with Worker(reference.SOLUTIONS, packages=runner.packages_for(ex)) as worker:
            runner.grade_exercise(worker, ex, examples=EXAMPLES)  # warm-up: imports, caches
            times = []
            for _ in range(REPEAT):
                _Counting.served = 0
                t = time.perf_counter()
                result = runner.grade_exercise(worker, ex, examples=EXAMPLES)
                times.append(time.perf_counter() - t)
                assert result.status == "passed", (ex.id, result.first_failure())
        return statistics.median(times), _Counting.served
    finally:
        runner.reference.Given = _GIVEN  # type: ignore[misc]


_GIVEN = reference.Given


def main() -> None:
    os.environ.setdefault("DEEPGRADE_SECRET", "benchmark")
    exercises = [e for e in registry.all_exercises() if reference.Given(e)]
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'exercise':<28} {'served':>9} {'local':>9} {'ratio':>6} {'calls':>7} {'per call':>9}")
    total_s = total_l = 0.0
    for ex in exercises:
        served, calls = _time(ex, _Counting)
        local, _ = _time(ex, _NothingGiven)
        total_s, total_l = total_s + served, total_l + local
        per_call = (served - local) / calls * 1e3 if calls else float("nan")
        print(f"{ex.id:<28} {served:8.2f}s {local:8.2f}s {served / local:5.2f}x {calls:7d} {per_call:7.2f}ms")
    print(f"{'all':<28} {total_s:8.2f}s {total_l:8.2f}s {total_s / total_l:5.2f}x")


if __name__ == "__main__":
    main()
