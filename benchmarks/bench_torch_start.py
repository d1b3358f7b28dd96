"""What starting the torch parts costs a grade: the public pass of a complete submission (a copy of solutions/)
in the sandbox (else at `process`), replaying check plans, timed by phase — the numpy parts, then the first torch
part (`gan.losses`, whose worker imports torch) and the Keras part — and `import keras` in a fresh interpreter.

    python benchmarks/bench_torch_start.py [--repeat 3]

Compare two commits by running this script from each one's worktree (``PYTHONPATH=<worktree>``), alternately.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, reference_copy, sandbox_or_process

from grader import registry, runner


def public_pass(sub: Path, launcher) -> dict[str, float]:
    """Seconds of the whole public pass and of its phases."""
    started, marks = time.perf_counter(), {}

    def progress(er) -> None:
        marks[er.id] = time.perf_counter() - started

    result = runner.grade(sub, registry.all_exercises(), launcher=launcher, progress=progress)
    assert result.score == result.max_score, "the reference must score full marks"
    ids = [e.id for e in registry.all_exercises()]
    before = {i: marks[ids[ids.index(i) - 1]] for i in ("gan.losses", "keras_model.model")}
    return {
        "whole public pass": time.perf_counter() - started,
        "numpy parts": before["gan.losses"],
        "gan.losses (first torch exercise)": marks["gan.losses"] - before["gan.losses"],
        "keras_model (both exercises)": marks["keras_model.fit"] - before["keras_model.model"],
    }


def keras_import() -> float:
    started = time.perf_counter()
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    subprocess.run([sys.executable, "-c", "import keras"], check=True, env=env, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    level, launcher = sandbox_or_process()
    print(f"machine: {machine()}; isolation {level}; load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        sub = reference_copy(Path(tmp))
        os.environ.setdefault("DEEPGRADE_CACHE", str(Path(tmp) / "cache"))
        public_pass(sub, launcher)  # records the plans (or finds them)
        runs = [public_pass(sub, launcher) for _ in range(args.repeat)]
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"{key}: median {statistics.median(values):.1f} s ({', '.join(f'{v:.1f}' for v in values)})")
    imports = [keras_import() for _ in range(args.repeat)]
    print(f"import keras (fresh interpreter): median {statistics.median(imports):.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
