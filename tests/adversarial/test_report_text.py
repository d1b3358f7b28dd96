"""A student's text reaches every text reporter cleaned (issue 11's shared view, ``grader.reporters.view``):
terminal escapes, bell, bidi overrides and lone surrogates in a check's message or printed output never
reach the notebook's failing cell, the terminal panel or the feedback pages, and its length is capped."""

from __future__ import annotations

import json

from rich.console import Console

from grader import registry
from grader.notebooks.extract import _report
from grader.reporters import classpage, feedback, table
from grader.reporters.text import MAX_CHARS
from grader.results import CheckResult, ExerciseResult, Outcome, SubmissionResult

HOSTILE = "\x1b[2J\x1b]0;pwned\x07bell\rline\u202egnp.exe\ud800 end"


def result() -> SubmissionResult:
    c = CheckResult("values", 0.0, 1.0, "failed", HOSTILE + "x" * (2 * MAX_CHARS), "torch", stdout=HOSTILE)
    return SubmissionResult("mallory", [ExerciseResult("neuron.sigmoid", "Sigmoid", "neuron", [c])])


def test_no_reporter_passes_on_control_characters_or_unbounded_text():
    code = {"name": HOSTILE, "code_a": HOSTILE, "code_b": "", "spans_a": [[0, 3]], "spans_b": []}
    pair = {"a": HOSTILE, "b": "b", "shared_a": 1, "shared_b": 1, "files": [code]}
    console = Console(record=True, width=200)
    console.print(table.failure_panel(result().exercises[0]))
    shown = {
        "notebook": _report(result()),
        "terminal": console.export_text(),
        "markdown": feedback.markdown(result(), "mallory"),
        "html": feedback.html(result(), "mallory"),
        "class page": classpage.page(
            [Outcome("mallory" + HOSTILE, "", result(), 1.0)],
            [registry.get("neuron.sigmoid")],
            similarity=json.dumps({"tool": HOSTILE, "threshold": 0.5, "pairs": [pair]}),
        ),
    }
    for where, text in shown.items():
        for bad in ("\x1b", "\x07", "\u202e", "\ud800", "\r"):
            assert bad not in text, (where, repr(bad))
        assert "bell" in text and "… (truncated)" in text, where  # the text is there, cut to its cap
        assert text.count("x") < 2 * MAX_CHARS, where
        text.encode("utf-8")  # nothing left that cannot be written
