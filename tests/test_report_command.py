"""deepgrade report DIR: the class page and the gradebook files again from the saved grades, without grading;
a folder that is not a gradebook is one line and exit status 2."""

from __future__ import annotations

import json

import pytest

from grader import registry
from grader.cli import main
from grader.instructor import batch
from tests.htmldom import parse
from tests.reportkit import save_class, synthetic_class

EXERCISES = registry.select(["neuron", "losses"])
FILES = ("index.html", "gradebook.csv", "gradebook.json")


def _no_grading(*args, **kwargs):
    raise AssertionError("report graded something")


def test_report_rebuilds_the_page_and_the_gradebook_from_the_saved_grades(tmp_path, monkeypatch, capsys):
    save_class(tmp_path, synthetic_class(30, EXERCISES), EXERCISES)
    before = {name: (tmp_path / name).read_text() for name in FILES}
    for name in FILES:
        (tmp_path / name).unlink()
    monkeypatch.setattr(batch, "grade_one", _no_grading)
    monkeypatch.setattr(batch, "run_batch", _no_grading)
    assert main(["report", str(tmp_path)]) == 0
    assert {name: (tmp_path / name).read_text() for name in FILES} == before
    assert str(tmp_path / "index.html") in capsys.readouterr().out


def test_a_student_without_a_saved_grade_is_an_error_row(tmp_path):
    save_class(tmp_path, synthetic_class(5, EXERCISES), EXERCISES)
    batch.record_path(tmp_path, "student002").unlink()  # a grade stopped before this student
    assert main(["report", str(tmp_path)]) == 0
    errors = parse((tmp_path / "index.html").read_text()).by_id("students").all("tbody")[0]
    row = next(tr for tr in errors.all("tr") if tr.attr("data-student") == "student002")
    assert "not graded yet" in row.text
    book = {s["student"]: s for s in json.loads((tmp_path / "gradebook.json").read_text())["students"]}
    assert book["student002"]["grader_error"] and book["student002"]["total"] is None


def test_a_gradebook_from_before_run_json_gets_its_page_too(tmp_path):
    outcomes = synthetic_class(30, EXERCISES)
    save_class(tmp_path, outcomes, EXERCISES)
    (tmp_path / batch.RUN).unlink()
    assert main(["report", str(tmp_path)]) == 0
    doc = parse((tmp_path / "index.html").read_text())
    assert "not recorded" in doc.by_id("settings").text
    rows = [tr.attr("data-student") for tr in doc.by_id("students").all("tr") if "data-student" in tr.attrs]
    assert sorted(rows) == sorted(o.student for o in outcomes)
    errors = {tr.attr("data-student") for tr in doc.by_id("students").all("tbody")[0].all("tr")}
    assert errors == {o.student for o in outcomes if o.internal or o.result.error}


def _run_json(tmp_path, **changes):
    save_class(tmp_path, synthetic_class(3, EXERCISES), EXERCISES)
    run = json.loads((tmp_path / batch.RUN).read_text())
    run.update(changes)
    (tmp_path / batch.RUN).write_text(json.dumps(run))
    return tmp_path


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p / "nowhere", "is not a folder"),
        (lambda p: (p / "file").write_text("x") and p / "file", "is not a folder"),
        (lambda p: p, "is not a gradebook"),
        (lambda p: (p / "run.json").write_text("{") and p, "is not a gradebook"),
        (lambda p: (p / "gradebook.json").write_text("{") and p, "gradebook.json cannot be read"),
        (lambda p: _run_json(p, exercises=["neuron.nope"]), "unknown exercise 'neuron.nope'"),
        (lambda p: _run_json(p, students="all"), "has no list of students"),
        (lambda p: _run_json(p, students=["../../etc"]), "unsafe student name"),
    ],
)
def test_a_folder_that_is_not_a_gradebook_is_one_line_and_status_2(tmp_path, capsys, make, says):
    folder = make(tmp_path)
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepgrade: error: ") and says in err and err.count("\n") == 1, err


def test_a_grade_with_everything_up_to_date_still_writes_the_gradebook_and_the_page(tmp_path):
    from grader.instructor.submissions import discover
    from tests.batchkit import EXAMPLES, ONLY, complete

    complete(tmp_path / "class" / "alice")
    out = tmp_path / "out"
    grade = lambda: batch.run_batch(  # noqa: E731
        discover([str(tmp_path / "class")]), out, registry.select(ONLY), examples=EXAMPLES, jobs=1
    )
    grade()
    for name in FILES:
        (out / name).unlink()
    assert all(o.cached for o in grade())
    assert all((out / name).is_file() for name in FILES)
    run = json.loads((out / batch.RUN).read_text())
    assert (run["graded"], run["up_to_date"]) == (0, 1) and run["finished"]
