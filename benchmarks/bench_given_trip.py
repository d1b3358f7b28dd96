"""What one call to a given function costs across the worker boundary: a driver in the worker calls a stubbed
given function ``n`` times on an 8×8 array; the grader answers each (here with the argument itself, so the
figure is the boundary alone: the worker's stub, the wire both ways, the grader's loop).

    python benchmarks/bench_given_trip.py [--calls 3000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

from grader import reference
from grader.isolation.worker import proctree
from grader.isolation.worker.client import Worker


def call_given(student: Any, n: int) -> int:
    """Call the given ``neuron.relu_forward`` stub ``n`` times on one 8x8 array."""
    import numpy as np

    f = student("neuron").relu_forward
    x = np.random.default_rng(0).standard_normal((8, 8))
    for _ in range(n):
        f(x)
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    with Worker(reference.SOLUTIONS) as worker:
        given = {"neuron": {"functions": ["relu_forward"]}}
        worker.setup(["neuron"], part="neuron", given=given, serve=lambda call: call["args"][0])
        worker.drive(call_given, 100)
        walls, cpus, theirs = [], [], []
        for _ in range(args.repeat):
            assert worker.proc is not None
            t, c, w = time.perf_counter(), time.process_time(), proctree.cpu_seconds(worker.proc.pid)
            worker.drive(call_given, args.calls, timeout=600)
            walls.append((time.perf_counter() - t) / args.calls * 1e6)
            cpus.append((time.process_time() - c) / args.calls * 1e6)
            theirs.append((proctree.cpu_seconds(worker.proc.pid) - w) / args.calls * 1e6)
    print(
        f"one call to a given function: median {statistics.median(walls):.1f} µs wall "
        f"(runs {', '.join(f'{w:.1f}' for w in walls)}); CPU: the grader {statistics.median(cpus):.1f} µs, "
        f"the worker {statistics.median(theirs):.1f} µs"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
