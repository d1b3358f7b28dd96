"""The terminal report: a rich table with progress, then each failing exercise's first failure.

Names and text are never read as rich markup (a check named "x [hidden]" shows as such), and text from the
worker is cleaned (``grader.reporters.text.clean``: no terminal escape sequences)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.i18n import _, name
from grader.reporters.text import clean
from grader.reporters.view import MARK, details, hidden_summary, points, status, status_note, title
from grader.results import ExerciseResult, SubmissionResult

STYLE = {
    "passed": "green",
    "failed": "red",
    "error": "magenta",
    "timeout": "magenta",
    "not_implemented": "yellow",
    "skipped": "dim",
    "grader_error": "bold red",
}


def table(result: SubmissionResult) -> Table:
    t = Table(title=Text(f"deepgrade — {result.submission}"), title_justify="left", expand=False)
    # an exercise id is what the student types next (`deepgrade hint <id>`): never cut it
    t.add_column(_("exercise"), no_wrap=True, min_width=max((len(e.id) for e in result.exercises), default=8))
    t.add_column(_("title"), overflow="fold")
    t.add_column(_("status"), no_wrap=True)
    t.add_column(_("checks"), justify="right", no_wrap=True)
    t.add_column(_("points"), justify="right", no_wrap=True)
    for e in result.exercises:
        passed = sum(c.status == "passed" for c in e.checks)
        # a skipped exercise's points are not at stake here, but they are in the official grade: not "0/0"
        shown = (
            f"–/{points(sum(c.max_score for c in e.checks))}"
            if e.status == "skipped"
            else f"{points(e.score)}/{points(e.max_score)}"
        )
        t.add_row(
            Text(e.id),
            Text(title(e)),
            Text(f"{MARK[e.status]} {status(e.status)}", style=STYLE[e.status]),
            f"{passed}/{len(e.checks)}",
            shown,
        )
    done = sum(e.status == "passed" for e in result.exercises)
    t.caption = _("{done}/{total} exercises passed · {score}/{max_score} points").format(
        done=done, total=len(result.exercises), score=points(result.score), max_score=points(result.max_score)
    )
    not_checked = sum(c.max_score for e in unchecked(result) for c in e.checks)
    if not_checked:
        t.caption += " · " + _("{points} points not checked here").format(points=points(not_checked))
    if hidden_summary(result):
        t.caption += f" · {hidden_summary(result)}"
    return t


def failure_panel(e: ExerciseResult) -> Panel | None:
    first = e.first_failure()
    if first is None:
        return None
    body = Text(f"{name(first.name)}  {status_note(first)}\n", style="bold")
    for heading, text in details(first):
        if heading:
            body.append(f"\n--- {heading} ---\n", style="dim")
        body.append(text)
    return Panel(body, title=Text(f"{e.id} — {title(e)}"), title_align="left", border_style=STYLE[e.status])


def unchecked(result: SubmissionResult) -> list[ExerciseResult]:
    """Exercises that were not checked here (a package they need is missing): not passed, and the official
    grade counts their points."""
    return [e for e in result.exercises if e.status == "skipped"]


def flagged(result: SubmissionResult) -> list[ExerciseResult]:
    """Exercises with a policy note (a forbidden import): ``check`` only warns, the official grade does not."""
    return [e for e in result.exercises if e.notes]


def official_penalty() -> str:
    """What ``deepgrade grade`` does to an exercise with a forbidden import, in words."""
    from grader.isolation.policy import GRADE_PENALTY

    return (
        _("scores 0") if GRADE_PENALTY >= 1 else _("loses {share} of its points").format(share=f"{GRADE_PENALTY:.0%}")
    )


def warnings(result: SubmissionResult) -> list[str]:
    """Plain-text lines for what ``check`` did not hold against the student but the official grade will."""
    lines = []
    for e in unchecked(result):
        first = next((c for c in e.checks if c.message), None)
        why = first.message.removeprefix(_("skipped: ")).removeprefix("skipped: ") if first else status("skipped")
        lines.append(
            _("{id} was not checked ({why}); the official grade counts its {points} points.").format(
                id=e.id, why=why, points=points(sum(c.max_score for c in e.checks))
            )
        )
    for e in flagged(result):
        if not e.penalty:
            lines.append(
                _(
                    "{id}: with this import the official grade (`deepgrade grade`) {penalty} for this exercise; "
                    "remove it."
                ).format(id=e.id, penalty=official_penalty())
            )
    return lines


def next_up(result: SubmissionResult) -> str:
    """What the student should work on next: the first exercise in curriculum order that is not done.
    "Well done" only when everything was checked, passed and breaks no rule."""
    todo = [e for e in result.exercises if e.status not in ("passed", "skipped")]
    if todo:
        e = todo[0]
        return escape(_("Next: {id} ({title}) — `deepgrade hint {id}` for a hint.").format(id=e.id, title=title(e)))
    waiting = unchecked(result) + [e for e in flagged(result) if e not in unchecked(result)]
    if waiting:
        return escape(_("Not done yet: {ids} (see above).").format(ids=", ".join(e.id for e in waiting)))
    return escape(_("All selected exercises pass. Well done!"))


def print_report(result: SubmissionResult, console: Console | None = None, *, failures: int = 99) -> None:
    console = console or Console()
    if result.error:
        label = _("error:")
        console.print(f"[red]{escape(label)}[/red] {escape(clean(result.error))}")
    console.print(table(result))
    for e in result.exercises:
        for note in e.notes:
            console.print(
                f"[yellow]{escape(e.id)}:[/yellow] {escape(clean(note))}"
                + (f" (−{e.penalty:.0%})" if e.penalty else "")
            )
    for line in warnings(result):
        console.print(f"[yellow]{escape(line)}[/yellow]")
    shown = 0
    for e in result.exercises:
        panel = failure_panel(e) if e.status not in ("not_implemented", "skipped") else None
        if panel is not None and shown < failures:
            console.print(panel)
            shown += 1
    console.print(next_up(result))
