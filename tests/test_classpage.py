"""The class page (OUT/index.html) read with an HTML parser: its numbers are the gradebook's, its examples name
nobody, it loads nothing, and the similarity section shows a hand-written similarity.json (or says why not)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from grader import registry
from grader.reporters import classpage, similarity_view
from grader.reporters.anonymous import PLACEHOLDER, anonymise
from tests.htmldom import Node, parse
from tests.reportkit import save_class, synthetic_class

EXERCISES = registry.all_exercises()
N = 60


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    save_class(out, synthetic_class(N, EXERCISES), EXERCISES)
    return out


def page(book: Path) -> Node:
    return parse((book / "index.html").read_text())


def gradebook(book: Path) -> dict:
    return json.loads((book / "gradebook.json").read_text())


def test_the_students_table_is_the_gradebook_with_error_rows_on_top(book):
    doc, gb = page(book), gradebook(book)
    errors, rows = doc.by_id("students").all("tbody")
    problem = [s for s in gb["students"] if s["error"]]
    fine = [s for s in gb["students"] if not s["error"]]
    assert len(problem) >= 4 and len(fine) >= 40
    assert [tr.attr("data-student") for tr in errors.all("tr")] == [s["student"] for s in problem]
    assert [tr.attr("data-student") for tr in rows.all("tr")] == [s["student"] for s in fine]
    for tr, s in zip(errors.all("tr") + rows.all("tr"), problem + fine):
        cells = tr.all("td")
        assert cells[0].text == s["student"]
        if s["total"] is None:  # a grader error: no score, no feedback to link to
            assert cells[1].text == cells[2].text == cells[3].text == "" and not cells[0].all("a")
        else:
            assert float(cells[1].text) == pytest.approx(s["total"], abs=0.005)
            assert float(cells[2].text) == s["max"] and int(cells[3].text) == round(100 * s["total"] / s["max"])
            href = cells[0].all("a")[0].attr("href")
            assert href == f"students/{s['student']}/feedback.html" and (book / href).is_file()
        assert float(cells[5].text) == pytest.approx(s["seconds"], abs=0.05)
        assert (cells[6].text != "") == bool(s["error"])


def test_the_histogram_and_the_per_exercise_marks_are_the_gradebooks(book):
    doc, gb = page(book), gradebook(book)
    graded = [s for s in gb["students"] if not s["grader_error"]]
    top = sum(e["points"] for e in gb["exercises"])
    expected = [0] * 10
    for s in graded:
        expected[min(9, int(s["total"] / top * 10))] += 1
    bands = [int(tr.all("td")[1].text) for tr in doc.by_id("bands").all("tr")]
    assert bands == expected and sum(bands) == len(graded) and sum(b > 0 for b in bands) >= 3
    rows = doc.by_id("exercises").all("tbody")[0].all("tr")
    assert [tr.attr("data-exercise") for tr in rows] == [e.id for e in EXERCISES]  # curriculum order
    for tr, e in zip(rows, gb["exercises"]):
        scores = [s["scores"][e["id"]] for s in graded]
        full = sum(abs(x - e["points"]) < 1e-3 for x in scores)
        zero = sum(x == 0 for x in scores)
        assert [int(td.text) for td in tr.all("td")[2:]] == [full, len(scores) - full - zero, zero]
    img = doc.by_id("marks")
    svg = base64.b64decode(img.attr("src").removeprefix("data:image/svg+xml;base64,")).decode()
    assert svg.count("<rect") > len(EXERCISES) and all(e.id in svg for e in EXERCISES)


def test_the_most_failed_checks_are_counted_and_their_examples_name_nobody(book):
    doc = page(book)
    records = [json.loads(p.read_text()) for p in (book / "records").glob("*.json")]
    counts: dict[str, int] = {}
    for r in records:
        for e in r["result"]["exercises"]:
            for c in e["checks"]:
                if c["status"] in ("failed", "error", "timeout"):
                    counts[f"{e['id']}: {c['name']}"] = counts.get(f"{e['id']}: {c['name']}", 0) + 1
    # the grader-error students have no record; the run keeps them
    run = json.loads((book / "run.json").read_text())
    for r in run["grader_errors"].values():
        for e in r["result"]["exercises"]:
            for c in e["checks"]:
                if c["status"] in ("failed", "error", "timeout"):
                    counts[f"{e['id']}: {c['name']}"] = counts.get(f"{e['id']}: {c['name']}", 0) + 1
    rows = doc.by_id("failing").all("tbody")[0].all("tr")
    shown = [(tr.attr("data-check"), int(tr.all("td")[2].text)) for tr in rows]
    assert len(shown) == classpage.TOP_FAILING
    assert [n for _, n in shown] == sorted(counts.values(), reverse=True)[: len(shown)]
    assert all(counts[name] == n for name, n in shown)
    names = [s["student"] for s in gradebook(book)["students"]]
    table = doc.by_id("failing").text
    assert PLACEHOLDER in table and not any(n in table or n.upper() in table for n in names)
    hidden = [tr for tr in rows if tr.attr("data-check").endswith("[hidden]")]
    assert hidden and all("withheld" in tr.all("pre")[0].text for tr in hidden)
    assert all("expected 1.0, got" in tr.all("pre")[0].text for tr in rows if tr not in hidden)
    for tr in rows:
        target = tr.all("a")[0].attr("href").removeprefix("#")
        hint = doc.by_id(target)
        assert registry.get(target.removeprefix("hint-")).hint in hint.text


def test_the_settings_and_the_times_are_shown(book):
    doc = page(book)
    facts = {dd.attr("data-fact"): dd.text for dd in doc.by_id("settings").all("dd")}
    assert facts["deepgrade version"] == __import__("grader").__version__
    assert facts["isolation"] == "process" and "only their count" in facts["hidden checks"]
    total = sum(s["seconds"] for s in gradebook(book)["students"])
    assert facts["grading time, all students"].startswith(f"{total:.1f} s")
    summary = {dd.attr("data-fact"): dd.text for dd in doc.by_id("summary").all("dd")}
    assert summary["students"] == str(N)
    assert int(summary["grader errors (not a grade; grade again to retry)"]) == sum(
        s["grader_error"] for s in gradebook(book)["students"]
    )


def test_the_page_loads_nothing_and_allows_only_its_own_script_and_style(book):
    text = (book / "index.html").read_text()
    doc = parse(text)
    assert "http:" not in text and "https:" not in text and "//" not in re.sub(r"base64,[^\"]*", "", text)
    for n in doc.walk():
        if "src" in n.attrs:
            assert n.attr("src").startswith("data:image/svg+xml;base64,")
        if "href" in n.attrs:
            assert n.attr("href").startswith(("#", "students/"))
    csp = next(m.attr("content") for m in doc.all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy")
    for tag in ("script", "style"):
        (element,) = doc.all(tag)
        digest = base64.b64encode(hashlib.sha256(element.text.encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp


def test_anonymise_takes_out_every_name_and_its_parts():
    names = ["alice_smith", "bob", "x"]
    text = "Alice_Smith: smith's ALICE; Bobby bob x=1 xx alicent"
    assert (
        anonymise(text, names)
        == f"{PLACEHOLDER}: {PLACEHOLDER}'s {PLACEHOLDER}; Bobby {PLACEHOLDER} {PLACEHOLDER}=1 xx alicent"
    )
    assert anonymise("al\u200bice", names) == "al\u200bice"  # clean() runs first in the page: see the next test


def test_hidden_checks_examples_are_shown_only_when_the_grade_published_them():
    outcomes = synthetic_class(3, EXERCISES[:1])
    for o in outcomes:
        for c in o.result.exercises[0].checks:
            c.status, c.hidden, c.message = "failed", True, "input: x = [1e9]"
    assert "withheld" in classpage.failing(outcomes, publish_hidden=False, top=1)[0].example
    assert classpage.failing(outcomes, publish_hidden=True, top=1)[0].example == "input: x = [1e9]"


def test_an_example_hidden_in_invisible_characters_is_still_anonymised():
    outcomes = synthetic_class(3, EXERCISES[:1])
    for o in outcomes:
        for c in o.result.exercises[0].checks:
            c.status, c.message = "failed", f"from {o.student[:3]}\u200b{o.student[3:]}"
    (f,) = classpage.failing(outcomes, publish_hidden=False, top=1)
    assert f.example == f"from {PLACEHOLDER}" and f.students == 3


def _similarity(**changes) -> dict:
    code_a = "def relu(x):\n    return max(x, 0)  # mine\n"
    code_b = "# bob's\ndef relu(y):\n    return max(y, 0)\n"
    doc = {
        "tool": "copydetect 0.5.0",
        "threshold": 0.5,
        "pairs": [
            {
                "a": "student001",
                "b": "student002",
                "shared_a": 0.83,
                "shared_b": 0.79,
                "files": [
                    {
                        "name": "neuron.py",
                        "code_a": code_a,
                        "code_b": code_b,
                        "spans_a": [[0, 8], [4, 12], [17, 27]],
                        "spans_b": [[8, 16], [25, 35]],
                    }
                ],
            }
        ],
    }
    doc.update(changes)
    return doc


def _section(text) -> Node:
    return parse(similarity_view.section(text, classpage.feedback_link)).by_id("similarity")


def test_the_similarity_pairs_are_shown_side_by_side_with_their_matches_marked():
    doc = _similarity()
    section = _section(json.dumps(doc))
    pair, file = doc["pairs"][0], doc["pairs"][0]["files"][0]
    assert "83 %" in section.text and "79 %" in section.text and "copydetect 0.5.0" in section.text
    links = [a.attr("href") for a in section.all("a")]
    assert links == ["students/student001/feedback.html", "students/student002/feedback.html"]
    pre_a, pre_b = section.all("pre")
    assert pre_a.text == file["code_a"] and pre_b.text == file["code_b"]
    merged_a = [file["code_a"][0:12], file["code_a"][17:27]]  # [0, 8] and [4, 12] overlap: one region
    assert [m.text for m in pre_a.all("mark")] == merged_a
    assert [m.text for m in pre_b.all("mark")] == [file["code_b"][s:e] for s, e in pair["files"][0]["spans_b"]]


def test_a_long_file_is_shown_whole_up_to_its_cap_and_then_cut():
    code = "x = 1\n" * 3000  # 18,000 characters: under the cap, over a message's
    assert parse(f"<pre>{similarity_view.highlighted(code, [(6, 12)])}</pre>").all("pre")[0].text == code
    cut = parse(f"<pre>{similarity_view.highlighted(code * 2, [])}</pre>").all("pre")[0].text
    assert cut.startswith(code) and len(cut) < similarity_view.MAX_CODE + 100 and "cut here" in cut


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("{not json", "not JSON"),
        (json.dumps([1, 2]), "not an object"),
        (json.dumps(_similarity(pairs="many")), "pairs has the wrong type"),
        (json.dumps(_similarity(threshold=2)), "threshold = 2 is not a fraction"),
        (json.dumps({**_similarity(), "pairs": [{"a": "x"}]}), "pairs[0].files is missing"),
        (json.dumps(_similarity()).replace("[25, 35]", "[25, 999]"), "spans_b[1] is not a [start, end]"),
        (json.dumps(_similarity()).replace("[0, 8]", '["0", 8]'), "spans_a[0] is not a [start, end]"),
        (json.dumps(_similarity()).replace("0.83", "NaN"), "shared_a = nan is not a fraction"),
        ("[" * 100_000, "not JSON"),
        (similarity_view.Malformed("it is not UTF-8 text"), "not UTF-8"),
    ],
)
def test_a_malformed_similarity_file_is_said_so_in_the_page(change, says):
    section = _section(change)
    (problem,) = [p for p in section.all("p") if p.attrs.get("class") == "problem"]
    assert "similarity.json could not be shown" in problem.text and says in problem.text
    assert not section.all("details")


def test_no_similarity_file_says_not_run(tmp_path):
    assert "Not run" in _section(similarity_view.read(tmp_path / "similarity.json")).text
    (tmp_path / "similarity.json").write_bytes(b"\xff\xfe")
    assert "not UTF-8" in _section(similarity_view.read(tmp_path / "similarity.json")).text
    (tmp_path / "similarity.json").write_text(json.dumps(_similarity()))
    assert "83 %" in _section(similarity_view.read(tmp_path / "similarity.json")).text


def test_the_page_shows_the_gradebooks_similarity_file(tmp_path):
    outcomes = synthetic_class(4, EXERCISES[:2])
    (tmp_path / "similarity.json").write_text(json.dumps(_similarity()))
    doc = parse(save_class(tmp_path, outcomes, EXERCISES[:2]).read_text())
    assert len(doc.by_id("similarity").all("mark")) == 4
