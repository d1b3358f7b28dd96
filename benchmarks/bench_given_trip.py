"""What one call to a given function costs across the worker boundary: a driver in the worker calls a stubbed
given function ``n`` times on an 8×8 array; the grader answers each (here with the argument itself, so the
figure is the boundary alone: the worker's stub, the wire both ways, the grader's loop).

With ``--batch K`` each call carries K arrays and the grader answers with the K of them, and a call's time is
divided by K: what a call would cost if K of them travelled in one message each way (the wire's share of a
design that batches the calls of K forwards run in lock-step; the switching between the forwards is not in it).

    python benchmarks/bench_given_trip.py [--calls 3000] [--repeat 5] [--batch 1]
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


def call_given(student: Any, n: int, batch: int = 1) -> int:
    """Call the given ``neuron.relu_forward`` stub ``n`` times on one 8x8 array (``batch`` > 1: on a list of that
    many 8x8 arrays)."""
    import numpy as np

    f = student("neuron").relu_forward
    x = np.random.default_rng(0).standard_normal((8, 8))
    arg = x if batch == 1 else [x.copy() for _ in range(batch)]
    for _ in range(n):
        f(arg)
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batch", type=int, default=1, help="arrays in each call (its time is divided by this)")
    args = ap.parse_args()
    per = args.calls * args.batch  # calls a run stands for
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    with Worker(reference.SOLUTIONS) as worker:
        given = {"neuron": {"functions": ["relu_forward"]}}
        worker.setup(["neuron"], part="neuron", given=given, serve=lambda call: call["args"][0])
        worker.drive(call_given, 100)
        walls, cpus, theirs = [], [], []
        for _ in range(args.repeat):
            assert worker.proc is not None
            t, c, w = time.perf_counter(), time.process_time(), proctree.cpu_seconds(worker.proc.pid)
            worker.drive(call_given, args.calls, args.batch, timeout=600)
            walls.append((time.perf_counter() - t) / per * 1e6)
            cpus.append((time.process_time() - c) / per * 1e6)
            theirs.append((proctree.cpu_seconds(worker.proc.pid) - w) / per * 1e6)
    batched = f" ({args.batch} to a message)" if args.batch > 1 else ""
    print(
        f"one call to a given function{batched}: median {statistics.median(walls):.1f} µs wall "
        f"(runs {', '.join(f'{w:.1f}' for w in walls)}); CPU: the grader {statistics.median(cpus):.1f} µs, "
        f"the worker {statistics.median(theirs):.1f} µs"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
