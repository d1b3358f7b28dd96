"""Finding and unpacking student submissions: folders and ``.zip`` files, safely.

A submission is one student's folder or zip in the layout of ``assignments/``: ``<part>.py`` files at the top,
or inside a single top folder.  A folder holding no ``<part>.py`` is a class: each folder or zip in it is one
student.  Zips are untrusted input: absolute or ``..`` paths, symlinks and oversized contents are refused.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.registry import PARTS

#: Caps on what one zip may unpack to (a zip bomb is refused before anything is written).
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 2000
_IGNORED = {"__MACOSX", "__pycache__", ".DS_Store", ".git", ".ipynb_checkpoints"}


class SubmissionError(Exception):
    """A submission that cannot be graded at all (its row in the gradebook says why)."""


@dataclass(frozen=True)
class Submission:
    """One student's work: a folder or a zip file."""

    student: str
    path: Path

    @property
    def is_zip(self) -> bool:
        return self.path.suffix.lower() == ".zip" and not self.path.is_dir()


def student_name(path: Path) -> str:
    """The student's name from a folder or zip name, safe to use as a folder name."""
    stem = path.name[:-4] if path.name.lower().endswith(".zip") and not path.is_dir() else path.name
    name = re.sub(r"[^A-Za-z0-9@._+-]+", "_", stem).strip("._") or "student"
    return name


def _has_parts(folder: Path) -> bool:
    return any((folder / f"{p}.py").is_file() for p in PARTS)


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name not in _IGNORED and not p.name.startswith("."))


def discover(paths: list[str], *, student: str | None = None) -> list[Submission]:
    """Every submission named by ``paths`` (folders, zips, or folders of them), in a stable order.

    ``student`` names the one submission given (Gradescope's ``/autograder/submission``).
    Raises ``ValueError`` for a path that does not exist, a folder with no submissions, or two
    submissions of the same student.
    """
    found: list[Submission] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise ValueError(f"submission {raw} does not exist")
        if student is not None:
            found.append(Submission(student, path))
        elif path.is_file() or _has_parts(path):
            found.append(Submission(student_name(path.resolve()), path))
        else:
            members = [p for p in _entries(path) if p.is_dir() or p.suffix.lower() == ".zip"]
            if not members:
                raise ValueError(f"{raw} holds no submissions (no <part>.py files, student folders or zips)")
            found += [Submission(student_name(p), p) for p in members]
    if student is not None and len(found) != 1:
        raise ValueError("--student names one submission; give exactly one SUBMISSION")
    seen: dict[str, Path] = {}
    for sub in found:
        if sub.student in seen:
            raise ValueError(f"two submissions for student {sub.student!r}: {seen[sub.student]} and {sub.path}")
        seen[sub.student] = sub.path
    return found


# --------------------------------------------------------------------------- content
def _files(folder: Path) -> list[tuple[str, Path]]:
    out = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _IGNORED)
        for name in sorted(names):
            p = Path(root, name)
            if name.endswith(".pyc") or not p.is_file():
                continue
            out.append((p.relative_to(folder).as_posix(), p))
    return out


def content_hash(sub: Submission) -> str:
    """A hash of the submission's content (not of its timestamps): a re-upload of the same work keeps it."""
    h = hashlib.sha256()
    if sub.path.is_file():
        h.update(b"zip\0")
        with open(sub.path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    else:
        for rel, p in _files(sub.path):
            h.update(rel.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def pack(sub: Submission) -> bytes:
    """The submission as zip bytes, to send to another machine (the Dask executor)."""
    if sub.path.is_file():
        return sub.path.read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, p in _files(sub.path):
            zf.write(p, rel)
    return buf.getvalue()


# --------------------------------------------------------------------------- unpacking
def _safe_name(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise SubmissionError(f"the zip holds an unsafe path {info.filename!r} (absolute or with '..')")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise SubmissionError(f"the zip holds a symbolic link {info.filename!r}; upload plain files")
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def unzip(data: bytes | Path, dest: Path, *, max_bytes: int = MAX_UNPACKED_BYTES) -> None:
    """Unpack a student's zip into ``dest``, refusing unsafe paths, links and oversized contents."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SubmissionError(f"not a readable zip file ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise SubmissionError(f"the zip holds {len(infos)} entries (over {MAX_MEMBERS})")
        names = [_safe_name(i) for i in infos]
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise SubmissionError(f"the zip unpacks to {declared / 1e6:.0f} MB (over the "
                                  f"{max_bytes / 1e6:.0f} MB limit)")
        written = 0
        for info, name in zip(infos, names):
            if name.parts and name.parts[0] in _IGNORED:
                continue
            target = dest.joinpath(*name.parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    for chunk in iter(lambda: src.read(1 << 16), b""):
                        written += len(chunk)
                        if written > max_bytes:  # a header that lied about the size
                            raise SubmissionError(f"the zip unpacks to over {max_bytes / 1e6:.0f} MB")
                        out.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
                    EOFError, OSError) as exc:
                raise SubmissionError(f"cannot unpack {info.filename!r}: {exc}") from None


def layout_root(folder: Path) -> Path:
    """The folder holding the ``<part>.py`` files: ``folder`` itself or its single top folder."""
    if _has_parts(folder):
        return folder
    entries = _entries(folder)
    if len(entries) == 1 and entries[0].is_dir() and _has_parts(entries[0]):
        return entries[0]
    expected = ", ".join(f"{p}.py" for p in PARTS[:3])
    raise SubmissionError(f"no exercise files found (expected {expected}, ... at the top or inside one folder)")


def materialize(source: Path | bytes, workdir: Path) -> Path:
    """A folder to grade: a student's folder as it is, or a zip (path or bytes) unpacked into ``workdir``."""
    if isinstance(source, Path) and source.is_dir():
        return layout_root(source)
    unzip(source, workdir)
    return layout_root(workdir)


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
