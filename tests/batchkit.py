"""Helpers for the batch tests: tiny classes of submissions built from solutions/ and assignments/."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONLY = ["neuron.relu"]  # one quick exercise keeps the batch tests fast
EXAMPLES = 3


def complete(dest: Path) -> Path:
    shutil.copytree(ROOT / "solutions", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def stubs(dest: Path) -> Path:
    shutil.copytree(ROOT / "assignments", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def zip_bytes(files: dict[str, bytes | str], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()
