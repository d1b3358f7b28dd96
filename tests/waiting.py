"""Waiting in tests for what the kernel does in its own time (a process started, a namespace ended)."""

from __future__ import annotations

import time
from collections.abc import Callable


def until(predicate: Callable[[], object], seconds: float, pause: float = 0.02) -> bool:
    """Whether ``predicate()`` holds within ``seconds``, asked every ``pause`` seconds (once more at the end)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
    return True
