"""The processes of one worker: their CPU time, and killing every one of them (Linux ``/proc``).

A worker is started with a marker in its environment (``DEEPGRADE_WORKER=<token>``), which every process it
starts inherits; the grader is made a *child subreaper*, so a process that double-forks away from the
worker is re-parented to the grader instead of to init.  :func:`kill` ends the worker's process group, its
descendants and every process carrying its marker, and reaps them.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import time
from collections.abc import Iterable
from typing import NamedTuple

MARKER = "DEEPGRADE_WORKER"
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PR_SET_CHILD_SUBREAPER, _PR_GET_CHILD_SUBREAPER = 36, 37
#: Longest wait, in a round of :func:`kill`, for the processes killed to end before looking again for new ones.
ROUND_SECONDS = 0.01


def become_subreaper() -> bool:
    """Orphans of this process's descendants are re-parented here (Linux ≥ 3.4); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def is_subreaper() -> bool:
    """Whether this process is a child subreaper now, as the kernel says (a fork of one is not)."""
    try:
        flag = ctypes.c_int(0)
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 and flag.value != 0
    except (OSError, AttributeError):
        return False


class Proc(NamedTuple):
    """What ``/proc/PID/stat`` says of one process."""

    ppid: int  # parent
    pgid: int  # process group
    cpu: float  # CPU seconds of the process and its waited-for children
    state: bytes  # b"R", b"S", ... b"Z" (a zombie), b"X" (dead)
    start: int  # clock ticks after boot: tells a process from a later one that reuses its pid

    @property
    def ended(self) -> bool:
        return self.state in (b"Z", b"X")


def stat(pid: int) -> Proc | None:
    """What ``/proc/PID/stat`` says of ``pid``, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read()
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2 :].split()
    # fields[0] is the state; ppid, pgrp are fields[1:3]; utime, stime, cutime, cstime are fields[11:15]; the
    # start time is fields[19]
    try:
        cpu = sum(int(x) for x in fields[11:15]) / _TICK
        return Proc(int(fields[1]), int(fields[2]), cpu, fields[0], int(fields[19]))
    except (IndexError, ValueError):
        return None


def pids() -> list[int]:
    """The pids of every process this one can see ([] where there is no ``/proc``)."""
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def table() -> dict[int, Proc]:
    """Every process this one can see, by pid ({} where there is no ``/proc``)."""
    out: dict[int, Proc] = {}
    for pid in pids():
        st = stat(pid)
        if st is not None:
            out[pid] = st
    return out


def uids() -> set[int]:
    """The uids of every process this one can see (the owners of their ``/proc`` folders)."""
    found: set[int] = set()
    for pid in pids():
        try:
            found.add(os.stat(f"/proc/{pid}").st_uid)
        except OSError:
            continue
    return found


def descendants(pid: int, procs: dict[int, Proc] | None = None, spare: Iterable[int] = ()) -> list[int]:
    """``pid`` (where ``procs``, default :func:`table`, has it) and every process below it there, except the
    subtrees of ``spare``."""
    procs = table() if procs is None else procs
    children: dict[int, list[int]] = {}
    for p, st in procs.items():
        children.setdefault(st.ppid, []).append(p)
    out: dict[int, None] = {}
    seen, todo = set(spare), [pid]
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            if p in procs:
                out[p] = None
            todo.extend(children.get(p, []))
    return list(out)


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by ``pid`` and all its descendants (living, and those they have waited for)."""
    procs = table()
    return sum(procs[p].cpu for p in descendants(pid, procs))


def marked(token: str) -> list[int]:
    """Processes whose environment carries this worker's marker."""
    needle = f"{MARKER}={token}".encode()
    found = []
    for pid in pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    found.append(pid)
        except OSError:
            continue
    return found


def kill(pid: int, token: str, *, rounds: int = 20, start: int | None = None) -> None:
    """SIGKILL the process group of ``pid``, its descendants and every process marked with ``token``, until
    none is left (a fork loop gets ``rounds`` tries), reaping those that are this process's children.

    ``start``: the worker's start time (:attr:`Proc.start`), where known.  A worker waited for already has no
    number of its own, and the kernel hands numbers out again once they wrap (32,768 here): a process with the
    number ``pid`` and another start time is another's, and neither it, nor its tree, nor its group is touched.
    While no process has the number, the group ``pid`` is still the worker's (a group keeps its leader's number
    from being reused as long as it has members): its orphans that stayed in it.

    Orphans re-parented here while this runs (this process being a subreaper) are descendants too: they are
    the children of this process that were not its children when the killing began.  The process group of each
    process found is killed whole (never this process's own): one signal reaches the members a scan of ``/proc``
    missed, as a process that forks and exits in a loop (a moving pid) makes it miss them.  A worker is the
    leader of a session of its own, so these groups hold the student's processes alone.

    It returns only after a look that found nothing it had not killed already: a process in the middle of
    ``execve`` shows an empty environment (``/proc/PID/environ``, its marker included) until the kernel has set
    up the new program, so one look can miss a marked process that another, a round later, finds.  (It never ends
    on its first look, even one that found nothing: a worker gone already may have left such a process alone.)"""
    me = os.getpid()
    procs = table()
    mine_before = {p for p, st in procs.items() if st.ppid == me}
    victims: set[int] = set()
    for look in range(rounds):
        other = pid in procs and start is not None and procs[pid].start != start  # the worker's number, another's now
        foreign = {pid} if other else set()
        found = set(descendants(pid, procs, spare=foreign)) | set(marked(token))
        found |= {p for p, st in procs.items() if st.ppid in found or (st.ppid == me and p not in mine_before)}
        found.discard(me)
        confirmed = look > 0 and found <= victims  # a look that found nothing new: the one before missed nothing
        victims |= found
        groups = {pid} | {procs[p].pgid for p in found if p in procs}
        for group in groups - foreign - {os.getpgrp(), 0, 1}:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for p in found:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        ended = wait_ended(found, ROUND_SECONDS)
        _reap(victims - {pid})
        if ended and confirmed:
            return
        procs = table()


def wait_ended(pids: set[int], seconds: float) -> bool:
    """Wait until every one of ``pids`` has ended (a zombie counts), for at most ``seconds``: woken as each ends
    (a pidfd each), where a fixed sleep would wait the whole time for processes that end in a millisecond.
    Whether they all have."""
    deadline = time.monotonic() + seconds
    fds = []
    try:
        for p in pids:
            try:
                fds.append(os.pidfd_open(p))
            except ProcessLookupError:
                continue  # gone already
            except (OSError, AttributeError):  # no pidfds here (Linux < 5.3): look every 10 ms
                while not all(_zombie_or_gone(q) for q in pids):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    time.sleep(min(0.01, left))
                return True
        while fds and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(fds, [], [], left)
            for fd in ready:
                fds.remove(fd)
                os.close(fd)
        return not fds or all(_zombie_or_gone(p) for p in pids)  # the last may have ended at the deadline
    finally:
        for fd in fds:
            os.close(fd)


def _zombie_or_gone(pid: int) -> bool:
    st = stat(pid)
    return st is None or st.ended


def _reap(pids: set[int]) -> None:
    """Collect the exit status of those of ``pids`` that are dead children of this process (never blocks)."""
    for p in pids:
        try:
            if _zombie_or_gone(p):
                os.waitpid(p, os.WNOHANG)
        except (ChildProcessError, OSError):
            pass
