"""Wall time and peak memory of `deepgrade check` on the reference for the numpy parts of the second half
(train, cnn, rnn): each part alone and the three together, the median of 3 fresh processes; peak memory is
the largest resident set of the grader or its worker (resource.getrusage, self + children), and CPU time
(user + system, grader + worker; a steadier figure than wall time on a shared machine).  Also the
slowest checks of one run, from the JSON report.

    python benchmarks/bench_second_half_numpy.py
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time

from _common import ROOT, machine

PARTS = ["train", "cnn", "rnn"]
_PEAK = (
    "import resource, runpy, sys; sys.argv = ['grader'] + sys.argv[1:]; "
    "code = 0\ntry:\n    runpy.run_module('grader', run_name='__main__')\nexcept SystemExit as e:\n"
    "    code = e.code or 0\n"
    "r = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
    "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "c = sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) "
    "for f in ('ru_utime', 'ru_stime'))\n"
    "print('PEAK_KIB', r, 'CPU_S', c, file=sys.stderr); sys.exit(code)"
)


def run(args: list[str]) -> tuple[float, float, str, float]:
    """(seconds, peak MiB, stdout, CPU seconds of grader + worker) of one `deepgrade check` in a fresh process."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK, "check", *args, "--submission", "solutions", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    stats = next((line.split() for line in proc.stderr.splitlines() if line.startswith("PEAK_KIB")), ["", "0", "", "0"])
    return seconds, int(stats[1]) / 1024, proc.stdout, float(stats[3])


def main() -> None:
    print(f"machine: {machine()}")
    print(f"this process before grading: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    slowest: list[tuple[float, str]] = []
    for label, args in [(p, [p]) for p in PARTS] + [("train + cnn + rnn", PARTS)]:
        runs = [run(args) for _ in range(3)]
        times = [r[0] for r in runs]
        doc = json.loads(runs[-1][2])
        score = f"{doc.get('score', '?')}/{doc.get('max_score', '?')}"
        print(
            f"{label}: median {statistics.median(times):.2f} s (runs {', '.join(f'{t:.2f}' for t in times)}), "
            f"CPU {statistics.median(r[3] for r in runs):.2f} s, peak RSS {max(r[1] for r in runs):.0f} MiB, "
            f"score {score}"
        )
        if len(args) > 1:
            slowest = sorted(
                ((c["seconds"], f"{e['id']}: {c['name']}") for e in doc["exercises"] for c in e["checks"]), reverse=True
            )[:6]
    print("slowest checks (last combined run):")
    for seconds, name in slowest:
        print(f"  {seconds:6.2f} s  {name}")


if __name__ == "__main__":
    main()
