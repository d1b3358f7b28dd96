"""deepgrade grade: grade a class of submissions into a gradebook (resumable, parallel)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from grader import registry
from grader import secret as course_secret
from grader.commands import UsageError
from grader.commands._common import add_examples, add_isolation, add_lang, check_environment, isolation_options
from grader.i18n import N_, _
from grader.instructor import batch, report, similarity
from grader.instructor.submissions import Submission, discover
from grader.isolation.policy import GRADE_PENALTY
from grader.reporters import gradebook
from grader.reporters.text import one_line
from grader.stopping import Stopped

NAME, HELP, ORDER = "grade", N_("grade many submissions (folders or zips) into a gradebook"), 25


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "submissions", nargs="+", metavar="SUBMISSION", help=_("a student's folder or .zip, or a folder of them")
    )
    p.add_argument("--out", required=True, metavar="DIR", help=_("where the gradebook and feedback go"))
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help=_("submissions graded at once (default: the cores available, here {jobs})").format(
            jobs=batch.default_jobs()
        ),
    )
    p.add_argument("--force", action="store_true", help=_("re-grade everything, even what is up to date"))
    add_isolation(p, "auto")
    p.add_argument(
        "--publish-hidden",
        action="store_true",
        help=_("show hidden checks by name in the feedback (default: only a count)"),
    )
    p.add_argument(
        "--forbidden-penalty",
        type=float,
        default=GRADE_PENALTY,
        metavar="F",
        help=_("fraction of an exercise's points a forbidden import costs (default {penalty})").format(
            penalty=f"{GRADE_PENALTY:g}"
        ),
    )
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="EXERCISE|PART",
        help=_("grade only these exercises or parts (repeatable; default: all)"),
    )
    add_examples(p, 25)
    p.add_argument(
        "--executor",
        choices=batch.EXECUTORS,
        default="processes",
        help=_("processes on this machine (default), or a Dask cluster (with --scheduler)"),
    )
    p.add_argument("--scheduler", metavar="ADDRESS", help=_("the Dask scheduler, e.g. tcp://10.0.0.5:8786"))
    p.add_argument("--student", metavar="NAME", help=_("the one SUBMISSION is this student's (Gradescope)"))
    p.add_argument("--quiet", action="store_true", help=_("no progress bar and no summary"))
    add_lang(p)
    p.add_argument(
        "--similarity-threshold",
        type=float,
        default=similarity.DEFAULT_THRESHOLD,
        metavar="F",
        help=_(
            "flag pairs of students when either one's code is at least this fraction shared with the other's, "
            "in DIR/{file} (default {threshold})"
        ).format(file=similarity.FILE_NAME, threshold=f"{similarity.DEFAULT_THRESHOLD:g}"),
    )
    p.add_argument(
        "--no-similarity",
        action="store_true",
        help=_("compare no submissions (and remove DIR/{file})").format(file=similarity.FILE_NAME),
    )
    p.add_argument(
        "--secret-file",
        metavar="PATH",
        help=_(
            "the course secret that seeds the hidden checks (default: $DEEPGRADE_SECRET, "
            "$DEEPGRADE_SECRET_FILE, else ~/.config/deepgrade/secret, made on first use)"
        ),
    )


def summary(outcomes: list[batch.Outcome], max_score: float) -> Table:
    t = Table(title="class summary", title_justify="left")
    t.add_column("score band")
    t.add_column("students", justify="right")
    for band, n in gradebook.distribution(outcomes, max_score):
        t.add_row(band, f"{n} " + "█" * n)
    return t


def stats_line(outcomes: list[batch.Outcome], max_score: float) -> str:
    scores = sorted(o.result.score for o in outcomes if not o.internal)  # a grader error is not a 0
    if not scores:
        return "no students"
    mean = sum(scores) / len(scores)
    return (
        f"{len(scores)} students · mean {mean:.1f}/{max_score:g} · median {scores[len(scores) // 2]:g} · "
        f"{sum(bool(o.result.error) and not o.internal for o in outcomes)} not gradable · "
        f"{sum(o.internal for o in outcomes)} grader errors"
    )


def failed_table(outcomes: list[batch.Outcome]) -> Table | None:
    worst = gradebook.most_failed(outcomes)
    if not worst:
        return None
    t = Table(title="most-failed checks", title_justify="left")
    t.add_column("check")
    t.add_column("students", justify="right")
    for name, n in worst:
        t.add_row(Text(name), str(n))  # not markup: "x [hidden]" stays as it is
    return t


def similar(subs: list[Submission], out: Path, args: argparse.Namespace) -> str | None:
    """Compare every submission of the batch (graded now or before) into ``out/similarity.json``; a line to show.
    With ``--no-similarity`` an old file is removed: it would describe another batch."""
    if args.no_similarity:
        (out / similarity.FILE_NAME).unlink(missing_ok=True)
        return None
    found = similarity.write(subs, out, args.similarity_threshold)
    n, kept = found.flagged, len(found.document["pairs"])
    lines = [
        f"similarity: {n} pair{'s' * (n != 1)} of students share at least {args.similarity_threshold:.0%} of their "
        f"code ({found.document['tool']})"
        + (f"; the {kept} most similar are kept" if kept < n else "")
        + f": {out / similarity.FILE_NAME}"
    ]
    lines += [f"similarity: {name} left out: {'; '.join(why)}" for name, why in found.skipped.items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not 0.0 <= args.forbidden_penalty <= 1.0:
        raise UsageError("--forbidden-penalty must be between 0 and 1")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    isolation_options(args)  # a level this machine cannot give, or a bad timeout: one line, exit 2
    if not 0.0 < args.similarity_threshold <= 1.0:
        raise UsageError("--similarity-threshold must be above 0 and at most 1")
    if args.executor == "dask" and not args.scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS")
    exercises = registry.select(args.only)
    check_environment(exercises)
    try:
        secret = course_secret.load(args.secret_file)
    except course_secret.SecretError as exc:
        raise UsageError(str(exc)) from None
    if args.isolation == "process":  # the worker is this user, with this environment: nothing can hide
        print(
            "deepgrade: warning: --isolation process runs student code as you: it can read the course secret "
            "(so the hidden checks' inputs) and solutions/",
            file=sys.stderr,
        )
    try:
        subs = discover(args.submissions, student=args.student)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    console = Console(stderr=True)
    show = not args.quiet
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("·"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    counts = {"graded": 0, "up to date": 0, "not gradable": 0, "grader error": 0}
    with Progress(*columns, console=console, transient=False, disable=not show) as bar:
        task = bar.add_task("grading", total=len(subs))

        def describe() -> str:
            return " · ".join(f"{n} {k}" for k, n in counts.items() if n) or "grading"

        def on_plan(total: int, cached: int) -> None:
            counts["up to date"] = cached
            bar.update(task, completed=cached, description=describe())
            bar.reset(task, total=total - cached, description=describe())

        kept_now = [0]

        def on_result(o: batch.Outcome) -> None:
            kept_now[0] += not o.internal  # an internal failure is not saved
            counts["grader error" if o.internal else "not gradable" if o.result.error else "graded"] += 1
            bar.update(task, advance=1, description=describe())

        try:
            outcomes = batch.run_batch(
                subs,
                out,
                exercises,
                examples=args.examples,
                jobs=args.jobs,
                executor=args.executor,
                scheduler=args.scheduler,
                isolation=args.isolation,
                force=args.force,
                publish_hidden=args.publish_hidden,
                forbidden_penalty=args.forbidden_penalty,
                submission_timeout=args.submission_timeout,
                secret=secret,
                on_plan=on_plan,
                on_result=on_result,
                class_page=False,  # written below, once the similarity flags are in
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        except Stopped as exc:  # every grade finished so far is on disk; a re-run grades the rest
            kept = counts["up to date"] + kept_now[0]
            exc.note = f"{kept} graded submission{'s' * (kept != 1)} kept in {out}, {len(subs) - kept} to go"
            raise
    flags = similar(subs, out, args)
    report.write(out, outcomes, exercises, batch.load_run(out))
    if show:
        console.print(summary(outcomes, sum(e.points for e in exercises)))
        console.print(stats_line(outcomes, sum(e.points for e in exercises)))
        table = failed_table(outcomes)
        if table is not None:
            console.print(table)
        for o in outcomes:
            if o.result.error:
                console.print(f"[red]{escape(o.student)}[/red]: {escape(one_line(o.result.error))}")
        if flags is not None:
            console.print(escape(flags))
        console.print(
            escape(
                f"class report: {out / batch.INDEX} · gradebook: {out / 'gradebook.csv'} · feedback: "
                f"{out / batch.STUDENTS}/<student>/feedback.html · records: {out / batch.RECORDS}/"
            )
        )
    failed = sum(o.internal for o in outcomes)
    if failed:  # even with --quiet: these are not grades
        console.print(
            escape(
                f"deepgrade: {failed} submission{'s' * (failed != 1)} hit grader failures (not the "
                "students' fault; no grade recorded); re-running the same command retries them"
            )
        )
    return 1 if failed else 0
