"""Helpers for the tests of workers forked from a template (grader/isolation/worker/forkserver.py)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from grader.checks import drivers
from grader.isolation import sandbox
from grader.isolation.worker import forkserver
from grader.isolation.worker.client import Worker


@contextmanager
def own_templates() -> Iterator[None]:
    """Workers forked (the fork server on) from templates started inside the block, which end with it: the process's
    other templates (and the sandbox's slots they are bound to) wait aside meanwhile, none reused inside (each start
    imports torch again, about 2 s of CPU), and are back after it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEEPGRADE_FORKSERVER", "1")
        mp.setattr(forkserver, "_GAVE_UP", False)
        with forkserver._LOCK, sandbox._SLOTS_LOCK:
            aside, slots = forkserver._SERVERS.copy(), sandbox._SLOTS.copy()
            forkserver._SERVERS.clear()
            sandbox._SLOTS.clear()
        try:
            yield
        finally:
            forkserver.close_all()
            with forkserver._LOCK, sandbox._SLOTS_LOCK:
                forkserver._SERVERS.update(aside)
                sandbox._SLOTS.clear()
                sandbox._SLOTS.update(slots)


def forked_worker(sub: Path, packages: tuple[str, ...] | None = None) -> Worker:
    """A worker at ``--isolation process`` (forked where the fork server is on), with a short wall-clock slack."""
    return Worker(sub, launcher=sandbox.process_launcher, packages=packages, wall_slack=3.0)


def submission(tmp_path: Path, source: str, part: str = "gan", name: str = "sub") -> Path:
    """``tmp_path/name`` holding ``<part>.py`` with ``source``."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / f"{part}.py").write_text(textwrap.dedent(source))
    return folder


def call(worker: Worker, part: str, name: str, *args: Any) -> Any:
    """``part.name(*args)`` in the worker."""
    return worker.drive(drivers.call_function, part, name, list(args), {}, None, timeout=5.0)["result"]
