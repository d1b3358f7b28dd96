"""Per-student reports: hidden checks only as a count, loss curves plotted in the HTML page."""
from __future__ import annotations

import base64
import re

from grader.reporters import feedback, gradescope
from grader.results import CheckResult, ExerciseResult, SubmissionResult


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


def test_hidden_checks_show_only_as_a_count():
    r = synthetic()
    md, page = feedback.markdown(r, "alice"), feedback.html(r, "alice")
    doc = gradescope.document(r)
    for text in (md, page, doc["output"]):
        assert "hidden checks: 1/2 passed" in text
    for text in (md, page):
        assert "SECRET" not in text
        assert "accuracy 0.71" in text  # public failures are explained
        assert "forbidden import: torch" in text  # instructor notes that cost points
    secret = [t for t in doc["tests"] if "SECRET" in t["name"]]
    assert len(secret) == 2 and {t["visibility"] for t in secret} == {"hidden"}
    assert "&lt;script&gt;" in page and "<script>" not in page


def test_publish_hidden_shows_them():
    r = synthetic()
    assert "SECRET MESSAGE" in feedback.markdown(r, "alice", publish_hidden=True)
    assert "SECRET odd shapes" in feedback.html(r, "alice", publish_hidden=True)
    doc = gradescope.document(r, publish_hidden=True)
    assert {t["visibility"] for t in doc["tests"]} == {"visible"}


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
