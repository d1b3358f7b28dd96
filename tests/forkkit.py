"""Helpers for the tests of workers forked from a template (grader/isolation/worker/forkserver.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from grader.checks import drivers
from grader.isolation import sandbox
from grader.isolation.worker.client import Worker


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
