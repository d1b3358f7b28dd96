"""Processes in tests: waiting for what the kernel does in its own time (a process started, a namespace ended), and
a small process tree to kill."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from grader.isolation.worker import proctree


def until(predicate: Callable[[], object], seconds: float, pause: float = 0.02) -> bool:
    """Whether ``predicate()`` holds within ``seconds``, asked every ``pause`` seconds (once more at the end)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
    return True


@contextmanager
def shell_with_a_child(**popen: Any) -> Iterator[tuple[subprocess.Popen[bytes], set[int]]]:
    """A shell in a session of its own and the ``sleep`` it started, in its group: the shell's ``Popen`` and both
    pids.  The whole group is killed on the way out, whatever the test did to it."""
    shell = subprocess.Popen(["sh", "-c", "sleep 60 & wait"], start_new_session=True, **popen)
    try:
        assert until(lambda: len(proctree.descendants(shell.pid)) == 2, 10.0), "the shell's sleep never started"
        yield shell, set(proctree.descendants(shell.pid))
    finally:
        try:
            os.killpg(shell.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shell.wait()
