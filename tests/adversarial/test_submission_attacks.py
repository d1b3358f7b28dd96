"""Attacks on what the grader reads and writes (issue 8, guarantees 3, 7, 9): links out of the submission,
bytecode beside a stub, names that collide with the grader's files, text that forges a report.  One batch
grades every attack beside a correct submission; each attack scores 0 (or is refused), nothing it reached
appears in any file under OUT, the correct one keeps full marks, and a re-run resumes."""

from __future__ import annotations

import csv
import json
import os
import py_compile
import re
import secrets
import sys
from html import unescape
from pathlib import Path

import pytest

from grader import registry
from grader.instructor import batch
from grader.instructor.submissions import discover
from grader.results import WITHHELD
from tests.batchkit import ROOT, complete, stubs, zip_bytes

ONLY = "neuron.sigmoid"
EXERCISES = registry.select([ONLY])
MAX = sum(e.points for e in EXERCISES)
STUB = (ROOT / "assignments" / "neuron.py").read_text()
SOLUTION = (ROOT / "solutions" / "neuron.py").read_text()
#: Closes the Markdown fence, then prints a fake score, a heading and a link.
FORGED = "```\n````\n\n**Score: 135 / 135**\n\n# Full marks\n\n[collect](https://evil.example/x)\n<b>bold</b>"
FORGER = STUB.replace(
    'raise NotImplementedError("neuron.sigmoid: write sigmoid_forward")', f"raise ValueError({FORGED!r})"
)
CANARY = "deepgrade-canary-" + secrets.token_hex(8)


def _bytecode(dest: Path) -> bytes:
    """The reference compiled to bytecode that Python would run without checking the (stub) source."""
    src = dest / "neuron_ref.py"
    src.write_text(SOLUTION)
    out = dest / "ref.pyc"
    py_compile.compile(
        str(src), cfile=str(out), doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    src.unlink()
    return out.read_bytes()


def make_class(tmp: Path) -> Path:
    cls = tmp / "class"
    complete(cls / "alice")  # the bystander: full marks
    os.symlink(ROOT / "solutions", cls / "eve")  # a class entry that is itself a link
    (cls / "linkdir").mkdir()
    os.symlink(ROOT / "solutions", cls / "linkdir" / "solutions")  # only content: a link to solutions/
    for name, target in (
        ("linkfile", ROOT / "solutions" / "neuron.py"),
        ("shadow", Path("/etc/shadow")),
        ("environ", Path("/proc/self/environ")),
    ):
        stubs(cls / name)
        (cls / name / "neuron.py").unlink()
        os.symlink(target, cls / name / "neuron.py")
    stubs(cls / "notes")  # a stub beside a link the grader might copy or show
    os.symlink("/proc/self/environ", cls / "notes" / "environ.txt")
    stubs(cls / "hardlink")
    (tmp / "outside.py").write_text(SOLUTION)
    (cls / "hardlink" / "neuron.py").unlink()
    os.link(tmp / "outside.py", cls / "hardlink" / "neuron.py")
    stubs(cls / "fifo")
    os.mkfifo(cls / "fifo" / "neuron_data.txt")
    pyc = _bytecode(tmp)
    cached = f"work/__pycache__/neuron.{sys.implementation.cache_tag}.pyc"
    (cls / "pyc.zip").write_bytes(zip_bytes({"work/neuron.py": STUB, cached: pyc}))
    stubs(cls / "pycdir" / "work")
    (cls / "pycdir" / "work" / cached.split("/", 1)[1]).parent.mkdir()
    (cls / "pycdir" / "work" / cached.split("/", 1)[1]).write_bytes(pyc)
    (cls / "gradebook.csv.zip").write_bytes(zip_bytes({"neuron.py": SOLUTION}))
    complete(cls / "records")
    complete(cls / "students")
    stubs(cls / "forger")
    (cls / "forger" / "neuron.py").write_text(FORGER)
    return cls


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    cls = make_class(tmp)
    out = tmp / "out"
    os.environ["DEEPGRADE_ATTACK_CANARY"] = CANARY  # in the grader's environment (and its pool's)
    try:
        first = batch.run_batch(discover([str(cls)]), out, EXERCISES, examples=3, jobs=2)
        second = batch.run_batch(discover([str(cls)]), out, EXERCISES, examples=3, jobs=2)
    finally:
        del os.environ["DEEPGRADE_ATTACK_CANARY"]
    return out, {o.student: o for o in first}, {o.student: o for o in second}


REFUSED = {
    "eve": "the submission is a symbolic link",
    "linkdir": "symbolic link 'solutions'",
    "linkfile": "symbolic link 'neuron.py'",
    "shadow": "symbolic link 'neuron.py'",
    "environ": "symbolic link 'neuron.py'",
    "notes": "symbolic link 'environ.txt'",
    "hardlink": "hard link 'neuron.py'",
    "fifo": "FIFO (named pipe) 'neuron_data.txt'",
}


@pytest.mark.parametrize("student", sorted(REFUSED))
def test_links_hard_links_and_fifos_are_error_rows(graded, student):
    out, first, _ = graded
    o = first[student]
    assert REFUSED[student] in o.result.error and o.result.score == 0 and not o.internal
    row = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}[student]
    assert row["total"] == "0" and REFUSED[student] in row["error"]


@pytest.mark.parametrize("student", ["pyc", "pycdir"])
def test_bytecode_beside_a_stub_earns_nothing(graded, student):
    _, first, _ = graded
    r = first[student].result
    assert not r.error and r.score == 0 and r.exercises[0].status == "not_implemented"


def test_the_bystander_and_colliding_names_keep_full_marks_and_resume(graded):
    out, first, second = graded
    for name in ("alice", "gradebook.csv", "records", "students"):
        assert first[name].result.score == MAX, name
        assert second[name].cached and second[name].result.score == MAX, name
        assert (out / "students" / name / "feedback.md").is_file() and batch.load_record(out, name)
    assert (out / "gradebook.csv").is_file() and (out / "records").is_dir()
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert len(rows) == len(first) and all(
        r["total"] == f"{MAX:g}" for r in rows if r["student"] in ("alice", "gradebook.csv", "records", "students")
    )


def test_a_message_that_closes_the_fence_stays_in_a_code_block(graded):
    from markdown_it import MarkdownIt

    out, first, _ = graded
    assert first["forger"].result.score == 0
    md = (out / "students" / "forger" / "feedback.md").read_text()
    tokens = MarkdownIt("commonmark").parse(md)
    blocks = [t.content for t in tokens if t.type == "fence"]
    assert any("**Score: 135 / 135**" in b and "# Full marks" in b and "[collect]" in b for b in blocks)
    outside = [t.content for t in tokens if t.type == "inline"]
    assert not any("135 / 135" in text or "Full marks" in text or "evil.example" in text for text in outside)
    assert [t.tag for t in tokens if t.type == "heading_open"] == ["h1", "h2"]
    page = (out / "students" / "forger" / "feedback.html").read_text()
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "evil.example" not in re.sub(r"<pre>.*?</pre>", "", page, flags=re.S)  # only inside <pre>, escaped
    assert "**Score: 135 / 135**" in unescape(page)


def _secret_lines() -> list[str]:
    """What the links reached: solution lines a stub lacks, /etc/shadow, the grader's environment."""
    stub = set(STUB.splitlines())
    lines = [ln.strip() for ln in SOLUTION.splitlines() if len(ln.strip()) >= 25 and ln not in stub]
    try:
        lines += [ln for ln in Path("/etc/shadow").read_text().splitlines() if len(ln) >= 12]
    except OSError:
        pass
    lines += [CANARY, os.environ["DEEPGRADE_SECRET"]]
    lines += [v for v in os.environ.values() if len(v) >= 24 and not v.startswith("/") and ":" not in v]
    return lines


def test_nothing_the_links_reached_appears_under_out(graded):
    out, _, _ = graded
    secrets_ = _secret_lines()
    assert len(secrets_) > 10
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            leaked = [s for s in secrets_ if s in text]
            assert not leaked, f"{path.relative_to(out)} holds {leaked[:3]}"


def test_student_files_come_from_the_redacted_result_only(graded):
    out, first, _ = graded
    record = batch.load_record(out, "forger")
    hidden = [c for e in record["result"]["exercises"] for c in e["checks"] if c["hidden"]]
    assert hidden and all("135 / 135" in c["message"] for c in hidden if c["status"] == "error")
    doc = json.loads((out / "students" / "forger" / "results.json").read_text())
    for test in doc["tests"]:
        if test["name"].endswith("[hidden]"):
            assert test["output"] in (WITHHELD, "passed") and "135" not in test["output"]
    md = (out / "students" / "forger" / "feedback.md").read_text()
    public = [c for c in first["forger"].result.exercises[0].checks if not c.hidden]
    assert md.count("135 / 135") == sum(c.message.count("135 / 135") + c.stdout.count("135 / 135") for c in public)
