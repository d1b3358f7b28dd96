"""Everything a student controls reaches the class page as text, never as markup: submission names, check
messages, what the code printed, the code in similarity.json, and names inside it."""

from __future__ import annotations

import json

from grader import registry
from grader.instructor import batch
from grader.instructor.submissions import discover
from grader.reporters import classpage, similarity_view
from grader.results import CheckResult, ExerciseResult, Outcome, SubmissionResult
from tests.batchkit import EXAMPLES, ONLY, ROOT, complete
from tests.htmldom import Node, parse

HOSTILE = (
    "</textarea></pre><script>alert(1)</script><img src=x onerror=alert(2)>"
    "<a href=\"javascript:alert(3)\">click</a> ' \" `x` </style></title><!--"
)
NAMES = ['<script>alert("n")</script>', 'x" onmouseover="alert(1)', "javascript:alert(1)", "o'neil&<b>"]


def assert_inert(doc: Node) -> None:
    """Only the page's own script, only its two charts, no handler, no script URL, no form or frame."""
    assert [s.text for s in doc.all("script")] == [classpage._SCRIPT]
    assert sorted(i.attr("id") for i in doc.all("img")) == ["histogram", "marks"]
    for n in doc.walk():
        assert not any(a.lower().startswith("on") for a in n.attrs), (n.tag, n.attrs)
        for key in ("href", "src", "action", "formaction"):
            value = (n.attrs.get(key) or "").strip().lower()
            assert not value.startswith(("javascript:", "vbscript:", "http")), (n.tag, n.attrs)
        assert n.tag not in ("textarea", "iframe", "form", "object", "embed", "b")


def _outcome(name: str) -> Outcome:
    ex = registry.get(ONLY[0])
    check = CheckResult("relu matches torch", 0.0, 1.0, "failed", HOSTILE + name, "torch", stdout=HOSTILE)
    er = ExerciseResult(ex.id, ex.title, ex.part, [check], notes=[HOSTILE])
    return Outcome(name, HOSTILE, SubmissionResult(name, [er], seconds=1.0), 1.0)


def test_hostile_names_messages_and_code_stay_text():
    outcomes = [_outcome(n) for n in NAMES]
    outcomes.append(Outcome("broken", "", SubmissionResult("broken", error=HOSTILE), 0.0))
    code = HOSTILE + "\ndef relu(x): return x\n"
    sim = {
        "tool": HOSTILE,
        "threshold": 0.5,
        "pairs": [
            {
                "a": NAMES[0],
                "b": NAMES[1],
                "shared_a": 0.9,
                "shared_b": 0.9,
                "files": [
                    {"name": HOSTILE, "code_a": code, "code_b": code, "spans_a": [[0, 20]], "spans_b": [[5, 60]]}
                ],
            }
        ],
    }
    text = classpage.page(outcomes, registry.select(ONLY), similarity=json.dumps(sim))
    doc = parse(text)
    assert_inert(doc)
    # shown, as text: the names in the table, the message and the code
    rows = [tr.attr("data-student") for tr in doc.by_id("students").all("tr") if "data-student" in tr.attrs]
    assert sorted(rows) == sorted([*NAMES, "broken"])
    assert HOSTILE in doc.by_id("students").text  # the broken submission's error
    # as text (the names' words, "script" and "alert" among them, anonymised away)
    assert "</textarea></pre><<student>>" in doc.by_id("failing").text
    pre_a, _ = doc.by_id("similarity").all("pre")
    assert pre_a.text == code and pre_a.all("mark")[0].text == code[:20]
    # a student's name in a link stays inside its path segment
    hrefs = [a.attr("href") for a in doc.all("a") if a.attr("href").startswith("students/")]
    assert all(h.count("/") == 2 and h.endswith("/feedback.html") for h in hrefs) and len(hrefs) >= len(NAMES)


def test_a_hostile_submission_graded_for_real(tmp_path):
    """End to end through ``grade``: the folder's name, the exception text and what the code prints."""
    cls = tmp_path / "class"
    complete(cls / "alice")
    evil = complete(cls / 'evil"><img src=x onerror=alert(1)>')
    source = (evil / "neuron.py").read_text()
    source += f"\n\ndef relu_forward(x):\n    print({HOSTILE!r})\n    raise ValueError({HOSTILE!r})\n"
    (evil / "neuron.py").write_text(source)
    out = tmp_path / "out"
    outcomes = batch.run_batch(discover([str(cls)]), out, registry.select(ONLY), examples=EXAMPLES, jobs=1)
    assert [o.result.score > 0 for o in outcomes] == [True, False]
    doc = parse((out / "index.html").read_text())
    assert_inert(doc)
    assert "</textarea></pre><script>" in doc.by_id("failing").text  # the message is there, as text
    run = json.loads((out / batch.RUN).read_text())
    assert run["students"] == [o.student for o in outcomes] and run["wall_seconds"] > 0
    assert similarity_view.FILE not in {p.name for p in out.iterdir()}
    assert "Not run" in doc.by_id("similarity").text
    assert ROOT.is_dir()
