"""The test suite's CPU, test by test: what to make cheaper when the suite nears its 5-minute target.

    python benchmarks/bench_suite.py [--top 30] [PYTEST ARGS ...]

Runs pytest in this process, one test at a time (``-n 0``), and charges each test the CPU the whole machine
spent while it ran (``/proc/stat``: its workers, the templates they are forked from, the subprocesses it starts,
which ``resource.getrusage`` misses when they are not its own children).  Run it on a quiet machine: anything
else running is charged too.  Prints the costliest tests, then the costliest files, with the total.  Every test
process of ``-n auto`` spends about what one process does here (504 s against 508 s, twenty-third session), so
the sum over two cores is the floor of the suite's wall time there.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from typing import Any

import pytest
from _common import ROOT, machine


def busy_seconds() -> float:
    """CPU seconds the machine has spent not idle since it started (every core)."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class Charges:
    """A pytest plugin: each test's wall and machine CPU seconds (setup, call and teardown)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Any:
        wall, cpu = time.perf_counter(), busy_seconds()
        yield
        self.rows.append((item.nodeid, time.perf_counter() - wall, busy_seconds() - cpu))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=30, help="how many tests and files to list")
    args, rest = parser.parse_known_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    charges = Charges()
    started, cpu = time.perf_counter(), busy_seconds()
    os.chdir(ROOT)
    code = pytest.main(["-q", "-n", "0", "-p", "no:cacheprovider", *rest], plugins=[charges])
    wall, cpu = time.perf_counter() - started, busy_seconds() - cpu
    print(f"\n{len(charges.rows)} tests: {wall:.0f} s of wall time, {cpu:.0f} s of the machine's CPU")
    print(f"\nthe {args.top} costliest tests (CPU s, wall s):")
    for nodeid, seconds, used in sorted(charges.rows, key=lambda r: -r[2])[: args.top]:
        print(f"{used:7.1f} {seconds:7.1f}  {nodeid}")
    files: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for nodeid, seconds, used in charges.rows:
        row = files[nodeid.split("::")[0]]
        row[0], row[1], row[2] = row[0] + used, row[1] + seconds, row[2] + 1
    print(f"\nthe {args.top} costliest files (CPU s, wall s, tests):")
    for name, (used, seconds, count) in sorted(files.items(), key=lambda kv: -kv[1][0])[: args.top]:
        print(f"{used:7.1f} {seconds:7.1f} {count:5.0f}  {name}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
