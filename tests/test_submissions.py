"""Finding submissions, reading folders with no link followed, and unpacking zips safely."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

from grader.instructor.submissions import (
    Submission,
    SubmissionError,
    content_hash,
    discover,
    layout_root,
    materialize,
    pack,
    unzip,
    walk,
)
from tests.batchkit import ROOT, complete, stubs, zip_bytes

SOLUTION = (ROOT / "solutions" / "neuron.py").read_text()


def test_a_class_folder_holds_folders_and_zips(tmp_path):
    cls = tmp_path / "class"
    complete(cls / "alice")
    stubs(cls / "bob")
    (cls / "carol.zip").write_bytes(zip_bytes({"carol/neuron.py": SOLUTION}))
    (cls / "notes.txt").write_text("not a submission")
    subs = discover([str(cls)])
    assert [s.student for s in subs] == ["alice", "bob", "carol"]
    assert discover([str(cls / "alice")])[0].student == "alice"  # a student folder given directly


def test_same_student_twice_is_an_error(tmp_path):
    complete(tmp_path / "a" / "alice")
    (tmp_path / "alice.zip").write_bytes(zip_bytes({"neuron.py": SOLUTION}))
    with pytest.raises(ValueError, match="two submissions for student 'alice'"):
        discover([str(tmp_path / "a"), str(tmp_path / "alice.zip")])
    with pytest.raises(ValueError, match="does not exist"):
        discover([str(tmp_path / "nobody")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no submissions"):
        discover([str(tmp_path / "empty")])


def test_zip_layouts(tmp_path):
    for name, files in {
        "top": {"neuron.py": SOLUTION},
        "nested": {"alice/neuron.py": SOLUTION, "__MACOSX/alice/._neuron.py": "x"},
    }.items():
        folder = materialize(zip_bytes(files), tmp_path / name)
        assert (folder / "neuron.py").read_text() == SOLUTION
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "README").write_text("hi")
    with pytest.raises(SubmissionError, match="no exercise files found"):
        layout_root(tmp_path / "none")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"PK\x03\x04 this is no zip", "not a readable zip"),
        (zip_bytes({"../evil.py": "x"}), "unsafe path"),
        (zip_bytes({"/etc/evil.py": "x"}), "unsafe path"),
        (zip_bytes({"neuron.py": "x"}, symlink="link.py"), "symbolic link"),
        (zip_bytes({"neuron.py": b"\0" * 200_000}), "limit"),
        (zip_bytes({"neuron.py": "x", "d/" * 33 + "x.py": "x"}), "more than 32 folders deep"),
        (zip_bytes({"neuron.py": "x", ("n" * 250 + "/") * 5 + "x.py": "x"}), "longer than 1024 bytes"),
    ],
)
def test_unsafe_zips_are_refused(tmp_path, data, message):
    with pytest.raises(SubmissionError, match=message):
        unzip(data, tmp_path / "out", max_bytes=100_000)
    assert not (tmp_path / "evil.py").exists()


def test_content_hash_follows_content_not_time(tmp_path):
    sub = Submission("alice", complete(tmp_path / "alice"))
    before = content_hash(sub)
    (tmp_path / "alice" / "neuron.py").touch()
    assert content_hash(sub) == before
    (tmp_path / "alice" / "neuron.py").write_text(SOLUTION + "\n# changed\n")
    assert content_hash(sub) != before


# --------------------------------------------------------------------------- no link followed, only source
def _student(tmp_path: Path) -> Path:
    folder = tmp_path / "mallory"
    folder.mkdir()
    (folder / "neuron.py").write_text("x = 1\n")
    return folder


def _symlink(folder: Path) -> None:
    (folder / "deep").mkdir()
    os.symlink(ROOT / "solutions" / "neuron.py", folder / "deep" / "helper.py")


def _hardlink(folder: Path) -> None:
    os.link(folder.parent / "outside.txt", folder / "copy.txt")


def _socket(folder: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "s"))
    sock.close()


@pytest.mark.parametrize(
    "make, message",
    [
        (_symlink, "symbolic link 'deep/helper.py'"),
        (_hardlink, "hard link 'copy.txt'"),
        (lambda f: os.mkfifo(f / "pipe"), "FIFO (named pipe) 'pipe'"),
        (_socket, "socket 's'"),
        (lambda f: (f / ("d/" * 33)).mkdir(parents=True), "more than 32 folders deep"),
        (lambda f: (f / (("n" * 250 + "/") * 5)).mkdir(parents=True), "longer than 1024 bytes"),
    ],
)
def test_unsafe_folders_are_refused_by_every_reader(tmp_path, make, message):
    (tmp_path / "outside.txt").write_text("the grader's secret")
    folder = _student(tmp_path)
    make(folder)
    sub = Submission("mallory", folder)
    for read in (lambda: list(walk(folder)), lambda: pack(sub), lambda: materialize(folder, tmp_path / "work")):
        with pytest.raises(SubmissionError, match=re.escape(message)):
            read()
    fixed = content_hash(sub)  # a refused folder still hashes (its reason), and does not hang on the FIFO
    assert fixed == content_hash(sub) and len(fixed) == 64


def test_a_submission_32_folders_deep_is_read(tmp_path):
    folder = _student(tmp_path)
    (folder / ("d/" * 32)).mkdir(parents=True)
    (folder / ("d/" * 32) / "notes.py").write_text("x = 1\n")
    assert ("d/" * 32 + "notes.py", b"x = 1\n") in list(walk(folder))
    unzip(zip_bytes({"neuron.py": "x", "d/" * 32 + "notes.py": "x = 1\n"}), tmp_path / "out")
    assert (tmp_path / "out" / ("d/" * 32) / "notes.py").exists()


def test_a_submission_that_is_a_link_is_refused(tmp_path):
    os.symlink(ROOT / "solutions", tmp_path / "mallory")
    os.symlink(ROOT / "solutions" / "neuron.py", tmp_path / "eve.zip")
    for name in ("mallory", "eve.zip"):
        with pytest.raises(SubmissionError, match="the submission is a symbolic link"):
            materialize(tmp_path / name, tmp_path / f"work-{name}")
    cls = tmp_path / "class"  # the same links as entries of a class folder: found, then refused
    cls.mkdir()
    for name in ("mallory", "eve.zip"):
        os.symlink(tmp_path / name, cls / name)
    assert [s.student for s in discover([str(cls)])] == ["eve", "mallory"]


def test_caps_on_folders(tmp_path, monkeypatch):
    folder = _student(tmp_path)
    (folder / "big.bin").write_bytes(b"\0" * 5000)
    with pytest.raises(SubmissionError, match="over the"):
        list(walk(folder, max_bytes=4000))
    for i in range(5):
        (folder / f"f{i}.txt").write_text("x")
    with pytest.raises(SubmissionError, match="over 4 files"):
        list(walk(folder, max_entries=4))


BYTECODE = {
    "neuron.py": "raise NotImplementedError\n",
    "work/__pycache__/neuron.cpython-311.pyc": b"\x00bytecode",
    "work/neuron.pyc": b"\x00",
    "work/deeper/x/__pycache__/a.pyc": b"\x00",
    "neuron.pyo": b"\x00",
    "neuron.cpython-311-x86_64-linux-gnu.so": b"\x7fELF",
    "work/ok.py": "y = 2\n",
    ".venv/bin/x.py": "z = 3\n",
    "work/.ipynb_checkpoints/neuron-checkpoint.py": "w = 4\n",
}


def test_bytecode_compiled_modules_and_hidden_folders_are_dropped_at_every_depth(tmp_path):
    folder = tmp_path / "folder"
    for rel, data in BYTECODE.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data.encode() if isinstance(data, str) else data)
    os.symlink("/usr/bin/python3", folder / ".venv" / "bin" / "python")  # hidden folders are never read
    for name, source in (("zip", zip_bytes(BYTECODE)), ("folder", folder)):
        got = materialize(source, tmp_path / f"work-{name}")
        files = sorted(p.relative_to(got).as_posix() for p in got.rglob("*") if p.is_file())
        assert files == ["neuron.py", "work/ok.py"], name


def test_check_grades_a_safe_copy(tmp_path):
    from grader.commands import UsageError
    from grader.commands._common import submission_folder

    folder = complete(tmp_path / "alice")
    with submission_folder(str(folder)) as (copy, _):
        assert copy != folder and (copy / "neuron.py").read_text() == SOLUTION
    os.symlink("/etc/shadow", folder / "notes.txt")
    with pytest.raises(UsageError, match="symbolic link 'notes.txt'"):
        with submission_folder(str(folder)):
            pass


def test_check_refuses_a_linked_folder_in_one_line(tmp_path, capsys):
    from grader.cli import main

    folder = stubs(tmp_path / "mine")
    os.symlink(ROOT / "solutions" / "neuron.py", folder / "helper.py")
    assert main(["check", "neuron.relu", "--submission", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert "symbolic link 'helper.py'" in err and len(err.splitlines()) == 1
    os.symlink(ROOT / "solutions", tmp_path / "linked")
    assert main(["check", "neuron.relu", "--submission", str(tmp_path / "linked")]) == 2
    assert "the submission is a symbolic link" in capsys.readouterr().err


@pytest.mark.parametrize("where", [b"", b"deep/er/"], ids=["top", "nested"])
def test_unreadable_names_are_refused_not_crashed_on(tmp_path, where):
    folder = _student(tmp_path)
    os.makedirs(os.path.join(os.fsencode(folder), where + b"bad\xffname"))
    for read in (lambda: list(walk(folder)), lambda: pack(Submission("m", folder))):
        with pytest.raises(SubmissionError, match="not UTF-8"):
            read()
    # no descriptor left open on the folder or anything in it (counting all of them races pytest-xdist's threads)
    assert _open_in(folder) == []


def _open_in(folder) -> list[str]:
    """The targets of this process's descriptors that lie in `folder` (or are it)."""
    inside = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since the listing
            continue
        if target == str(folder) or target.startswith(str(folder) + os.sep):
            inside.append(target)
    return inside
