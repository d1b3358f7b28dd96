"""Gradescope budget: wall time, CPU time and peak memory (whole process tree) of run_autograder on one
complete submission.  Gradescope's default is 768 MB and 10 minutes on half a CPU.

    python benchmarks/bench_gradescope.py [EXERCISE|PART ...]
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine  # noqa: E402


def tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in kB (from /proc)."""
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
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack += [c for c, pp in parents.items() if pp == p]
    return total


def main() -> None:
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        zpath = tmp / "autograder.zip"
        subprocess.run([sys.executable, "-m", "grader", "gradescope", *sys.argv[1:], "--out", str(zpath)],
                       cwd=ROOT, check=True, capture_output=True)
        root = tmp / "autograder"
        with zipfile.ZipFile(zpath) as zf:
            zf.extractall(root / "source")
        shutil.copytree(ROOT / "solutions", root / "submission", ignore=shutil.ignore_patterns("__pycache__"))
        env = dict(os.environ, DEEPGRADE_AUTOGRADER_ROOT=str(root), DEEPGRADE_PYTHON=sys.executable)
        started = time.perf_counter()
        proc = subprocess.Popen(["bash", str(root / "source" / "run_autograder")], env=env)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss_kb(proc.pid))
            time.sleep(0.1)
        wall = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime
        print(f"run_autograder exit {proc.returncode}: wall {wall:.1f} s, CPU {cpu:.1f} s "
              f"(on half a CPU: about {2 * cpu:.0f} s of 600 s), peak RSS of the process tree {peak / 1024:.0f} MB "
              f"(of 768 MB), largest single process {usage.ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
