"""The code stays lint- and type-clean: ``ruff check`` and ``mypy`` with their settings in ``pyproject.toml``
([tool.ruff], [tool.mypy]); every ``# noqa`` and ``type: ignore`` must still be needed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> list[str]:
    pytest.importorskip("ruff", reason="ruff is in the lint dependency group: pip install --group lint")
    return [sys.executable, "-m", "ruff"]


def test_ruff_finds_nothing():
    proc = subprocess.run(
        [*_ruff(), "check", "--no-cache", "--output-format", "concise", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_code_is_formatted_as_ruff_formats_it():
    proc = subprocess.run(
        [*_ruff(), "format", "--check", "--no-cache", str(ROOT)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, "run `ruff format .`:\n" + proc.stdout + proc.stderr


def test_ruff_would_say_so(tmp_path):
    """The lint tests can fail: the same configuration rejects an unused import, a needless noqa and code laid
    out by hand."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "bad.py").write_text("import os\nx = 1  # noqa: E501\ny = [1,\n  2]\n")
    proc = subprocess.run(
        [*_ruff(), "check", "--no-cache", "--output-format", "concise", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "F401" in proc.stdout and "RUF100" in proc.stdout, proc.stdout
    proc = subprocess.run(
        [*_ruff(), "format", "--check", "--no-cache", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1 and "bad.py" in proc.stdout, proc.stdout


def test_mypy_finds_nothing(tmp_path):
    pytest.importorskip("mypy", reason="mypy is in the lint dependency group: pip install --group lint")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Success" in proc.stdout, proc.stdout
