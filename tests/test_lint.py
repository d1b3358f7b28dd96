"""The code stays lint-clean: ``ruff check`` with the rules in ``pyproject.toml`` ([tool.ruff]), where every
``# noqa`` must still be needed (RUF100)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> list[str]:
    pytest.importorskip("ruff", reason="ruff is in the test extra: pip install -e '.[test]'")
    return [sys.executable, "-m", "ruff"]


def test_ruff_finds_nothing():
    proc = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise", str(ROOT)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_would_say_so(tmp_path):
    """The lint test can fail: the same configuration rejects an unused import and a needless noqa."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "bad.py").write_text("import os\nx = 1  # noqa: E501\n")
    proc = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "F401" in proc.stdout and "RUF100" in proc.stdout, proc.stdout
