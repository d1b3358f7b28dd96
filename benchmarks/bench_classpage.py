"""The class page's cost: a synthetic class of N students on the whole curriculum (made-up results, no
grading), saved as ``grade`` saves them, then the page built in memory, and ``deepgrade report`` (the page and
the gradebook files again from the saved records).

    python benchmarks/bench_classpage.py [--students 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import machine, median_time

from grader import registry
from grader.instructor import report
from grader.reporters import classpage
from tests.reportkit import save_class, synthetic_class


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    exercises = registry.all_exercises()
    outcomes = synthetic_class(args.students, exercises)
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        save_class(out, outcomes, exercises)
        saved = time.perf_counter() - started
        page, _ = median_time(lambda: classpage.page(outcomes, exercises), args.repeat)
        rebuild, _ = median_time(lambda: report.rebuild(out), args.repeat)
        size = (out / "index.html").stat().st_size
    print(f"{args.students} students × {len(exercises)} exercises")
    print(f"  saving the class (records, feedback, gradebook, page), once: {saved:.2f} s")
    print(f"  building the page in memory, median of {args.repeat}:         {page:.3f} s ({size / 1024:.0f} KiB)")
    print(f"  deepgrade report (read records, write page + gradebook):    {rebuild:.3f} s")


if __name__ == "__main__":
    main()
