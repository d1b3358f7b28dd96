"""What the worker boundary costs on the first half of the curriculum (neuron … optim), replaying check plans.

The grader never runs student code in its own process, so there is no in-process run to compare with any more
(issue 2's stand-in called the drivers directly; since issue 8 the grader also answers the worker's calls to
given functions over the wire).  Instead this counts the round trips of a grade (requests, and calls to given
functions) and measures one on its own: a ``ping`` and an echo of a typical argument (an 8×8 float64 array)
through a driver.  The boundary's share is round trips × the echo's cost; "worker / in-process" is the grade's
time over the grade's time without that share.

    python benchmarks/bench_wire.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, median_time

from grader import reference, registry
from grader.isolation.worker.client import Worker
from grader.runner import grade_exercise

PARTS = ["neuron", "losses", "backprop", "autograd", "optim"]


def echo(student: Callable[[str], Any], value: Any) -> Any:
    """A driver that sends back what it got."""
    return value


def main() -> None:
    import numpy as np

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    exercises = [e for e in registry.all_exercises() if e.part in PARTS]
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}; {len(exercises)} exercises")
    exchanges = [0]  # requests to the worker, and calls to given functions the grader answers

    def counting(original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(self: Worker, *a: Any, **k: Any) -> Any:
            exchanges[0] += 1
            return original(self, *a, **k)

        return counted

    for method in ("_stream", "_answer"):  # a request (one reply, or a batch of them), a given call
        setattr(Worker, method, counting(getattr(Worker, method)))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DEEPGRADE_CACHE"] = tmp
        with Worker(reference.SOLUTIONS) as worker:
            for ex in exercises:  # records the plans, warms the worker
                grade_exercise(worker, ex, examples=25)
            walls, counts = [], []
            for _ in range(args.repeat):
                exchanges[0] = 0
                t = time.perf_counter()
                for ex in exercises:
                    er = grade_exercise(worker, ex, examples=25)
                    assert er.status == "passed", (ex.id, er.first_failure())
                walls.append(time.perf_counter() - t)
                counts.append(exchanges[0])
            worker.setup(["neuron"])
            ping, _ = median_time(worker.ping, repeat=400)
            x = np.random.default_rng(0).standard_normal((8, 8))
            trip, _ = median_time(lambda: worker.drive(echo, x), repeat=400)
    wall, n = statistics.median(walls), statistics.median(counts)
    boundary = n * trip
    print(
        f"grade (replaying plans): median {wall:.2f} s (runs {', '.join(f'{w:.2f}' for w in walls)}), {n} round trips"
    )
    print(f"one round trip: ping {ping * 1e3:.3f} ms, echo of an 8x8 array {trip * 1e3:.3f} ms")
    print(
        f"boundary: {boundary:.2f} s of {wall:.2f} s ({boundary / wall:.0%}); "
        f"worker / in-process ≈ {wall / (wall - boundary):.2f}x"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
