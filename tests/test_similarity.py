"""The similarity flags of ``deepgrade grade`` (issue 12): ``OUT/similarity.json`` from copydetect's fingerprints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader import cli
from grader.instructor import similarity
from grader.instructor.submissions import Submission, discover
from tests import similarkit
from tests.batchkit import zip_bytes
from tests.htmldom import parse

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("neuron.py", "losses.py", "autograd.py")  # numpy code, a class (autograd's Value) among it


def some(files: dict[str, str]) -> dict[str, str]:
    return {n: t for n, t in files.items() if n in PARTS}


def student(tmp: Path, name: str, files: dict[str, str]) -> Submission:
    return Submission(name, similarkit.write(tmp / name, files))


def pair_of(doc: dict, a: str, b: str) -> dict | None:
    return next((p for p in doc["pairs"] if (p["a"], p["b"]) == (a, b)), None)


def test_a_copy_with_renamed_variables_is_flagged(tmp_path):
    original = some(similarkit.author(0))
    copy = similarkit.disguise(original, "renamed", seed=3)
    assert copy != original and copy["neuron.py"].count("_") > original["neuron.py"].count("_")
    subs = [student(tmp_path, "ann", original), student(tmp_path, "ben", copy)]
    doc = similarity.report(subs).document
    pair = pair_of(doc, "ann", "ben")
    assert pair is not None, doc
    assert min(pair["shared_a"], pair["shared_b"]) >= 0.9
    assert {f["name"] for f in pair["files"]} == set(PARTS)


def test_reordered_and_recommented_copies_are_flagged(tmp_path):
    original = some(similarkit.author(1))
    subs = [student(tmp_path, "ann", original)]
    for how in ("reordered", "comments"):
        copy = similarkit.disguise(original, how, seed=1)
        assert copy != original
        subs.append(student(tmp_path, how, copy))
    doc = similarity.report(subs).document
    assert pair_of(doc, "ann", "reordered") is not None and pair_of(doc, "ann", "comments") is not None


def test_independent_correct_solutions_are_not_flagged(tmp_path):
    # the reference and a class-mate who wrote the correct alternatives of tests/alternatives, every part
    ref, own = similarkit.author(0), similarkit.author(1)
    assert ref.keys() == own.keys()
    subs = [student(tmp_path, "ann", ref), student(tmp_path, "ben", own)]
    found = similarity.report(subs)
    assert found.document["pairs"] == [] and found.flagged == 0
    pair = similarity.compare(*similarity.load(subs, similarity.boilerplate()))
    assert pair is not None and 0 < max(pair.shared_a, pair.shared_b) < similarity.DEFAULT_THRESHOLD


def test_the_stubs_alone_share_nothing(tmp_path):
    stubs = {n: (ROOT / "assignments" / n).read_text() for n in PARTS}
    a, b, c = similarity.load(
        [
            student(tmp_path, "stub1", stubs),
            student(tmp_path, "stub2", stubs),
            student(tmp_path, "ref", some(similarkit.author(0))),
        ],
        similarity.boilerplate(),
    )
    assert a.own == 0 and b.own == 0 and c.own > 0  # the given code is not the student's
    assert similarity.compare(a, b) is None
    assert similarity.compare(a, c) is None  # the reference holds the stubs' text: none of it counts


@pytest.mark.slow
def test_the_same_class_gives_the_same_file_whatever_the_hash_seed(tmp_path):
    original = some(similarkit.author(0))
    for name, files in (("ann", original), ("ben", similarkit.disguise(original, "comments", 2))):
        similarkit.write(tmp_path / "class" / name, files)
    script = (
        "import sys; from pathlib import Path; from grader.instructor import similarity; "
        "from grader.instructor.submissions import discover; "
        "similarity.write(discover([sys.argv[1]]), Path(sys.argv[2]))"
    )
    texts = []
    for seed in ("1", "2"):  # Python's str hash (copydetect's k-gram hash) differs between these processes
        out = tmp_path / f"out{seed}"
        out.mkdir()
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "class"), str(out)], check=True, env=env, timeout=300
        )
        texts.append((out / similarity.FILE_NAME).read_text())
    assert texts[0] == texts[1]
    assert json.loads(texts[0])["pairs"], "a copy is in it"


TAPE = """

class Tape:
    def __init__(self):
        self.nodes = []
        self.grads = {}

    def record(self, node, grad):
        self.nodes.append(node)
        self.grads[id(node)] = grad
"""


def test_spans_point_at_the_matching_text(tmp_path):
    base = some(similarkit.author(0))
    base["neuron.py"] += TAPE  # a class of the student's own: copydetect's offsets go wrong after a class name
    original = dict(base, **{"losses.py": "\n\n\r\n" + base["losses.py"].replace("\n", "\r\n")})  # CRLF
    copy = similarkit.disguise(base, "renamed", seed=5)
    doc = similarity.report([student(tmp_path, "ann", original), student(tmp_path, "ben", copy)]).document
    (pair,) = doc["pairs"]
    for f in pair["files"]:
        assert f["code_b"] == copy[f["name"]]
        assert f["code_a"] == original[f["name"]].replace("\r\n", "\n")  # the text the spans are in
        assert f["spans_a"] and len(f["spans_a"]) == len(f["spans_b"])
        for (sa, ea), (sb, eb) in zip(f["spans_a"], f["spans_b"]):
            text_a, text_b = f["code_a"][sa:ea], f["code_b"][sb:eb]
            assert text_a == text_a.strip() and text_b == text_b.strip()  # tokens, not the space around them
            assert similarity.normalize(text_a)[0] == similarity.normalize(text_b)[0]  # the same code, renamed
            assert len(similarity.normalize(text_a)[0]) >= similarity.K
    neuron = next(f for f in pair["files"] if f["name"] == "neuron.py")
    assert "class Tape:" in neuron["code_a"][slice(*neuron["spans_a"][-1])]
    assert neuron["spans_a"][-1][1] == len(neuron["code_a"].rstrip())  # to the last character of the last token
    assert neuron["spans_b"][-1][1] == len(neuron["code_b"].rstrip())


def test_the_document_has_the_schema_and_keeps_the_students_text(tmp_path):
    original = some(similarkit.author(0))
    original["neuron.py"] += '\n\ndef helper():\n    return "</script><script>alert(1)</script>"\n'
    subs = [student(tmp_path, "ann", original), student(tmp_path, "ben", similarkit.disguise(original, "exact"))]
    out = tmp_path / "out"
    found = similarity.write(subs, out, threshold=0.7)
    doc = json.loads((out / similarity.FILE_NAME).read_text())
    assert doc == found.document
    assert set(doc) == {"tool", "threshold", "pairs"} and doc["tool"] == "copydetect 0.5.0" and doc["threshold"] == 0.7
    (pair,) = doc["pairs"]
    assert set(pair) == {"a", "b", "shared_a", "shared_b", "files"} and (pair["a"], pair["b"]) == ("ann", "ben")
    assert pair["shared_a"] == pair["shared_b"] == 1.0
    for f in pair["files"]:
        assert set(f) == {"name", "code_a", "code_b", "spans_a", "spans_b"}
        assert all(isinstance(x, int) for span in f["spans_a"] + f["spans_b"] for x in span)
    neuron = next(f for f in pair["files"] if f["name"] == "neuron.py")
    assert "</script><script>alert(1)</script>" in neuron["code_a"]


def test_pairs_are_sorted_most_similar_first(tmp_path):
    original = some(similarkit.author(0))
    half = dict(original, **{"autograd.py": similarkit.author(1)["autograd.py"]})  # copied all but autograd
    subs = [student(tmp_path, n, f) for n, f in (("ann", original), ("ben", half), ("cat", original))]
    pairs = similarity.report(subs, threshold=0.3).document["pairs"]
    assert [(p["a"], p["b"]) for p in pairs] == [("ann", "cat"), ("ann", "ben"), ("ben", "cat")]
    tops = [max(p["shared_a"], p["shared_b"]) for p in pairs]
    assert tops[0] == 1.0 > tops[1] == tops[2]


def test_malformed_and_huge_submissions_are_left_out_with_a_reason(tmp_path, monkeypatch):
    original = some(similarkit.author(0))
    good = [student(tmp_path, "ann", original), student(tmp_path, "ben", original)]
    (tmp_path / "notzip.zip").write_bytes(b"this is not a zip")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("neuron.py", b"\0" * (65 * 1024 * 1024))
    (tmp_path / "escape.zip").write_bytes(zip_bytes({"../neuron.py": "x = 1\n"}))
    linked = similarkit.write(tmp_path / "linked", {"neuron.py": original["neuron.py"]})
    (linked / "losses.py").symlink_to(tmp_path / "ann" / "losses.py")
    weird = similarkit.write(tmp_path / "weird", {"losses.py": "def f(:\n\0\0 ''' unterminated"})
    (weird / "neuron.py").write_bytes(b"\xff\xfe not utf-8 \x80" + original["neuron.py"].encode())
    big = similarkit.write(tmp_path / "big", dict(original))
    (big / "autograd.py").write_text("x = 1\n" * 40_000)  # 240 KB, over the limit set below
    monkeypatch.setattr(similarity, "MAX_FILE_BYTES", 100_000)
    bad = [Submission(p.stem, p) for p in (tmp_path / "notzip.zip", bomb, tmp_path / "escape.zip", linked, weird, big)]
    found = similarity.report(good + bad)
    assert set(found.skipped) == {"notzip", "bomb", "escape", "linked", "big"}
    assert "not a readable zip" in found.skipped["notzip"][0] and "MB" in found.skipped["bomb"][0]
    assert "autograd.py" in found.skipped["big"][0]
    names = {(p["a"], p["b"]) for p in found.document["pairs"]}
    assert ("ann", "ben") in names and ("ann", "big") in names  # big's other files are still compared
    assert ("ann", "weird") in names  # a file that is not UTF-8 is compared as text all the same


def test_a_threshold_out_of_range_is_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="threshold"):
        similarity.report([], threshold=0.0)
    for bad in ("0", "1.5", "-0.2"):
        code = cli.main(["grade", str(ROOT / "examples" / "submissions"), "--out", str(tmp_path / "gb"),
                         "--similarity-threshold", bad])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2 and "--similarity-threshold" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "gb").exists()


@pytest.mark.slow
def test_grade_compares_every_submission_even_those_already_graded(tmp_path, monkeypatch):
    # a resumed grade re-grades nobody (run_batch returns only what it graded now: nothing here); the flags
    # are still over the whole batch
    original = some(similarkit.author(0))
    for name, files in (("ann", original), ("ben", similarkit.disguise(original, "renamed", 1))):
        similarkit.write(tmp_path / "class" / name, files)
    from grader.instructor import batch

    monkeypatch.setattr(batch, "run_batch", lambda *a, **k: [])
    monkeypatch.setenv("DEEPGRADE_SECRET", "a test course secret, 32 bytes or more")
    out = tmp_path / "gb"
    argv = ["grade", str(tmp_path / "class"), "--out", str(out), "--only", "neuron.relu", "--quiet"]
    assert cli.main([*argv, "--isolation", "process"]) == 0
    doc = json.loads((out / similarity.FILE_NAME).read_text())
    assert [(p["a"], p["b"]) for p in doc["pairs"]] == [("ann", "ben")]
    shown = parse((out / "index.html").read_text()).by_id("similarity").text  # the class page has the flags
    assert "ann" in shown and "ben" in shown and "Not run" not in shown
    assert cli.main([*argv, "--isolation", "process", "--no-similarity"]) == 0
    assert not (out / similarity.FILE_NAME).exists()  # no stale flags of another run
    assert "Not run" in parse((out / "index.html").read_text()).by_id("similarity").text
    assert discover([str(tmp_path / "class")])  # the class itself is untouched


def test_a_file_of_thousands_of_fragments_is_written_with_at_most_max_spans_regions():
    # red-team finding: one submission with 5,000+ matching fragments made the class page refuse the whole
    # similarity.json; the writer joins regions across their smallest gaps instead
    code = "x = 1\n" * 4000
    doc = similarity.Document.__new__(similarity.Document)
    doc.code, doc.lo, doc.hi = code, np.arange(len(code)), np.arange(1, len(code) + 1)
    covered = np.zeros(len(code), dtype=bool)
    covered[::3] = True  # a region every third character
    spans = doc.spans(covered)
    assert len(spans) == similarity.MAX_SPANS
    assert spans[0][0] == 0 and spans[-1][1] == doc.hi[np.flatnonzero(covered)[-1]]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # ordered, disjoint
    few = np.zeros(len(code), dtype=bool)
    few[10:20] = few[40:45] = True
    assert doc.spans(few) == [[10, 20], [40, 45]]
