"""One complete submission (a copy of solutions/) graded as `deepgrade grade` grades it: every exercise, hidden
checks included, in the sandbox where bubblewrap works (else at `process`).  Once without check plans
(``DEEPGRADE_PLANS=0``), once recording them, then replaying them (median of ``--repeat``); where the time goes
(public vs hidden checks, by oracle, the slowest checks).

    python benchmarks/bench_submission.py [--repeat 3] [--examples 25] [--replay-only]
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, reference_copy, sandbox_or_process

from grader import registry, runner
from grader.runner import grade

#: seconds charged to the workers' calls by the meter of ``--submission-timeout`` (their CPU time, the grader's time
#: serving their calls to given functions, wall time before the first poll), summed over grades
_CHARGED = [0.0]
_charge = runner._Budget.charge


def _counted_charge(self, worker) -> None:
    _CHARGED[0] += worker.used_seconds if worker is not None else 0.0
    _charge(self, worker)


runner._Budget.charge = _counted_charge  # type: ignore[method-assign]


def once(sub: Path, launcher, examples: int, oracle: str | None = None):
    """Grade once: the result, the wall time, and the CPU time of the grader and of its workers' calls."""
    wall, before, workers = time.perf_counter(), os.times(), _CHARGED[0]
    result = grade(
        sub,
        registry.all_exercises(),
        launcher=launcher,
        hidden=True,
        examples=examples,
        secret=b"a benchmark course secret, 32 bytes or more",
        only=None if oracle is None else (lambda c: c.oracle == oracle),
    )
    after = os.times()
    cpu = after.user + after.system - before.user - before.system
    return result, time.perf_counter() - wall, cpu, _CHARGED[0] - workers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--examples", type=int, default=25)
    ap.add_argument("--replay-only", action="store_true", help="skip the grade without plans")
    ap.add_argument("--oracle", help="grade only the checks of this oracle (numerical, training, torch, ...)")
    args = ap.parse_args()
    level, launcher = sandbox_or_process()
    print(f"machine: {machine()}; isolation {level}; load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        sub = reference_copy(Path(tmp))
        os.environ["DEEPGRADE_CACHE"] = str(Path(tmp) / "cache")
        runs = {}
        if not args.replay_only:
            os.environ["DEEPGRADE_PLANS"] = "0"
            runs["without plans"] = [once(sub, launcher, args.examples, args.oracle)]
        os.environ["DEEPGRADE_PLANS"] = "1"
        runs["recording plans"] = [once(sub, launcher, args.examples, args.oracle)]
        runs["replaying plans"] = [once(sub, launcher, args.examples, args.oracle) for _ in range(args.repeat)]
        for label, rs in runs.items():
            walls = [w for _, w, _, _ in rs]
            full = all(r.score == r.max_score for r, _, _, _ in rs)
            listed = ", ".join(f"{w:.1f}" for w in walls)
            print(
                f"{label}: wall median {statistics.median(walls):.1f} s (runs {listed}),"
                f" grader CPU {statistics.median(c for _, _, c, _ in rs):.1f} s,"
                f" charged to the workers {statistics.median(c for _, _, _, c in rs):.1f} s, full marks: {full}"
            )
        result = runs["replaying plans"][-1][0]
        checks = [(c, e.id) for e in result.exercises for c in e.checks]
        total = sum(c.seconds for c, _ in checks)
        by: collections.Counter[str] = collections.Counter()
        for c, _ in checks:
            by["hidden" if c.hidden else "public"] += c.seconds
            by[f"oracle {c.oracle}"] += c.seconds
        print(
            f"replaying: {total:.1f} s in {len(checks)} checks; "
            + ", ".join(f"{k} {v:.1f} s ({v / total:.0%})" for k, v in by.most_common())
        )
        for c, ex in sorted(checks, key=lambda x: -x[0].seconds)[:12]:
            print(f"  {c.seconds:6.2f} s  {ex}: {c.name}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
