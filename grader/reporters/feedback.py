"""Per-student feedback, as Markdown and as a self-contained HTML page (with loss-curve plots).

Reporters print what they are given: pass ``SubmissionResult.redacted(publish_hidden)`` (``grader.instructor.batch``
does), which withholds hidden checks' details.  Text that came from the worker goes through
:mod:`grader.reporters.text`: cleaned, capped, fenced in Markdown and escaped in HTML.
"""

from __future__ import annotations

from html import escape

from grader.i18n import N_, _, language, name
from grader.reporters import charts
from grader.reporters.text import clean, fence
from grader.reporters.view import MARK, check_label, details, exercise_heading, hidden_summary, status_note
from grader.reporters.view import points as _pts
from grader.results import CheckResult, SubmissionResult


def _score(result: SubmissionResult) -> str:
    return _("Score: {score} / {max_score}").format(score=_pts(result.score), max_score=_pts(result.max_score))


def markdown(result: SubmissionResult, student: str) -> str:
    """Every fenced block sits at the top level (no list or quote around it could end it early)."""
    out = ["# " + _("Feedback for {student}").format(student=student), ""]
    if result.error:
        out += ["**" + _("This submission could not be graded:") + "**", "", *fence(result.error), ""]
        return "\n".join(out)
    out += ["**" + _score(result) + "**", ""]
    for e in result.exercises:
        out += [f"## {exercise_heading(e)}", ""]
        for note in e.notes:
            out += [_("Note:"), "", *fence(note), ""]
        for c in e.checks:
            out.append(f"- {check_label(c)}")
            for heading, text in details(c):
                out += ([f"{heading}:"] if heading else []) + ["", *fence(text), ""]
        summary = hidden_summary(e)
        if summary:
            out += ["", f"- {summary}"] if out[-1] else [f"- {summary}"]
        out.append("")
    summary = hidden_summary(result)
    if summary:
        out += [_("Overall, {summary}.").format(summary=summary), ""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{font-size:1.1rem;margin-top:1.6rem;border-bottom:1px solid #ddd}
.passed{color:#1a7f37}.failed,.error,.timeout,.grader_error{color:#c62828}.not_implemented,.skipped{color:#8a6d00}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;font-size:.85rem}
ul{list-style:none;padding-left:.5rem}li{margin:.3rem 0}img{max-width:100%;border:1px solid #eee}
.meta{color:#666;font-size:.85rem}.note{background:#fff4e5;padding:.4rem .6rem}"""


#: The curves checks record (``Context.record_curve``), translated where they are drawn; a run on another device
#: keeps its suffix (``loss (cuda)``).  Any other name is drawn as it is.
CURVES = (N_("loss"), N_("reference loss"), N_("discriminator loss"))


def curve_label(curve: str) -> str:
    base, bracket, rest = curve.partition(" (")
    return _(base) + bracket + rest if base in CURVES else curve


def _check_html(c: CheckResult) -> str:
    body = f'<li class="{escape(c.status)}">{MARK[c.status]} {escape(name(c.name))}'
    if c.status != "passed":
        body += f' <span class="meta">{escape(status_note(c))}</span>'
    for heading, text in details(c):
        body += (f'<div class="meta">{escape(heading)}:</div>' if heading else "") + f"<pre>{escape(text)}</pre>"
    if c.curves:
        curves = {curve_label(k): v for k, v in c.curves.items()}
        alt = _("{curves} curves of {check}").format(curves=", ".join(curves), check=name(c.name))
        chart = charts.data_uri(charts.lines(curves, title=name(c.name), xlabel=_("step")))
        body += f'<div><img alt="{escape(alt)}" src="{chart}"></div>'
    return body + "</li>"


def html(result: SubmissionResult, student: str) -> str:
    heading = _("Feedback for {student}").format(student=student)
    parts = [
        f'<!doctype html><html lang="{language().replace("_", "-")}"><head><meta charset="utf-8"><title>'
        f"{escape(heading)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(heading)}</h1>",
    ]
    if result.error:
        not_graded = _("This submission could not be graded:")
        parts.append(f'<div class="error"><b>{escape(not_graded)}</b><pre>{escape(clean(result.error))}</pre></div>')
    else:
        parts.append(f"<p><b>{escape(_score(result))}</b></p>")
    for e in result.exercises:
        parts.append(f'<h2 class="{escape(e.status)}">{escape(exercise_heading(e))}</h2>')
        parts += [f'<pre class="note">{escape(clean(note))}</pre>' for note in e.notes]
        parts.append("<ul>")
        parts += [_check_html(c) for c in e.checks]
        summary = hidden_summary(e)
        if summary:
            parts.append(f"<li class=\"meta\">{escape(summary)}</li>")
        parts.append("</ul>")
    summary = hidden_summary(result)
    if summary:
        overall = _("Overall, {summary}.").format(summary=summary)
        parts.append(f"<p>{escape(overall)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
