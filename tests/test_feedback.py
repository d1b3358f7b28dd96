"""Per-student reports: hidden checks only as a count, loss curves plotted in the HTML page."""
from __future__ import annotations

import base64
import inspect
import json
import re

from grader.reporters import feedback, gradescope
from grader.results import WITHHELD, CheckResult, ExerciseResult, SubmissionResult


def synthetic() -> SubmissionResult:
    train = ExerciseResult("train.mlp", "Train a small MLP", "train", [
        CheckResult("loss goes down", 1.0, 1.0, "passed", "", "training",
                    curves={"loss": [2.3, 1.1, 0.6, 0.4], "reference loss": [2.3, 1.0, 0.5, 0.3]}),
        CheckResult("accuracy beats 90 %", 0.0, 1.0, "failed", "accuracy 0.71 < 0.9 <script>", "training"),
        CheckResult("SECRET bigger batch", 1.0, 1.0, "passed", "", "training", hidden=True),
        CheckResult("SECRET odd shapes", 0.0, 1.0, "failed", "SECRET MESSAGE", "reference", hidden=True),
    ])
    train.notes = ["forbidden import: torch (numpy only in this part)"]
    return SubmissionResult("alice", [train], seconds=12.4)


def test_student_files_show_hidden_checks_without_details():
    shown = synthetic().redacted()  # what grader.batch hands every student-facing reporter
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
    images = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 1  # only the check with curves
    alt, data = images[0]
    assert "loss" in alt and "reference loss" in alt
    assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
