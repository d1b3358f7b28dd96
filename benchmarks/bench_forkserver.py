"""What forking workers from a template saves (grader/isolation/worker/forkserver.py, ``--isolation process``):
the wall time from starting a worker to its first answer, for a torch part that imports Keras
(``keras_model``) and for a numpy-only part (``neuron``, its ``python -S`` view), started afresh or forked;
then ``watch``'s case, the same exercise graded again and again in one process.  Medians of ``--repeat``; the
template's own start (its imports, once per process) is reported apart.

    python benchmarks/bench_forkserver.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

from grader import reference, registry
from grader.isolation import sandbox
from grader.isolation.worker import forkserver
from grader.isolation.worker.client import Worker
from grader.runner import grade


def first_answer(part: str, packages: tuple[str, ...] | None) -> float:
    started = time.perf_counter()
    with Worker(reference.SOLUTIONS, launcher=sandbox.process_launcher, packages=packages) as worker:
        worker.setup([part])
        assert worker.ping() == "pong"
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    for part, packages in (("keras_model", None), ("neuron", ("numpy",))):
        times: dict[str, list[float]] = {}
        for how in ("started", "forked"):
            os.environ["DEEPGRADE_FORKSERVER"] = "1" if how == "forked" else "0"
            if how == "forked":
                times["template"] = [first_answer(part, packages)]  # starts the template: its imports
            times[how] = [first_answer(part, packages) for _ in range(args.repeat)]
        forkserver.close_all()
        started, forked = statistics.median(times["started"]), statistics.median(times["forked"])
        print(
            f"{part} worker, start to first answer: started {started:.3f} s, forked {forked:.3f} s"
            f" ({started / forked:.1f}x); the template's first worker {times['template'][0]:.2f} s"
        )
    exercises = registry.select(["keras_model.model", "gan.losses"])
    for on in (False, True):
        os.environ["DEEPGRADE_FORKSERVER"] = "1" if on else "0"
        walls = []
        for _ in range(args.repeat + 1):
            started_at = time.perf_counter()
            grade(reference.SOLUTIONS, exercises, examples=5)
            walls.append(time.perf_counter() - started_at)
        forkserver.close_all()
        print(
            f"watch's case, keras_model.model + gan.losses graded {args.repeat + 1} times in one process,"
            f" {'forked' if on else 'started'}: first {walls[0]:.2f} s,"
            f" then median {statistics.median(walls[1:]):.2f} s"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
