"""Killing a worker's processes (grader/isolation/worker/proctree.py) waits for them only as long as they take."""

from __future__ import annotations

import subprocess
import time

from grader.isolation.worker import proctree


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
