"""Wall and CPU time of each step of the nbgrader round trip on the neuron part (two submissions: the
reference and the untouched release), with DEEPGRADE_EXAMPLES hypothesis examples (default 3).

    python benchmarks/bench_nbgrader.py
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, machine


def main() -> None:
    from grader.notebooks.course import write_course

    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        PYTHONPATH=str(ROOT),
        DEEPGRADE_EXAMPLES=os.environ.get("DEEPGRADE_EXAMPLES", "3"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp)
        write_course(course, ROOT / "solutions", ["neuron"])

        def step(label: str, *args: str) -> None:
            cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(["nbgrader", *args], cwd=course, env=env, check=True, capture_output=True)
            cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
            print(f"{label}: {time.perf_counter() - t:.1f} s wall, {cpu:.1f} s CPU")

        step("generate_assignment", "generate_assignment", "neuron")
        for student, src in (("reference", "source"), ("stub", "release")):
            (course / "submitted" / student / "neuron").mkdir(parents=True)
            shutil.copy(course / src / "neuron" / "neuron.ipynb", course / "submitted" / student / "neuron")
        step("autograde (2 submissions, 5 exercises each)", "autograde", "neuron")
        step("generate_feedback", "generate_feedback", "neuron")
        step("export", "export")


if __name__ == "__main__":
    main()
