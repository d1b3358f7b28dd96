"""The class page, ``OUT/index.html``: one self-contained page an instructor reads at a glance.

The score histogram, per exercise the fractions of full, partial and zero marks, the most failed checks with an
anonymised example message and the exercise's hint, a table of students (sortable in the page, error rows on
top) linking to each ``feedback.html``, grading times, the settings the grade ran with, and the similarity
section.  The page loads nothing: charts are SVG ``data:`` images, the style and the few lines of script are
inline, and its Content-Security-Policy allows exactly those (by hash), so text that slipped through unescaped
could still not run.  Everything a student controls (names, messages, code) is escaped where it is written.
"""

from __future__ import annotations

import base64
import hashlib
import statistics
from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from grader.i18n import _
from grader.registry import Exercise
from grader.reporters import charts, gradebook, similarity_view
from grader.reporters.anonymous import anonymise, pattern
from grader.reporters.text import clean, one_line
from grader.reporters.view import points
from grader.results import Outcome

#: Failing checks listed at most, and the length of an example message.
TOP_FAILING, EXAMPLE_CHARS = 10, 800

_CSS = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}h4{margin:.8rem 0 .2rem}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left}
td.n,th.n{text-align:right}th button{font:inherit;font-weight:bold;background:none;border:0;padding:0;cursor:pointer}
th[aria-sort=ascending] button::after{content:" ▲"}th[aria-sort=descending] button::after{content:" ▼"}
tbody.errors td{background:#fdecea}pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;font-size:.8rem;
white-space:pre-wrap;margin:.2rem 0}mark{background:#ffe082}.meta{color:#666;font-size:.85rem}
.problem{color:#c62828}.sbs{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}img{max-width:100%}
details{margin:.4rem 0}summary{cursor:pointer}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dd{margin:0}"""

#: Sorts the students table on a click on its headings (the error rows stay on top: another tbody), and says
#: on the console when an image did not load (the browser test fails on it).
_SCRIPT = """document.querySelectorAll("table.sortable").forEach(function (table) {
  var body = table.tBodies[table.tBodies.length - 1];
  table.querySelectorAll("th button").forEach(function (button) {
    button.addEventListener("click", function () {
      var th = button.parentNode, col = th.cellIndex, up = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var key = function (row) { return row.cells[col].getAttribute("data-sort"); };
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
        var c = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
        return up ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
window.addEventListener("load", function () {
  document.querySelectorAll("img").forEach(function (img) {
    if (!img.complete || img.naturalWidth === 0) { console.error("deepgrade: an image did not load: " + img.alt); }
  });
});"""


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


#: Nothing but this page's own style, script and data: images.
CSP = (
    f"default-src 'none'; img-src data:; style-src {_hash(_CSS)}; script-src {_hash(_SCRIPT)}; "
    "base-uri 'none'; form-action 'none'"
)


# --------------------------------------------------------------------------- what the page counts
@dataclass
class Marks:
    """One exercise across the class: how many students got full, partial and zero marks (of ``graded``)."""

    exercise: Exercise
    full: int
    partial: int
    zero: int

    @property
    def graded(self) -> int:
        return self.full + self.partial + self.zero

    def fractions(self) -> tuple[float, float, float]:
        n = self.graded or 1
        return self.full / n, self.partial / n, self.zero / n


def grades(o: Outcome) -> dict[str, tuple[float, float, str]]:
    """Each exercise's (score, points at stake, status), computed once (results compute them on every access)."""
    return {e.id: (e.score, e.max_score, e.status) for e in o.result.exercises}


def marks(outcomes: list[Outcome], exercises: list[Exercise]) -> list[Marks]:
    """Per exercise (in the order given: the curriculum's).  A grader error counts nowhere (not a grade); a
    submission that could not be graded counts as zero; an exercise whose every check was skipped here, nowhere."""
    table = [grades(o) for o in outcomes if not o.internal]
    out = []
    for ex in exercises:
        m = Marks(ex, 0, 0, 0)
        for g in table:
            score, top, status = g.get(ex.id, (0.0, 1.0, "error"))
            if status == "grader_error" or top <= 0:
                continue
            if score >= top - 1e-9:
                m.full += 1
            elif score > 0:
                m.partial += 1
            else:
                m.zero += 1
        out.append(m)
    return out


@dataclass
class Failing:
    """A check students did not pass: how many, and one message from one of them without any name in it."""

    exercise: str
    check: str
    students: int
    example: str


def failing(outcomes: list[Outcome], *, publish_hidden: bool, top: int = TOP_FAILING) -> list[Failing]:
    """The ``top`` checks the most students did not pass.  The example is the commonest message among them (the
    one that names nobody where messages tie), cleaned and with every name of the class taken out
    (:mod:`grader.reporters.anonymous`); a hidden check's message is withheld as from the students unless the
    grade published them."""
    names = pattern(o.student for o in outcomes)
    worst = sorted(gradebook.failures(outcomes).items(), key=lambda item: -len(item[1]))[:top]
    out = []
    for (ex, check), who in worst:
        seen: Counter[str] = Counter()
        named: set[str] = set()
        for _o, c in who:
            if c.hidden and not publish_hidden:
                seen[
                    _("withheld, as from the students: a hidden check (records/<student>.json holds its messages)")
                ] += 1
                continue
            raw = clean(c.message, EXAMPLE_CHARS)
            text = anonymise(raw, names)
            seen[text] += 1
            if text != raw:
                named.add(text)
        example = min(seen, key=lambda t: (-seen[t], t in named, len(t)), default="")
        out.append(Failing(ex, check, len(who), example))
    return out


# --------------------------------------------------------------------------- pieces of the page
def feedback_link(student: str, *, linked: bool = True) -> str:
    """The student's name, escaped, linking to ``students/<name>/feedback.html`` (relative: works from disk)."""
    name = clean(student, 200)  # names from grade are safe file names (unchanged); a hand-edited file's need not be
    if not linked:
        return escape(name)
    return f'<a href="students/{escape(quote(name, safe="", errors="replace"))}/feedback.html">{escape(name)}</a>'


def _td(text: str, sort: object, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<td{klass} data-sort="{escape(str(sort))}">{text}</td>'


def _seconds(x: float) -> str:
    return f"{x:.1f}"


def _student_row(o: Outcome, total: float, full: int, count: int, top: float) -> str:
    """A grader error has no score (not a 0) and no feedback; the maximum is the gradebook's (every exercise's
    points), so the percentage is the one a spreadsheet of gradebook.csv computes."""
    r = o.result
    error = one_line(gradebook.error_text(o)) if (o.internal or r.error) else ""
    score = "" if o.internal else points(total)
    pct = "" if o.internal or not top else f"{100 * total / top:.0f}"
    cells = [
        _td(feedback_link(o.student, linked=not o.internal), clean(o.student, 200)),
        _td(escape(score), score if score else -1, "n score"),
        _td("" if o.internal else escape(points(top)), top, "n"),
        _td(escape(pct), pct if pct else -1, "n"),
        _td("" if o.internal else f"{full}/{count}", -1 if o.internal else full, "n"),
        _td(_seconds(o.seconds), o.seconds, "n time"),
        _td(escape(error), error),
    ]
    return f'<tr data-student="{escape(clean(o.student, 200))}">' + "".join(cells) + "</tr>"


def students_table(outcomes: list[Outcome], exercises: list[Exercise]) -> str:
    ids = {e.id for e in exercises}
    heads = [
        (_("student"), ""),
        (_("score"), "n"),
        (_("of"), "n"),
        (_("%"), "n"),
        (_("exercises with full marks"), "n"),
        (_("seconds"), "n"),
        (_("problem"), ""),
    ]
    head = "".join(f'<th class="{c}"><button type="button">{escape(h)}</button></th>' for h, c in heads)
    errors: list[str] = []
    rows: list[str] = []
    for o in outcomes:
        g = grades(o)
        full = sum(1 for i, (score, top, _s) in g.items() if i in ids and 0 < top <= score + 1e-9)
        total = round(sum(score for score, _t, _s in g.values()), 4)  # as SubmissionResult.score
        row = _student_row(o, total, full, len(exercises), sum(e.points for e in exercises))
        (errors if o.internal or o.result.error else rows).append(row)
    return (
        f'<table class="sortable" id="students"><thead><tr>{head}</tr></thead>'
        f'<tbody class="errors">{"".join(errors)}</tbody><tbody>{"".join(rows)}</tbody></table>'
    )


def _summary(outcomes: list[Outcome], max_score: float) -> str:
    scores = [o.result.score for o in outcomes if not o.internal and not o.result.error]
    facts = [
        (_("students"), str(len(outcomes))),
        (_("graded"), str(len(scores))),
        (
            _("could not be graded (the submission's fault)"),
            str(sum(bool(o.result.error) and not o.internal for o in outcomes)),
        ),
        (_("grader errors (not a grade; grade again to retry)"), str(sum(o.internal for o in outcomes))),
        (_("maximum score"), points(max_score)),
    ]
    if scores:
        facts += [
            (_("mean score"), f"{statistics.fmean(scores):.2f}"),
            (_("median score"), points(statistics.median(scores))),
        ]
    return _facts("summary", facts)


def _facts(ident: str, facts: list[tuple[str, str]]) -> str:
    body = "".join(f'<dt>{escape(k)}</dt><dd data-fact="{escape(k)}">{escape(v)}</dd>' for k, v in facts)
    return f'<dl id="{ident}">{body}</dl>'


def _settings(run: dict[str, Any] | None, outcomes: list[Outcome]) -> str:
    total = sum(o.seconds for o in outcomes)
    if not run:
        facts = [(_("settings"), _("not recorded: this gradebook was made by an older deepgrade"))]
    else:
        hidden = run.get("hidden") or {}
        level = f"{run.get('isolation_level', '?')}" + (" (auto)" if run.get("isolation") == "auto" else "")
        shown = _("shown to students by name") if hidden.get("published") else _("only their count shown to students")
        facts = [
            (_("deepgrade version"), str(run.get("deepgrade", "?"))),
            (_("isolation"), level),
            (
                _("hidden checks"),
                _("run; {shown}; course secret {secret}").format(shown=shown, secret=hidden.get("secret", "?")),
            ),
            (_("examples per property"), str(run.get("examples", "?"))),
            (_("forbidden-import penalty"), str(run.get("forbidden_penalty", "?"))),
            (_("submission timeout"), str(run.get("submission_timeout") or _("none"))),
            (_("last grade finished"), str(run.get("finished") or _("stopped before the end"))),
        ]
        if run.get("wall_seconds") is not None:
            facts.append(
                (
                    _("last grade's wall time"),
                    _("{s} s ({graded} graded, {cached} up to date)").format(
                        s=_seconds(float(run["wall_seconds"])),
                        graded=run.get("graded", 0),
                        cached=run.get("up_to_date", 0),
                    ),
                )
            )
    facts.append((_("grading time, all students"), _("{s} s (the sum of each student's)").format(s=_seconds(total))))
    return _facts("settings", facts)


def _charts(outcomes: list[Outcome], exercises: list[Exercise], max_score: float, per_exercise: list[Marks]) -> str:
    bands = gradebook.distribution(outcomes, max_score, bins=10)
    hist = charts.histogram(bands)
    band_rows = "".join(f"<tr><td>{escape(b)}</td><td class=\"n\">{n}</td></tr>" for b, n in bands)
    legend = (_("full marks"), _("partial"), _("zero"))
    bars = charts.stacked([(m.exercise.id, m.fractions()) for m in per_exercise], legend)
    ex_rows = "".join(
        f'<tr data-exercise="{escape(m.exercise.id)}"><td>{escape(m.exercise.id)}</td>'
        f"<td>{escape(m.exercise.title)}</td>"
        f'<td class="n">{m.full}</td><td class="n">{m.partial}</td><td class="n">{m.zero}</td></tr>'
        for m in per_exercise
    )
    heads = "".join(f"<th>{escape(h)}</th>" for h in (_("exercise"), _("title"), *legend))
    return (
        f'<h2>{escape(_("Scores"))}</h2><img id="histogram" alt="{escape(_("histogram of the scores"))}" '
        f'src="{charts.data_uri(hist)}"><details><summary>{escape(_("the numbers"))}</summary>'
        f'<table id="bands"><tbody>{band_rows}</tbody></table></details>'
        f'<h2>{escape(_("Where the class is stuck"))}</h2><img id="marks" '
        f'alt="{escape(_("full, partial and zero marks per exercise"))}" src="{charts.data_uri(bars)}">'
        f'<details><summary>{escape(_("the numbers"))}</summary><table id="exercises"><thead><tr>{heads}</tr></thead>'
        f"<tbody>{ex_rows}</tbody></table></details>"
    )


def _failing_html(worst: list[Failing]) -> str:
    if not worst:
        return f'<h2>{escape(_("Most failed checks"))}</h2><p>{escape(_("Every attempted check passed."))}</p>'
    rows = "".join(
        f'<tr data-check="{escape(f.exercise)}: {escape(f.check)}"><td>{escape(f.exercise)}</td>'
        f"<td>{escape(f.check)}</td>"
        f'<td class="n">{f.students}</td><td><a href="#hint-{escape(f.exercise)}">{escape(_("hint"))}</a></td>'
        f"<td><pre>{escape(f.example)}</pre></td></tr>"
        for f in worst
    )
    heads = "".join(f"<th>{escape(h)}</th>" for h in (_("exercise"), _("check"), _("students"), "", _("example")))
    return (
        f'<h2>{escape(_("Most failed checks"))}</h2><p class="meta">'
        f'{escape(_("Each with one of its messages; names of students are replaced by <student>."))}</p>'
        f'<table id="failing"><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>'
    )


def _hints_html(worst: list[Failing], exercises: list[Exercise]) -> str:
    wanted = {f.exercise for f in worst}
    parts = [f'<h2>{escape(_("Hints"))}</h2>']
    for e in exercises:
        if e.id not in wanted:
            continue
        where = _("Write: {functions} in {part}.py").format(functions=", ".join(e.functions), part=e.part)
        if e.seed:
            where += " " + _("(tutorial § {section})").format(section=e.seed)
        parts.append(
            f'<div id="hint-{escape(e.id)}"><h4>{escape(e.id)} — {escape(e.title)}</h4><p>{escape(e.hint)}</p>'
            f'<p class="meta">{escape(where)} · deepgrade hint {escape(e.id)}</p></div>'
        )
    return "".join(parts)


# --------------------------------------------------------------------------- the page
def page(
    outcomes: list[Outcome],
    exercises: list[Exercise],
    *,
    run: dict[str, Any] | None = None,
    similarity: str | similarity_view.Malformed | None = None,
) -> str:
    """The whole page.  ``run``: the settings the grade ran with (``OUT/run.json``), None if not recorded;
    ``similarity``: what :func:`grader.reporters.similarity_view.read` returned (None: there is none)."""
    max_score = sum(e.points for e in exercises)
    publish = bool(((run or {}).get("hidden") or {}).get("published"))
    worst = failing(outcomes, publish_hidden=publish)
    title = _("Class report")
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        _summary(outcomes, max_score),
        _charts(outcomes, exercises, max_score, marks(outcomes, exercises)),
        _failing_html(worst),
        f'<h2>{escape(_("Students"))}</h2><p class="meta">'
        f'{escape(_("Click a heading to sort. Submissions that could not be graded come first."))}</p>',
        students_table(outcomes, exercises),
        similarity_view.section(similarity, feedback_link),
        _hints_html(worst, exercises),
        f'<h2>{escape(_("How this grade was made"))}</h2>',
        _settings(run, outcomes),
        f"<script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)
