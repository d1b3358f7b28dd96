"""What the worker boundary costs on the first half of the curriculum (neuron … optim), replaying check plans.

Two grades of the same exercises with the same plans, runs alternated: through a real worker (a process, the
wire both ways, calls to given functions answered by the grader over the wire), and **in-process**, a stand-in
for this benchmark only: the worker's own request handler (``child._reply``, the same stubs, drivers, reseeding
and stdout capture) called directly in the grader's process, calls to given functions answered by a direct call.
"worker / in-process" is the ratio of their medians.  It also counts the round trips of a grade (requests, and
calls to given functions) and times one on its own: a ``ping`` and an echo of an 8×8 float64 array through a
driver; round trips × echo is the older, cruder estimate of the boundary's share.

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
from grader.isolation.worker import client
from grader.isolation.worker.client import StudentError, Worker
from grader.runner import grade_exercise

PARTS = ["neuron", "losses", "backprop", "autograd", "optim"]


def echo(student: Callable[[str], Any], value: Any) -> Any:
    """A driver that sends back what it got."""
    return value


def _child() -> Any:
    """The worker's module, loaded by path in this process (it loads ``wire.py`` beside it the same way)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_deepgrade_child_in_process", client.CHILD)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _reseed_numpy() -> None:
    """The worker's reseeding as a first-half worker does it: torch is never imported there, and here (the grader
    imported it) ``torch.manual_seed`` would add about 0.5 ms to every call."""
    import random

    import numpy as np

    random.seed(0)
    np.random.seed(0)


class InProcess(Worker):
    """The same requests handled by the worker's own code, in this process: no process, no wire.  Calls to given
    functions go straight to ``serve``.  For measuring the boundary only: the student's code runs here."""

    def __init__(self, submission: Path) -> None:
        super().__init__(submission)
        self.child = _child()
        self.session = self.child._Session(str(self.submission), None, None)
        self.session.call_grader = self._given
        self.child._reseed = _reseed_numpy
        if str(self.submission) not in sys.path:
            sys.path.insert(0, str(self.submission))

    def _given(self, call: Any) -> Any:
        try:
            if self.serve is None:
                raise ValueError("nothing is given for this exercise")
            return self.serve(call)
        except Exception as exc:  # noqa: BLE001 - as Worker._answer: the reference failed on these arguments
            raise self.child.GraderCallError(f"{type(exc).__name__}: {str(exc)[:500]}") from None

    def start(self) -> None:
        self.proc = None

    def stop(self) -> None:
        pass

    def drive_many(self, calls: Any) -> list[Any]:
        """As ``Worker.drive_many``, without packing the calls: in-process nothing is encoded."""
        requests = [{"name": self._driver(fn), "args": list(args)} for fn, args, _timeout in calls]
        replies, _error = self._stream({"op": "drive_many", "calls": requests}, [])
        for i, reply in enumerate(replies):
            broken = self._absorb(reply)
            if broken is not None:
                return replies[:i] + [broken]
        return replies

    def _stream(self, message: Any, budgets: Any, limits: Any = None) -> tuple[list[Any], StudentError | None]:
        stdout = sys.stdout
        start = time.perf_counter()
        try:
            if message.get("op") == "drive_many":
                replies = [self.child._reply(self.session, {**c, "op": "drive"}) for c in message["calls"]]
            else:
                replies = [self.child._reply(self.session, message)]
        finally:
            sys.stdout = stdout  # the worker's handler leaves stdout on stderr after each call
        self.used_seconds += time.perf_counter() - start
        return replies, None


def _grades(worker: Worker, exercises: list[Any], repeat: int) -> list[float]:
    walls = []
    for _ in range(repeat):
        t = time.perf_counter()
        for ex in exercises:
            er = grade_exercise(worker, ex, examples=25)
            assert er.status == "passed", (ex.id, er.first_failure())
        walls.append(time.perf_counter() - t)
    return walls


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
        in_process = InProcess(reference.SOLUTIONS)
        with Worker(reference.SOLUTIONS) as worker:
            _grades(worker, exercises, 1)  # records the plans, warms the worker
            _grades(in_process, exercises, 1)
            walls, local, counts = [], [], []
            for _ in range(args.repeat):  # alternated, so that both see the same minutes of a noisy machine
                exchanges[0] = 0
                walls += _grades(worker, exercises, 1)
                counts.append(exchanges[0])
                local += _grades(in_process, exercises, 1)
            worker.setup(["neuron"])
            ping, _ = median_time(worker.ping, repeat=400)
            x = np.random.default_rng(0).standard_normal((8, 8))
            trip, _ = median_time(lambda: worker.drive(echo, x), repeat=400)
    wall, here, n = statistics.median(walls), statistics.median(local), statistics.median(counts)
    boundary = n * trip
    print(
        f"grade through the worker: median {wall:.3f} s (runs {', '.join(f'{w:.2f}' for w in walls)}), {n} round trips"
    )
    print(f"grade in-process:         median {here:.3f} s (runs {', '.join(f'{w:.2f}' for w in local)})")
    print(f"boundary: worker / in-process = {wall / here:.2f}x")
    print(f"one round trip: ping {ping * 1e3:.3f} ms, echo of an 8x8 array {trip * 1e3:.3f} ms")
    print(
        f"estimate from round trips: {boundary:.2f} s of {wall:.2f} s ({boundary / wall:.0%}); "
        f"worker / (worker - round trips x echo) = {wall / (wall - boundary):.2f}x"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
