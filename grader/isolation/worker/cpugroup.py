"""A worker's CPU time, its reaped processes' included: a cgroup of its own where one can be made (Linux).

The kernel adds a process's CPU time to its parent's only when the parent waits for it.  A parent that ignores
``SIGCHLD`` lets the kernel reap its children unseen, and their time leaves no trace in ``/proc``: a student's
code could spread its work over short-lived children and be charged a fraction of it
(``proctree.cpu_seconds`` reads the living only).  A cgroup counts the time of every process that was ever in it.

Where this process may make one (cgroup v2: below its own cgroup; v1: in the ``cpuacct`` hierarchy; in practice
as root), each worker's processes are moved into a cgroup of their own as it starts, before it runs anything of
the student's, and the meter charges the larger growth of the cgroup's usage and the living processes' (``/proc``).
Elsewhere :func:`make` gives None and the meter reads ``/proc`` alone, as before.  The cgroup's files are root's: a
worker of the sandbox or of ``limits`` cannot leave it (one at ``process`` under a root grader runs as root).

>>> group = make("0123456789abcdef")  # doctest: +SKIP
>>> group.add([worker_pid]); group.seconds()  # doctest: +SKIP
0.012
"""

from __future__ import annotations

import os
import time
from functools import cache
from pathlib import Path

_V2_ROOT = Path("/sys/fs/cgroup")


@cache
def _parent() -> tuple[Path, bool] | None:
    """The folder a worker's cgroup is made in, and whether it is cgroup v2; None where there is none."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "" and (_V2_ROOT / "cgroup.controllers").is_file():
            return _V2_ROOT / path.lstrip("/"), True
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            mount = _v1_mount()
            if mount is not None:
                return mount / path.lstrip("/"), False
    return None


def _v1_mount() -> Path | None:
    """Where the cgroup v1 hierarchy that holds ``cpuacct`` is mounted."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(" - ", 1)
        if len(fields) == 2 and fields[1].startswith("cgroup ") and "cpuacct" in fields[1].split()[-1].split(","):
            return Path(fields[0].split()[4])
    return None


class CpuGroup:
    """One worker's cgroup."""

    def __init__(self, path: Path, v2: bool) -> None:
        self.path, self.v2 = path, v2

    def add(self, pids: list[int]) -> None:
        """Move ``pids`` into this cgroup (each one gone already is passed over)."""
        for pid in pids:
            try:
                with open(self.path / "cgroup.procs", "w") as fh:
                    fh.write(str(pid))
            except ProcessLookupError:
                continue

    def seconds(self) -> float:
        """CPU seconds used by every process that was ever in this cgroup, while it was in it."""
        if self.v2:
            for line in (self.path / "cpu.stat").read_text().splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
            raise OSError(f"no usage_usec in {self.path / 'cpu.stat'}")
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def remove(self) -> bool:
        """Remove the cgroup, once its processes are gone; False where some are still in it."""
        try:
            os.rmdir(self.path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True


#: A worker's cgroup holds its processes within milliseconds of being made: one empty for longer is a leftover.
STALE_SECONDS = 60.0


@cache
def _sweep(parent: Path) -> None:
    """Remove the empty worker cgroups in ``parent`` that are older than :data:`STALE_SECONDS` (once a process):
    those of a grader killed without a word (its workers died with it, their cgroups stayed)."""
    now = time.time()
    for path in parent.glob("deepgrade-*"):
        try:
            if now - path.stat().st_mtime > STALE_SECONDS:
                os.rmdir(path)  # fails (EBUSY) while a process is in it
        except OSError:
            continue


def make(token: str) -> CpuGroup | None:
    """A new, empty cgroup for the worker of ``token``; None where this process cannot make and read one."""
    where = _parent()
    if where is None:
        return None
    parent, v2 = where
    _sweep(parent)
    group = CpuGroup(parent / f"deepgrade-{token}", v2)
    try:
        os.mkdir(group.path, 0o755)
    except OSError:
        return None
    try:
        group.seconds()
    except (OSError, ValueError):
        group.remove()
        return None
    return group
