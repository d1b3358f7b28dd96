"""Shared fixtures: submissions built from the reference with one definition swapped."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import Variant


@pytest.fixture
def make_submission(tmp_path: Path):
    """``make_submission(exercise, source)``: the reference with ``source``'s definitions swapped in."""
    counter = iter(range(1000))

    def make(exercise: str, source: str, part: str = "") -> Path:
        return Variant(exercise, "fixture", source, part=part).write(tmp_path / f"sub{next(counter)}")

    return make
