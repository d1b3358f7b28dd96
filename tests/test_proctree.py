"""Killing a worker's processes (grader/isolation/worker/proctree.py) waits for them only as long as they take."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

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


def test_a_marked_process_missed_by_one_look_is_killed_by_the_next(monkeypatch):
    """A process in the middle of ``execve`` shows an empty environment for a moment: the look for the worker's
    marker misses it.  ``kill`` looks again once what it found has ended, and ends only on a look that finds nothing
    new.  The escaped process here is no descendant of the worker, nor a new child of the killer: only its marker
    tells it (a double fork's orphan, adopted by the grader before the kill began)."""
    token = "f" * 16
    worker = subprocess.Popen(["sleep", "60"])
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


def _number_ahead() -> int:
    """A pid far ahead of the kernel's last one, free with the one before it: numbers not handed out for a whole
    wrap of the pids, so that taking them reuses none that another test ended a moment ago."""
    with open("/proc/sys/kernel/ns_last_pid") as fh:
        last = int(fh.read())
    with open("/proc/sys/kernel/pid_max") as fh:
        top = int(fh.read())
    for step in range(top // 3, top, 97):
        pid = (last + step) % top
        if pid > 1000 and not any(os.path.exists(f"/proc/{p}") for p in (pid - 1, pid, pid + 1)):
            return pid
    raise AssertionError("no free pid ahead")


def _sleep_as(pid: int, tries: int = 20) -> subprocess.Popen | None:
    """A ``sleep`` in a session of its own with the number ``pid`` (free now), by setting the kernel's last pid
    just below it (``/proc/sys/kernel/ns_last_pid``, as CRIU does: root only); None where that cannot be done."""
    for _ in range(tries):
        try:
            with open("/proc/sys/kernel/ns_last_pid", "w") as fh:
                fh.write(str(pid - 1))
        except OSError:
            return None
        proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
        if proc.pid == pid:
            return proc
        proc.kill()  # another process took the number first: try again
        proc.wait()
    return None


def test_a_worker_reaped_long_ago_is_not_killed_by_its_number_once_another_process_has_it():
    """A worker waited for already has no number of its own: once pids wrap, the next process may get it.  Killing
    the worker then must not kill that process, its group or its tree."""
    number = _number_ahead()
    worker = _sleep_as(number)
    if worker is None:
        pytest.skip("cannot choose the next pid here (needs root and /proc/sys/kernel/ns_last_pid)")
    worker.kill()
    worker.wait()  # reaped: its number is free
    other = _sleep_as(number)  # as if the pids had wrapped meanwhile
    assert other is not None
    try:
        proctree.kill(number, "e" * 16, reaped=True)
        assert other.poll() is None  # alive: not the worker's
        proctree.kill(number, "e" * 16)  # as if the worker were still unreaped: its number is taken as its own
        assert other.wait(timeout=5) == -signal.SIGKILL
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
