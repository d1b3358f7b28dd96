"""Stopping cleanly: SIGINT, SIGTERM and SIGHUP become :class:`Stopped` in the main thread, and whatever
processes the grader started are ended and reaped before it exits (issue 8, guarantee 12)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import FrameType

from grader.i18n import _
from grader.isolation.worker import proctree

SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: The stop signal this process received (None: none yet).  Kept here because some libraries (watchfiles)
#: catch the exception a handler raises and raise a plain ``KeyboardInterrupt`` instead.
received: int | None = None
_acknowledged = False  # the stop is being handled: later signals change nothing
_deferred = False  # the handler ran where an exception would be swallowed: raise again soon
_before_raise: Callable[[int], None] | None = None
#: Python code that swallows what it raises ("Exception ignored in ..."): no place for a Stopped
_SWALLOWING = ("__del__", "gc_callback", "remove")


class Stopped(KeyboardInterrupt):
    """A stop signal, raised in the main thread.  ``note`` says what was kept (set by the command)."""

    def __init__(self, signum: int, note: str = "") -> None:
        super().__init__(signum)
        self.signum = int(signum)
        self.note = note

    @property
    def status(self) -> int:
        """The shell's exit status for death by this signal: 130, 143, 129."""
        return 128 + self.signum

    def __str__(self) -> str:
        stopped = _("stopped by {signal}").format(signal=signal.Signals(self.signum).name)
        return stopped + (f"; {self.note}" if self.note else "")


def _ignore(signum: int, frame: object) -> None:
    """A Python-level no-op: unlike SIG_IGN it is not inherited by programs this process executes."""


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    global received, _deferred
    received = received or signum
    if _acknowledged:  # the clean-up is under way and bounded: a second signal must not cut it short
        return
    if frame is not None and frame.f_code.co_name in _SWALLOWING:
        _deferred = True  # the relay sends the signal again in a moment
        return
    _deferred = False
    if _before_raise is not None:
        _before_raise(received)
    raise Stopped(received)


def acknowledge() -> None:
    """Say that the stop is being handled (if there is one): later signals are ignored from now on."""
    global _acknowledged
    _acknowledged = _acknowledged or received is not None


def _relay(fd: int, signals: frozenset[int], main: int) -> None:
    """Make sure the main thread acts on a stop signal.  A handler that runs inside a finalizer (``__del__``,
    hypothesis's gc callback) has its exception swallowed, and a signal that another thread takes (when the
    main thread has it blocked or pending) leaves the main thread's select or lock waiting out its timeout.
    So until the stop is acknowledged, send it to the main thread again: at once when the handler has not
    run or could not raise, every second otherwise."""
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # this thread never takes a signal itself
    while True:
        try:
            data = os.read(fd, 512)
        except OSError:
            data = b""
        if not data:
            os.close(fd)
            return
        for sig in {b for b in data if b in signals}:
            waited = 0.0
            while not _acknowledged and signal.getsignal(sig) is _raise_stopped:
                time.sleep(0.05)
                waited += 0.05
                if _acknowledged:
                    break
                if received is None or _deferred or waited >= 1.0:
                    waited = 0.0
                    with contextlib.suppress(OSError, ValueError):
                        signal.pthread_kill(main, sig)


def arm(signals: Iterable[int] = SIGNALS, before_raise: Callable[[int], None] | None = None) -> Callable[[], None]:
    """From the main thread: each of ``signals`` not ignored now (``nohup``, a background job) raises
    :class:`Stopped` in the main thread, after ``before_raise(signum)``; until :func:`acknowledge`.
    Returns a function that puts the previous handlers back."""
    global received, _acknowledged, _deferred, _before_raise
    received, _acknowledged, _deferred, _before_raise = None, False, False, before_raise
    previous = {s: signal.getsignal(s) for s in signals}
    armed = frozenset(int(s) for s, h in previous.items() if h is not signal.SIG_IGN)
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    os.set_blocking(r, True)
    old_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    threading.Thread(
        target=_relay, args=(r, armed, threading.main_thread().ident), daemon=True, name="deepgrade-stop"
    ).start()
    for s in armed:
        signal.signal(s, _raise_stopped)

    def disarm() -> None:
        for s, h in previous.items():
            if h is not None:
                signal.signal(s, h)
        signal.set_wakeup_fd(old_fd)
        os.close(w)  # the relay reads end-of-file and ends

    return disarm


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within: SIGINT, SIGTERM and SIGHUP raise :class:`Stopped` in the main thread (see :func:`arm`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    disarm = arm()
    try:
        yield
    finally:
        disarm()


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Hold the stop signals while processes are started: none is half-started when the stop comes, and a
    child starts with them blocked (until it installs its own handlers).  Delivered on exit."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# --------------------------------------------------------------------------- process trees
def _same(pid: int, start: int) -> bool:
    """Whether ``pid`` is still the live process that started at ``start`` (not a zombie, not a later one)."""
    st = proctree.stat(pid)
    return st is not None and not st.ended and st.start == start


def descendants(roots: Iterable[int] | None = None, spare: Iterable[int] = ()) -> dict[int, int]:
    """Every live process below ``roots`` (default: this process) but outside the subtrees of ``spare``, as
    pid -> start time.  The start time lets :func:`kill` tell a process from a later one reusing its pid."""
    roots = [os.getpid()] if roots is None else list(roots)
    live = {pid: st for pid, st in proctree.table().items() if not st.ended}
    found: dict[int, int] = {}
    for root in roots:
        found.update((pid, live[pid].start) for pid in proctree.descendants(root, live, spare) if pid != root)
    return found


def kill(procs: dict[int, int], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to each process of ``procs`` (pid -> start time) that is still the same process."""
    for pid, start in procs.items():
        if _same(pid, start):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def wait_gone(procs: dict[int, int], timeout: float) -> bool:
    """Wait up to ``timeout`` s until none of ``procs`` is alive (woken as they end); True if none is."""
    deadline = time.monotonic() + timeout
    while True:
        alive = {pid for pid, start in procs.items() if _same(pid, start)}
        left = deadline - time.monotonic()
        if not alive or left <= 0:
            return not alive
        proctree.wait_ended(alive, left)


def _cleaners() -> set[int]:
    """multiprocessing's resource tracker: it removes a pool's semaphores once the pool is gone (killed, it
    leaves them in /dev/shm), and it ends by itself."""
    from multiprocessing import resource_tracker

    pid = getattr(getattr(resource_tracker, "_resource_tracker", None), "_pid", None)
    return {pid} if isinstance(pid, int) else set()


def stop_workers(spare: Iterable[int] = ()) -> None:
    """Kill this process's student workers and refuse new requests (``grader.isolation.worker.client.stop_all``),
    then every other process below this one, except the subtrees of ``spare`` (children a caller had)."""
    from grader.isolation.worker import client

    stop_all = getattr(client, "stop_all", None)  # TODO(issue 8): the lead's; until it lands, the sweep alone
    if stop_all is not None:
        stop_all()
    kill(descendants(spare={*spare, *_cleaners()}))
