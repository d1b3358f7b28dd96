"""Gradescope budget: wall time, CPU time and peak memory (whole process tree) of run_autograder on one
complete submission.  Gradescope's default is 768 MB and 10 minutes on half a CPU.

Memory is the tree's proportional set size (PSS: a page shared by several processes, such as torch's
libraries mapped by the grader and the worker, counts once in all), which is what a container's memory limit
sees of it; the plain sum of RSS counts shared pages once per process and is printed beside it.

    python benchmarks/bench_gradescope.py [EXERCISE|PART ...]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine


def _pss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
    except (OSError, StopIteration, ValueError):
        return None


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            words = [w.decode(errors="replace") for w in fh.read().split(b"\0") if w]
    except OSError:
        return "?"
    return " ".join(Path(w).name if i == 0 or w.endswith(".py") else w for i, w in enumerate(words[:4]))[:70]


def tree_memory_kb(pid: int, parts: list[tuple[int, str]] | None = None) -> tuple[int, int]:
    """(PSS, RSS) of ``pid`` and all its descendants, in kB (from /proc); ``parts`` gets (PSS, name) of each."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            parents[int(d)] = int(fields[1])
            rss[int(d)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue
    pss = total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        own = _pss_kb(p) or rss.get(p, 0)
        pss += own
        if parts is not None:
            parts.append((own, _name(p)))
        stack += [c for c, pp in parents.items() if pp == p]
    return pss, total


def main() -> None:
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        zpath = tmp / "autograder.zip"
        subprocess.run(
            [sys.executable, "-m", "grader", "gradescope", *sys.argv[1:], "--out", str(zpath)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        root = tmp / "autograder"
        with zipfile.ZipFile(zpath) as zf:
            zf.extractall(root / "source")
        shutil.copytree(ROOT / "solutions", root / "submission", ignore=shutil.ignore_patterns("__pycache__"))
        env = dict(os.environ, DEEPGRADE_AUTOGRADER_ROOT=str(root), DEEPGRADE_PYTHON=sys.executable)
        started = time.perf_counter()
        proc = subprocess.Popen(["bash", str(root / "source" / "run_autograder")], env=env)
        peak_pss = peak_rss = 0
        at_peak: list[tuple[int, str]] = []
        while True:  # wait4: the usage of run_autograder's tree alone, not of the zip's build above
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            parts: list[tuple[int, str]] = []
            pss, rss = tree_memory_kb(proc.pid, parts)
            if pss > peak_pss:
                at_peak = parts
            peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
            time.sleep(0.1)
        wall = time.perf_counter() - started
        cpu = usage.ru_utime + usage.ru_stime
        print(
            f"run_autograder exit {os.waitstatus_to_exitcode(status)}: wall {wall:.1f} s, CPU {cpu:.1f} s "
            f"(on half a CPU: about {2 * cpu:.0f} s of 600 s), peak memory of the process tree "
            f"{peak_pss / 1024:.0f} MB PSS of 768 MB (sum of RSS {peak_rss / 1024:.0f} MB), largest single "
            f"process {usage.ru_maxrss / 1024:.0f} MB"
        )
        print(
            "at the peak:",
            "; ".join(f"{name} {kb / 1024:.0f} MB" for kb, name in sorted(at_peak, reverse=True) if kb > 10 * 1024),
        )


if __name__ == "__main__":
    main()
