"""Killing a worker's processes (grader/isolation/worker/proctree.py) waits for them only as long as they take."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from grader.isolation.worker import proctree
from tests.prockit import shell_with_a_child


def test_waiting_for_killed_processes_wakes_as_they_end_not_at_the_deadline():
    procs = [subprocess.Popen(["sleep", "60"]) for _ in range(3)]
    for p in procs:
        p.kill()
    started = time.monotonic()
    assert proctree.wait_ended({p.pid for p in procs}, 60.0)
    assert time.monotonic() - started < 30  # woken by their ends (milliseconds), not by the 60 s deadline
    assert all(proctree._zombie_or_gone(p.pid) for p in procs)
    for p in procs:
        p.wait()


def test_waiting_for_a_live_process_ends_at_the_deadline():
    proc = subprocess.Popen(["sleep", "60"])
    try:
        started = time.monotonic()
        assert not proctree.wait_ended({proc.pid}, 0.2)
        assert time.monotonic() - started >= 0.2 and proc.poll() is None
        proctree.kill(proc.pid, "no such marker")
        assert proc.poll() is not None  # reaped by kill: this process is its parent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_without_pidfds_the_wait_still_ends_when_the_processes_do(monkeypatch):
    monkeypatch.delattr("os.pidfd_open")  # as on Linux < 5.3
    test_waiting_for_killed_processes_wakes_as_they_end_not_at_the_deadline()
    test_waiting_for_a_live_process_ends_at_the_deadline()


@pytest.mark.parametrize("worker_gone", [False, True], ids=["worker-alive", "worker-gone"])
def test_a_marked_process_missed_by_one_look_is_killed_by_the_next(monkeypatch, worker_gone):
    """A process in the middle of ``execve`` shows an empty environment for a moment: the look for the worker's
    marker misses it.  ``kill`` looks again once what it found has ended, and ends only on a look that finds nothing
    new, never on its first (a worker gone already leaves the first look nothing else to find).  The escaped process
    here is no descendant of the worker, nor a new child of the killer: only its marker tells it (a double fork's
    orphan, adopted by the grader before the kill began)."""
    token = "f" * 16
    worker = subprocess.Popen(["sleep", "60"])
    if worker_gone:
        worker.kill()
        worker.wait()
    escaped = subprocess.Popen(["sleep", "60"], env={**os.environ, proctree.MARKER: token})
    real, looks = proctree.marked, []

    def blinking(tok: str) -> list[int]:
        looks.append(tok)
        return [] if len(looks) == 1 else real(tok)  # the first look comes while it is in execve

    monkeypatch.setattr(proctree, "marked", blinking)
    try:
        proctree.kill(worker.pid, token)
        assert len(looks) >= 2 and proctree.wait_ended({escaped.pid}, 5.0)  # (and reaped: it was this one's child)
    finally:
        for p in (worker, escaped):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_a_number_that_another_process_has_now_is_not_the_worker_s():
    """A worker waited for already has no number of its own: once pids wrap, a later process may have it.  Killing
    the worker then must spare that process, its group and its tree, told apart by its start time."""
    with shell_with_a_child() as (other, tree):  # the shell has the worker's old number
        started = proctree.stat(other.pid)
        assert started is not None
        proctree.kill(other.pid, "e" * 16, start=started.start - 1)  # the worker started earlier: another process
        assert all(not proctree._zombie_or_gone(p) for p in tree)
        proctree.kill(other.pid, "e" * 16, start=started.start)  # the same start: the worker's own
        assert other.wait(timeout=5) == -signal.SIGKILL and proctree.wait_ended(tree, 5.0)
