"""Finding submissions and unpacking zips safely."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.submissions import (SubmissionError, Submission, content_hash, discover, layout_root, materialize,
                                unzip)
from tests.batchkit import complete, stubs, zip_bytes

SOLUTION = (Path(__file__).resolve().parent.parent / "solutions" / "neuron.py").read_text()


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
    for name, files in {"top": {"neuron.py": SOLUTION}, "nested": {"alice/neuron.py": SOLUTION,
                                                                  "__MACOSX/alice/._neuron.py": "x"}}.items():
        folder = materialize(zip_bytes(files), tmp_path / name)
        assert (folder / "neuron.py").read_text() == SOLUTION
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "README").write_text("hi")
    with pytest.raises(SubmissionError, match="no exercise files found"):
        layout_root(tmp_path / "none")


@pytest.mark.parametrize("data, message", [
    (b"PK\x03\x04 this is no zip", "not a readable zip"),
    (zip_bytes({"../evil.py": "x"}), "unsafe path"),
    (zip_bytes({"/etc/evil.py": "x"}), "unsafe path"),
    (zip_bytes({"neuron.py": "x"}, symlink="link.py"), "symbolic link"),
    (zip_bytes({"neuron.py": b"\0" * 200_000}), "limit"),
])
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
