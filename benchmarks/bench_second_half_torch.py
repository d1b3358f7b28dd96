"""Wall time and peak memory of grading the reference on parts gan, pytorch and keras_model.

Each run is a fresh ``python -m grader check ... --json`` (grader + worker start, torch imports, every
check); prints the median of 3 runs, the per-part check time of the median run, and the peak resident
memory of the largest process (grader or worker).  Usage: python benchmarks/bench_second_half_torch.py
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ["gan", "pytorch", "keras_model"]
RUNS = 3


def one_run() -> tuple[float, dict[str, float], float]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "check", *PARTS, "--submission", "solutions", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    doc = json.loads(proc.stdout)
    if doc["score"] != doc["max_score"]:
        sys.exit(f"the reference did not score full marks: {doc['score']}/{doc['max_score']}")
    per_part: dict[str, float] = {}
    for ex in doc["exercises"]:
        per_part[ex["part"]] = per_part.get(ex["part"], 0.0) + sum(c["seconds"] for c in ex["checks"])
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, per_part, peak_mib


def main() -> None:
    runs = [one_run() for _ in range(RUNS)]
    walls = [r[0] for r in runs]
    median = statistics.median(walls)
    _, per_part, _ = runs[walls.index(median)]
    print(
        f"grading the reference on {', '.join(PARTS)}: median of {RUNS} = {median:.1f} s "
        f"(runs: {', '.join(f'{w:.1f}' for w in walls)})"
    )
    for part, seconds in per_part.items():
        print(f"  {part:12s} {seconds:6.1f} s in checks")
    print(f"peak memory (largest process, grader or worker): {max(r[2] for r in runs):.0f} MiB")


if __name__ == "__main__":
    main()
