"""Shared fixtures: submissions built from the reference with one definition swapped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.corpus import Variant
from tests.forkkit import own_templates

#: Hidden checks draw their seeds from the course secret (grader/secret.py): a fixed one keeps grades
#: reproducible here, and no test writes ~/.config/deepgrade/secret.
os.environ.setdefault("DEEPGRADE_SECRET", "deepgrade test suite course secret")
#: Workers at ``--isolation process`` are forked from a template that has imported torch and Keras once per test
#: process (grader/isolation/worker/forkserver.py): the suite starts hundreds of torch workers.
#: tests/test_forkserver.py checks both ways; DEEPGRADE_FORKSERVER=0 runs the whole suite without it.
os.environ.setdefault("DEEPGRADE_FORKSERVER", "1")


@pytest.fixture(scope="session", autouse=True)
def plan_cache(tmp_path_factory):
    """One cache of check plans (grader/checks/plans.py) for the whole run, never the user's ~/.cache: a
    property's examples and answers are drawn once, then replayed by every test that grades it again.  With
    pytest-xdist every worker process shares it (the run's base folder; plans are written atomically)."""
    if "DEEPGRADE_CACHE" not in os.environ:
        base = tmp_path_factory.getbasetemp()
        shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        cache = shared / "deepgrade-cache"
        cache.mkdir(exist_ok=True)
        os.environ["DEEPGRADE_CACHE"] = str(cache)
    return os.environ["DEEPGRADE_CACHE"]


@pytest.fixture
def forking():
    """Workers at ``--isolation process`` are forked from templates (grader/isolation/worker/forkserver.py) that the
    test starts and that end with it (tests/forkkit.py ``own_templates``)."""
    with own_templates():
        yield


@pytest.fixture
def make_submission(tmp_path: Path):
    """``make_submission(exercise, source)``: the reference with ``source``'s definitions swapped in."""
    counter = iter(range(1000))

    def make(exercise: str, source: str, part: str = "") -> Path:
        return Variant(exercise, "fixture", source, part=part).write(tmp_path / f"sub{next(counter)}")

    return make
