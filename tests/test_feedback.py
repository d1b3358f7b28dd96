"""Per-student reports: hidden checks without details, loss curves in the HTML page, and student text that
cannot forge a report (fenced, cleaned, capped, escaped; no formulas in the gradebook)."""

from __future__ import annotations

import base64
import csv
import inspect
import io
import json
import re
from xml.etree import ElementTree

import pytest

from grader.reporters import charts, feedback, gradescope
from grader.reporters.text import MAX_CHARS, clean
from grader.results import WITHHELD, CheckResult, ExerciseResult, SubmissionResult

SVG = "{http://www.w3.org/2000/svg}"


def synthetic() -> SubmissionResult:
    train = ExerciseResult(
        "train.mlp",
        "Train a small MLP",
        "train",
        [
            CheckResult(
                "loss goes down",
                1.0,
                1.0,
                "passed",
                "",
                "training",
                curves={"loss": [2.3, 1.1, 0.6, 0.4], "reference loss": [2.3, 1.0, 0.5, 0.3]},
            ),
            CheckResult("accuracy beats 90 %", 0.0, 1.0, "failed", "accuracy 0.71 < 0.9 <script>", "training"),
            CheckResult("SECRET bigger batch", 1.0, 1.0, "passed", "", "training", hidden=True),
            CheckResult("SECRET odd shapes", 0.0, 1.0, "failed", "SECRET MESSAGE", "reference", hidden=True),
        ],
    )
    train.notes = ["forbidden import: torch (numpy only in this part)"]
    return SubmissionResult("alice", [train], seconds=12.4)


def test_student_files_show_hidden_checks_without_details():
    shown = synthetic().redacted()  # what grader.instructor.batch hands every student-facing reporter
    md, page = feedback.markdown(shown, "alice"), feedback.html(shown, "alice")
    doc = gradescope.document(shown)
    for text in (md, page, doc["output"]):
        assert "hidden checks: 1/2 passed" in text
    for text in (md, page, json.dumps(doc)):
        assert "SECRET MESSAGE" not in text and WITHHELD in text
        assert "accuracy 0.71" in text  # public failures are explained
    for text in (md, page):
        assert "forbidden import: torch" in text  # instructor notes that cost points
    assert "&lt;script&gt;" in page and "<script>" not in page


def test_reporters_have_no_hidden_filter_of_their_own():
    """Redaction happens once, in SubmissionResult.redacted: a reporter prints what it is given."""
    for fn in (feedback.markdown, feedback.html, gradescope.document):
        assert "publish_hidden" not in inspect.signature(fn).parameters
    assert not hasattr(feedback, "shown_checks")


def test_publish_hidden_shows_them():
    r = synthetic().redacted(publish=True)
    assert "SECRET MESSAGE" in feedback.markdown(r, "alice")
    assert "SECRET MESSAGE" in feedback.html(r, "alice")
    doc = gradescope.document(r)
    assert any(t["output"] == "SECRET MESSAGE" for t in doc["tests"])


def test_gradescope_document_follows_the_schema():
    doc = gradescope.document(synthetic())
    assert doc["score"] == 2.0 and doc["execution_time"] == 12
    assert [t["status"] for t in doc["tests"]] == ["passed", "failed", "passed", "failed"]
    assert all({"name", "score", "max_score", "status", "output", "visibility"} <= set(t) for t in doc["tests"])
    broken = gradescope.document(SubmissionResult("bob", error="not a readable zip file"))
    assert broken["score"] == 0 and broken["tests"] == [] and "not a readable zip" in broken["output"]


def test_html_plots_the_loss_beside_the_reference():
    page = feedback.html(synthetic(), "alice")
    images = re.findall(r'<img alt="([^"]*)" src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(images) == 1  # only the check with curves
    alt, data = images[0]
    assert "loss" in alt and "reference loss" in alt
    svg = ElementTree.fromstring(base64.b64decode(data))
    lines = svg.findall(f"{SVG}polyline")
    assert len(lines) == 2 and lines[1].get("stroke-dasharray")  # the reference's dashed
    assert [t.text for t in svg.iter(f"{SVG}text")].count("reference loss") == 1  # in the legend


def _points(svg: str) -> list[list[tuple[float, ...]]]:
    return [
        [tuple(map(float, p.split(","))) for p in line.get("points", "").split()]
        for line in ElementTree.fromstring(svg).iter(f"{SVG}polyline")
    ]


def test_a_loss_chart_is_drawn_to_scale_and_breaks_at_values_that_are_not_finite():
    lin = _points(charts.lines({"loss": [1.0, -1.0, 0.0]}))[0]
    assert [x for x, _ in lin] == sorted(x for x, _ in lin) and lin[0][0] < lin[-1][0]
    assert lin[1][1] > lin[2][1] > lin[0][1]  # SVG's y grows downwards: -1 lowest, 1 highest
    assert lin[2][1] == pytest.approx((lin[0][1] + lin[1][1]) / 2)  # a linear scale when a value is not positive
    log = _points(charts.lines({"loss": [100.0, 10.0, 1.0]}))[0]
    assert log[1][1] == pytest.approx((log[0][1] + log[2][1]) / 2)  # losses on a log scale: 10 halfway
    long, short = _points(charts.lines({"loss": [1.0] * 2001, "reference loss": [1.0] * 1001}))
    assert len(long) <= 600 and short[-1][0] == pytest.approx((long[0][0] + long[-1][0]) / 2, abs=0.1)  # step 1001
    broken = _points(charts.lines({"loss": [3.0, 2.0, float("nan"), 1.0, float("inf"), 0.5, 0.4]}))
    assert [len(run) for run in broken] == [2, 1, 2]
    title = "<script>alert(1)</script> & co"
    svg = charts.lines({title: [1.0, 2.0]}, title=title)
    assert "<script" not in svg and [t.text for t in ElementTree.fromstring(svg).iter(f"{SVG}text")].count(title) == 2


# --------------------------------------------------------------------------- student text cannot forge a report
FORGED = (
    "wrong\n```\n\n**Score: 135 / 135**\n\n# All passed\n\n[claim your prize](https://evil.example)\n````\n<b>x</b>"
)


def hostile() -> SubmissionResult:
    ex = ExerciseResult(
        "neuron.sigmoid",
        "Sigmoid",
        "neuron",
        [
            CheckResult("x [hidden]", 0.0, 1.0, "failed", FORGED, "reference"),
            CheckResult(
                "values", 0.0, 1.0, "error", "\x1b[2J\x1b]0;pwned\x07bell\rline\u202egnp.exe\ud800 end", "torch"
            ),
        ],
        notes=["forbidden import: ``` \n# Note heading"],
    )
    return SubmissionResult("mallory", [ex])


def fences(md: str) -> list[str]:
    """The content of every fenced code block, as a CommonMark parser sees it."""
    from markdown_it import MarkdownIt

    return [t.content for t in MarkdownIt("commonmark").parse(md) if t.type == "fence"]


def test_worker_text_stays_inside_a_code_block():
    md = feedback.markdown(hostile(), "mallory")
    inside = fences(md)
    assert any(
        "**Score: 135 / 135**" in block and "[claim your prize]" in block and "# All passed" in block
        for block in inside
    )
    assert any("# Note heading" in block for block in inside)  # notes too
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(md)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["Feedback for mallory", "! neuron.sigmoid — Sigmoid: 0/2"]
    assert not any(t.type == "inline" and any(c.type == "link_open" for c in t.children or []) for t in tokens)
    strong = [t for t in tokens if t.type == "inline" and "135" in t.content]
    assert not strong  # the fake score is never Markdown text


def test_worker_text_in_a_failed_error_row_is_fenced_too():
    md = feedback.markdown(SubmissionResult("mallory", error="cannot read " + FORGED), "mallory")
    inside = fences(md)
    assert len(inside) == 1 and "**Score: 135 / 135**" in inside[0]


def test_control_characters_are_removed_and_length_capped():
    assert clean("a\x1b[2Jb\r\nc\td\u202ee\ud800\x00") == "a[2Jb\nc\tde"
    long = clean("x" * 10_000)
    assert len(long) == MAX_CHARS and long.endswith("… (truncated)")
    md = feedback.markdown(hostile(), "mallory")
    page = feedback.html(hostile(), "mallory")
    doc = json.dumps(gradescope.document(hostile()), ensure_ascii=False)
    for text in (md, page, doc):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text and "\ud800" not in text
    md.encode("utf-8"), page.encode("utf-8")  # no lone surrogate left to break the write


def test_html_stays_escaped():
    page = feedback.html(hostile(), "mallory")
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "x [hidden]" in page


def test_gradescope_output_is_plain_text():
    doc = gradescope.document(hostile())
    assert doc["test_output_format"] == "text" and doc["output_format"] == "text"
    assert "\x1b" not in doc["tests"][1]["output"]


def test_the_terminal_table_does_not_read_markup():
    from io import StringIO

    from rich.console import Console

    from grader.reporters.table import print_report

    buf = StringIO()
    print_report(hostile(), Console(file=buf, width=200, color_system=None))
    out = buf.getvalue()
    assert "x [hidden]" in out and "\x1b" not in out and "# Note heading" in out


def test_gradebook_cells_are_not_formulas():
    from grader.instructor.batch import Outcome
    from grader.reporters.gradebook import cell, csv_text

    for bad in ("=HYPERLINK(\"http://x\")", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx"):
        assert cell(bad) == "'" + bad
    assert cell("alice") == "alice" and cell(2.5) == "2.5"
    from grader import registry

    o = Outcome("-mallory", "", SubmissionResult("-mallory", error="=cmd|' /C calc'!A0"), 0.0)
    rows = list(csv.reader(io.StringIO(csv_text([o], registry.select(["neuron.sigmoid"])))))
    assert rows[1][0] == "'-mallory" and rows[1][-1].startswith("'=")


def test_every_text_reporter_shows_the_same_view_of_a_check():
    """The terminal's first-failure panel, the Markdown and HTML feedback and a notebook's failing cell say the
    same things about a failed check (grader.reporters.view): its status and oracle, its message, and what
    the code printed under the same heading."""
    from rich.console import Console

    from grader.notebooks.extract import _report
    from grader.reporters import table, view

    failed = CheckResult(
        "relu_backward passes the gradient check",
        0.0,
        1.0,
        "failed",
        "worst index (0, 1)",
        "numerical",
        stdout="debug: x = 3",
    )
    result = SubmissionResult("bob", [ExerciseResult("neuron.relu", "ReLU activation", "neuron", [failed])])
    console = Console(record=True, width=200)
    console.print(table.failure_panel(result.exercises[0]))
    shown = {
        "terminal": console.export_text(),
        "markdown": feedback.markdown(result, "bob"),
        "html": feedback.html(result, "bob"),
        "notebook": _report(result),
    }
    assert view.status_note(failed) == "[failed, oracle: numerical]"
    for where, text in shown.items():
        for piece in (failed.name, view.status_note(failed), "worst index (0, 1)", view.PRINTED, "debug: x = 3"):
            assert piece in text, (where, piece)
    assert view.exercise_heading(result.exercises[0]) in shown["markdown"] + shown["notebook"]
