"""Finding and unpacking student submissions: folders and ``.zip`` files, safely.

A submission is one student's folder or zip in the layout of ``assignments/``: ``<part>.py`` files at the top,
or inside a single top folder.  A folder holding no ``<part>.py`` is a class: each folder or zip in it is one
student.  Submissions are untrusted input, read only through :func:`walk` (folders) and :func:`unzip` (zips):
no link is followed, absolute or ``..`` paths, links, devices, FIFOs and oversized contents are refused, and
only source files are kept (no ``__pycache__``, bytecode or compiled modules).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from grader.registry import PARTS

#: Caps on what one zip may unpack to (a zip bomb is refused before anything is written).
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 2000
#: The most folders one path of a submission may lie in (a course's layout needs a few; thousands would make every
#: tool that walks the copy recurse past Python's limit).
MAX_DEPTH = 32
#: The longest path (in bytes) a file or folder of a submission may have within it: a copy's absolute path must
#: stay under the system's limit (4096 bytes on Linux).
MAX_PATH = 1024
_IGNORED = {"__MACOSX", "__pycache__", ".DS_Store", ".git", ".ipynb_checkpoints"}


class SubmissionError(Exception):
    """A submission that cannot be graded at all (its row in the gradebook says why)."""


@dataclass(frozen=True)
class Submission:
    """One student's work: a folder or a zip file."""

    student: str
    path: Path


def student_name(path: Path) -> str:
    """The student's name from a folder or zip name, safe to use as a folder name."""
    stem = path.name[:-4] if path.name.lower().endswith(".zip") and not _is_folder(path) else path.name
    return safe_name(stem)


def safe_name(text: str) -> str:
    """``text`` made a safe file name: letters, digits and ``@._+-`` only, never starting with a dot."""
    return re.sub(r"[^A-Za-z0-9@._+-]+", "_", text).strip("._") or "student"


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
            found.append(Submission(safe_name(student), path))
        elif not path.is_dir() or _has_parts(path):
            # abspath, not resolve: a submission that is a link keeps its own name (and is refused later)
            found.append(Submission(student_name(Path(os.path.abspath(path))), path))
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


# --------------------------------------------------------------------------- reading, no link followed
_NOFOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)
#: Suffixes of code that is not source: bytecode and extension modules are dropped, so only ``.py`` runs.
_NOT_SOURCE = (".pyc", ".pyo", ".so", ".pyd")


def _dropped(name: str) -> bool:
    """Names the grader never reads nor grades, at any depth: hidden files and folders (``.git``, ``.venv``),
    editor/OS litter, bytecode, compiled modules."""
    return name.startswith(".") or name in _IGNORED or name.lower().endswith(_NOT_SOURCE)


def _refuse(rel: str, st: os.stat_result) -> None:
    """Raise for anything but a folder or a regular file with one link (``rel`` "": the submission itself)."""
    if stat.S_ISLNK(st.st_mode) and not rel:
        raise SubmissionError("the submission is a symbolic link; upload the folder or zip itself")
    if stat.S_ISLNK(st.st_mode):
        raise SubmissionError(f"the submission holds a symbolic link {rel!r}; upload plain files")
    for test, kind in _KINDS:
        if test(st.st_mode):
            raise SubmissionError(f"the submission holds {kind} {rel!r}; upload plain files")
    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        raise SubmissionError(
            f"the submission holds a hard link {rel!r} (a file with {st.st_nlink} names); upload plain files"
        )
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise SubmissionError(f"the submission holds {rel!r}, which is not a plain file or folder")


def _open(name: str | Path, rel: str, *, dir_fd: int | None = None, folder: bool = False) -> int:
    """Open without following a link; the opened object must be what ``lstat`` saw (no swap in between)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        _refuse(rel, st)
        if stat.S_ISDIR(st.st_mode) != folder:
            raise SubmissionError(f"{rel or 'the submission'!r} is not a {'folder' if folder else 'file'}")
        # O_NONBLOCK: opening a FIFO swapped in after lstat cannot hang; fstat below refuses it
        fd = os.open(name, _NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | (os.O_DIRECTORY if folder else 0), dir_fd=dir_fd)
    except SubmissionError:
        raise
    except OSError as exc:
        raise SubmissionError(f"cannot read {rel or 'the submission'!r}: {exc.strerror or exc}") from None
    now = os.fstat(fd)
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
        os.close(fd)
        raise SubmissionError(f"{rel!r} changed while it was read")
    try:
        _refuse(rel, now)
    except SubmissionError:
        os.close(fd)
        raise
    return fd


def _names(fd: int, rel: str) -> Iterator[str]:
    """The sorted names in an open folder; a name that is not UTF-8 is refused (reports and zips need text)."""
    try:
        names = sorted(os.listdir(fd))
    except OSError as exc:
        raise SubmissionError(f"cannot read {rel or 'the submission'!r}: {exc.strerror or exc}") from None
    for name in names:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise SubmissionError(f"the submission holds a file name that is not UTF-8: {rel + name!r}") from None
    return iter(names)


def _read(fd: int, rel: str, budget: int, limit: int = MAX_UNPACKED_BYTES) -> bytes:
    """The whole file behind ``fd`` (closed after), refusing more than ``budget`` bytes (of ``limit``)."""
    try:
        with os.fdopen(fd, "rb", closefd=True) as fh:
            data = fh.read(budget + 1)
    except OSError as exc:
        raise SubmissionError(f"cannot read {rel!r}: {exc.strerror or exc}") from None
    if len(data) > budget:
        raise SubmissionError(f"the submission is over the {limit / 1e6:.0f} MB limit (at {rel!r})")
    return data


def walk(
    root: Path, *, max_bytes: int = MAX_UNPACKED_BYTES, max_entries: int = MAX_MEMBERS
) -> Iterator[tuple[str, bytes | None]]:
    """Every folder (``("a/b/", None)``) and file (``("a/b/c.py", bytes)``) of a submission folder, sorted.

    The one way the grader reads a student's folder: no symbolic link is followed (the folder itself
    included), hard links, devices, FIFOs and sockets are refused, ignored names and bytecode are skipped
    unread at every depth, and the sizes are capped as a zip's are.  Raises :class:`SubmissionError`.
    """
    stack: list[tuple[int, str, Iterator[str]]] = []

    def enter(fd: int, prefix: str) -> None:
        try:
            stack.append((fd, prefix, _names(fd, prefix)))
        except SubmissionError:
            os.close(fd)
            raise

    try:
        enter(_open(root, "", folder=True), "")
        entries = used = 0
        while stack:
            dfd, prefix, names = stack[-1]
            name = next(names, None)
            if name is None:
                os.close(stack.pop()[0])
                continue
            if _dropped(name):
                continue
            rel = prefix + name
            if len(rel.encode("utf-8", "surrogateescape")) > MAX_PATH:
                raise SubmissionError(_too_long(rel[:200]))
            entries += 1
            if entries > max_entries:
                raise SubmissionError(f"the submission holds over {max_entries} files and folders")
            try:
                folder = stat.S_ISDIR(os.stat(name, dir_fd=dfd, follow_symlinks=False).st_mode)
            except OSError as exc:
                raise SubmissionError(f"cannot read {rel!r}: {exc.strerror or exc}") from None
            if folder and len(stack) > MAX_DEPTH:
                raise SubmissionError(_too_deep(rel[:200]))
            child = _open(name, rel, dir_fd=dfd, folder=folder)
            if folder:
                enter(child, rel + "/")
                yield rel + "/", None
            else:
                data = _read(child, rel, max_bytes - used, max_bytes)
                used += len(data)
                yield rel, data
    finally:
        for dfd, _, _ in stack:
            os.close(dfd)


def _is_folder(path: Path) -> bool:
    """Whether ``path`` is a folder, not following a final symbolic link (the walker refuses that)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _zip_file(path: Path):
    """The student's zip file, opened without following a link (a binary file object)."""
    return os.fdopen(_open(path, ""), "rb")


def read_file(path: Path, *, max_bytes: int = MAX_UNPACKED_BYTES) -> bytes:
    """One student file (a notebook, say), read without following a link; SubmissionError if unsafe."""
    return _read(_open(path, ""), path.name, max_bytes, max_bytes)


def copy(root: Path, dest: Path) -> None:
    """Copy a submission folder into the private folder ``dest`` through :func:`walk`."""
    for rel, data in walk(root):
        target = dest.joinpath(*PurePosixPath(rel).parts)
        if data is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            with open(target, "xb") as out:  # dest is fresh: nothing there to write through
                out.write(data)


# --------------------------------------------------------------------------- content
def content_hash(sub: Submission) -> str:
    """A hash of the submission's content (not of its timestamps): a re-upload of the same work keeps it.

    A submission that cannot be read hashes its reason, so fixing it changes the hash.
    """
    h = hashlib.sha256()
    try:
        if _is_folder(sub.path):
            for rel, data in walk(sub.path):
                h.update(rel.encode() + b"\0" + (b"/" if data is None else hashlib.sha256(data).digest()))
        else:
            h.update(b"zip\0")
            with _zip_file(sub.path) as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    except SubmissionError as exc:
        h = hashlib.sha256(b"refused\0" + str(exc).encode("utf-8", "replace"))
    return h.hexdigest()


def pack(sub: Submission) -> bytes:
    """The submission as zip bytes, to send to another machine (the Dask executor); SubmissionError if unsafe."""
    if not _is_folder(sub.path):
        with _zip_file(sub.path) as fh:
            return fh.read()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in walk(sub.path):
            if data is not None:
                zf.writestr(rel, data)
    return buf.getvalue()


# --------------------------------------------------------------------------- unpacking
def _safe_name(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise SubmissionError(f"the zip holds an unsafe path {info.filename!r} (absolute or with '..')")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise SubmissionError(f"the zip holds a symbolic link {info.filename!r}; upload plain files")
    if len(parts) > MAX_DEPTH + 1:
        raise SubmissionError(_too_deep(info.filename[:200]))
    if len(name.encode("utf-8", "surrogateescape")) > MAX_PATH:
        raise SubmissionError(_too_long(info.filename[:200]))
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _too_deep(path: str) -> str:
    return f"{path!r} lies more than {MAX_DEPTH} folders deep; upload a flatter folder"


def _too_long(path: str) -> str:
    return f"a path is longer than {MAX_PATH} bytes ({path[:60]!r}...); upload shorter names"


def unzip(data: bytes | Path | BinaryIO, dest: Path, *, max_bytes: int = MAX_UNPACKED_BYTES) -> None:
    """Unpack a student's zip into ``dest``, refusing unsafe paths, links and oversized contents, and
    dropping ignored names and bytecode at every depth."""
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
            raise SubmissionError(
                f"the zip unpacks to {declared / 1e6:.0f} MB (over the {max_bytes / 1e6:.0f} MB limit)"
            )
        written = 0
        for info, name in zip(infos, names):
            if any(_dropped(part) for part in name.parts):
                continue
            target = dest.joinpath(*name.parts)
            try:
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    for chunk in iter(lambda: src.read(1 << 16), b""):
                        written += len(chunk)
                        if written > max_bytes:  # a header that lied about the size
                            raise SubmissionError(f"the zip unpacks to over {max_bytes / 1e6:.0f} MB")
                        out.write(chunk)
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                NotImplementedError,
                RuntimeError,
                EOFError,
                OSError,
                ValueError,
            ) as exc:
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
    """A private folder to grade, in ``workdir``: a student's folder copied through :func:`walk`, or a zip
    (path or bytes) unpacked.  The student's own path is never graded in place."""
    workdir.mkdir(parents=True, exist_ok=True)
    if isinstance(source, bytes):
        unzip(source, workdir)
    elif _is_folder(source):
        copy(source, workdir)
    else:
        with _zip_file(source) as fh:
            unzip(fh, workdir)
    return layout_root(workdir)
