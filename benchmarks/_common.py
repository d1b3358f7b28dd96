"""Helpers for the benchmark scripts: medians, the machine they ran on."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import i18n  # noqa: E402 - from this checkout, found through the path just set

# As the command line and a batch job do before anything is shown: the locale read once.  Left unset, every
# message the checks build reads four environment variables (28,000 messages in a complete grade).
i18n.set_language(None)


def machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0))
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu or platform.processor()}, {cores} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def sandbox_or_process():
    """``(level, launcher)``: the sandbox where bubblewrap works, else ``process`` — how the graders here run."""
    from grader.instructor import batch

    try:
        return "sandbox", batch.launcher_for("sandbox")
    except ValueError:  # no bubblewrap here
        return "process", batch.launcher_for("process")


def reference_copy(folder: Path) -> Path:
    """A complete submission: a copy of solutions/ in ``folder``/student."""
    import shutil

    sub = folder / "student"
    shutil.copytree(ROOT / "solutions", sub, ignore=shutil.ignore_patterns("__pycache__"))
    return sub


def median_time(fn: Callable[[], object], repeat: int = 5) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def run_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, check=False, capture_output=True)
