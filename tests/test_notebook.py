"""Notebooks from the one source: cells agree with solutions/ and assignments/, extraction by grade_id,
notebook submissions through `deepgrade check`, and the autograder cell's body."""

from __future__ import annotations

import ast
import json
import re

import pytest

from grader import cli, registry
from grader.instructor.build import strip_solutions
from grader.notebooks.course import FORMULAS, autograder_source, notebook, split_solution, write_course
from grader.notebooks.extract import assert_passes, autograder_id, cell_id, extract, extract_notebooks, module_source
from grader.reference import ASSIGNMENTS, SOLUTIONS
from grader.registry import PARTS, Check, Exercise

nbformat = pytest.importorskip("nbformat", reason="notebooks need nbformat: pip install -e '.[notebook]'")

BUILT = [p for p in PARTS if (SOLUTIONS / f"{p}.py").is_file()]


def _lines(code: str) -> list[str]:
    return [line.rstrip() for line in code.splitlines() if line.strip()]


def _body(path) -> str:
    """A module's text after its docstring."""
    source = path.read_text()
    first = ast.parse(source).body[0]
    return "\n".join(source.splitlines()[first.end_lineno :]) if isinstance(first, ast.Expr) else source


def _cells(nb) -> dict[str, str]:
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if c.cell_type == "code"}


@pytest.fixture(scope="module")
def neuron_nb():
    return notebook("neuron", (SOLUTIONS / "neuron.py").read_text())


@pytest.mark.parametrize("part", BUILT)
def test_solution_cells_are_the_solutions_file(part):
    nb = notebook(part, (SOLUTIONS / f"{part}.py").read_text())
    code, lacking = module_source(_cells(nb), part)
    assert lacking == []
    assert _lines(code) == _lines(_body(SOLUTIONS / f"{part}.py"))
    doc = ast.get_docstring(ast.parse((SOLUTIONS / f"{part}.py").read_text())) or ""
    assert doc.splitlines()[-1].strip() in nb.cells[0].source  # the part's docstring teaches the part


@pytest.mark.parametrize("part", BUILT)
def test_stripped_notebook_is_the_assignment(part):
    nb = notebook(part, (SOLUTIONS / f"{part}.py").read_text())
    code, _ = module_source(_cells(nb), part)
    assert _lines(strip_solutions(code, part)) == _lines(_body(ASSIGNMENTS / f"{part}.py"))


def test_neuron_notebook_teaches_the_seed_formulas(neuron_nb):
    text = "\n".join(c.source for c in neuron_nb.cells if c.cell_type == "markdown")
    assert r"\sum_{i=1}^{n} w_i x_i + b" in text and r"\frac{\partial L}{\partial w_i}" in text
    assert len(FORMULAS["neuron"]) == text.count("$$") // 2


@pytest.mark.parametrize("part", BUILT)
def test_notebook_cells_and_metadata(part):
    nb = notebook(part, (SOLUTIONS / f"{part}.py").read_text())
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells}
    exercises = [e for e in registry.all_exercises() if e.part == part]
    for ex in exercises:
        sol, test = by_id[cell_id(ex)], by_id[autograder_id(ex)]
        assert sol.metadata["nbgrader"] == {
            "grade": False,
            "grade_id": cell_id(ex),
            "locked": False,
            "schema_version": 3,
            "solution": True,
        }
        assert "### BEGIN SOLUTION" in sol.source and "### END SOLUTION" in sol.source
        for f in ex.functions:
            assert re.search(rf"(def|class) {re.escape(f.split('.')[-1])}\b", sol.source), f
        meta = test.metadata["nbgrader"]
        assert (meta["grade"], meta["locked"], meta["solution"], meta["points"]) == (True, True, False, ex.points)
        assert f'assert_passes("{ex.id}")' in test.source
        assert ex.hint in text and ex.title in text
    assert sum(c.metadata["nbgrader"].get("points", 0) for c in nb.cells) == sum(e.points for e in exercises)


def test_methods_of_one_class_share_one_cell():
    by_class = {}
    for ex in registry.all_exercises():
        for f in ex.functions:
            by_class.setdefault((ex.part, f.split(".")[0]), set()).add(cell_id(ex))
    assert all(len(ids) == 1 for ids in by_class.values()), by_class


def test_hidden_checks_go_between_hidden_test_markers():
    ex = Exercise("neuron.fake", "fake", 1.0, ("f",))
    assert "HIDDEN TESTS" not in autograder_source(ex)
    ex.add(Check("secret", lambda ctx: None, "invariant", hidden=True))
    src = autograder_source(ex)
    begin, end = src.index("### BEGIN HIDDEN TESTS"), src.index("### END HIDDEN TESTS")
    assert 'assert_passes("neuron.fake", hidden=True)' in src[begin:end]
    assert 'hidden=True' not in src[:begin]


def test_module_level_solution_block_is_refused():
    src = '"""doc"""\nimport numpy as np\n### BEGIN SOLUTION\ndef _h():\n    return 1\n### END SOLUTION\n'
    with pytest.raises(ValueError, match="module-level solution block"):
        split_solution(src, "neuron")


def test_cli_writes_a_course(tmp_path, capsys):
    assert cli.main(["nbgrader", str(tmp_path), "--part", "neuron"]) == 0
    nb = tmp_path / "source" / "neuron" / "neuron.ipynb"
    assert str(nb) in capsys.readouterr().out
    assert "course_id = 'deepgrade'" in (tmp_path / "nbgrader_config.py").read_text()
    nbformat.validate(nbformat.read(str(nb), as_version=4))
    assert sorted(p.name for p in (tmp_path / "source").iterdir()) == ["neuron"]


def test_cli_nbgrader_refuses_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    assert cli.main(["nbgrader", str(tmp_path / "f")]) == 2
    assert "not a folder" in capsys.readouterr().err


def _save(nb, path):
    nbformat.write(nb, str(path))
    return path


def test_extract_finds_cells_by_grade_id_not_position(neuron_nb, tmp_path):
    nb = nbformat.from_dict(json.loads(json.dumps(neuron_nb)))
    assert extract([_save(nb, tmp_path / "a.ipynb")], tmp_path / "a") == []
    nb.cells.reverse()
    assert extract([_save(nb, tmp_path / "b.ipynb")], tmp_path / "b") == []
    assert (tmp_path / "a" / "neuron.py").read_text() == (tmp_path / "b" / "neuron.py").read_text()


def test_extract_reports_deleted_and_renamed_cells(neuron_nb, tmp_path):
    nb = nbformat.from_dict(json.loads(json.dumps(neuron_nb)))
    nb.cells = [c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] != "neuron_relu"]
    next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "neuron_tanh").metadata["nbgrader"][
        "grade_id"
    ] = "my_tanh"
    found = extract_notebooks([_save(nb, tmp_path / "neuron.ipynb")], tmp_path / "out")
    assert found.missing == {
        "neuron.relu": "the cell with grade_id neuron_relu is missing",
        "neuron.tanh": "the cell with grade_id neuron_tanh is missing",
    }
    assert all("neuron.ipynb" in m for m in found.messages) and len(found.messages) == 2
    assert "def sigmoid_forward" in (tmp_path / "out" / "neuron.py").read_text()


def test_extract_reports_unreadable_and_foreign_notebooks(tmp_path):
    (tmp_path / "broken.ipynb").write_text("{not json")
    _save(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), tmp_path / "mine.ipynb")
    messages = extract([tmp_path / "broken.ipynb", tmp_path / "mine.ipynb"], tmp_path / "out")
    assert "broken.ipynb: not a readable notebook" in messages[0]
    assert "mine.ipynb: no deepgrade cells" in messages[1]


def test_check_grades_a_notebook_and_names_missing_cells(neuron_nb, tmp_path, capsys):
    nb = nbformat.from_dict(json.loads(json.dumps(neuron_nb)))
    nb.cells = [c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] != "neuron_sigmoid"]
    path = _save(nb, tmp_path / "neuron.ipynb")
    assert (
        cli.main(["check", "neuron.sigmoid", "neuron.relu", "--submission", str(path), "--json", "--examples", "3"])
        == 1
    )
    out = capsys.readouterr()
    doc = json.loads(out.out)
    sigmoid, relu = doc["exercises"]
    assert relu["status"] == "passed" and relu["score"] == relu["max_score"] > 0
    assert sigmoid["status"] == "error" and sigmoid["score"] == 0
    assert {c["message"] for c in sigmoid["checks"]} == {"the cell with grade_id neuron_sigmoid is missing"}
    assert "neuron_sigmoid is missing" in out.err


def test_check_grades_a_folder_of_notebooks(tmp_path, capsys):
    written, _ = write_course(tmp_path / "course", SOLUTIONS, ["neuron"])
    assert (
        cli.main(["check", "neuron.softmax", "--submission", str(written[0].parent), "--json", "--examples", "3"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["score"] == registry.get("neuron.softmax").points


def _warning_solution(neuron_nb):
    """The reference with a sigmoid that warns and writes to stderr: still correct."""
    nb = nbformat.from_dict(json.loads(json.dumps(neuron_nb)))
    cell = next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "neuron_sigmoid")
    cell.source = cell.source.replace(
        "    pos = x >= 0\n",
        "    pos = x >= 0\n    import sys, warnings\n    warnings.warn('a harmless warning', UserWarning)\n"
        "    print('debugging output', file=sys.stderr)\n",
        1,
    )
    assert "harmless" in cell.source
    return nb


def test_autograder_cell_passes_a_warning_solution_without_stderr(neuron_nb, tmp_path, capfd):
    path = _save(_warning_solution(neuron_nb), tmp_path / "neuron.ipynb")
    assert_passes("neuron.sigmoid", notebook=str(path), examples=3)
    out, err = capfd.readouterr()
    assert "✓ neuron.sigmoid — Sigmoid activation: 2/2 (passed)" in out  # grader.reporters.view's heading
    assert err == ""


def test_autograder_cell_fails_a_stub_and_a_missing_cell(neuron_nb, tmp_path):
    nb = nbformat.from_dict(json.loads(json.dumps(neuron_nb)))
    cell = next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "neuron_relu")
    cell.source = strip_solutions(cell.source, "neuron")
    path = _save(nb, tmp_path / "neuron.ipynb")
    with pytest.raises(AssertionError, match="not_implemented"):
        assert_passes("neuron.relu", notebook=str(path), examples=3)
    nb.cells.remove(cell)
    with pytest.raises(AssertionError, match="grade_id neuron_relu is missing"):
        assert_passes("neuron.relu", notebook=str(_save(nb, path)), examples=3)


def test_reading_a_notebook_skips_the_iri_grammars_and_still_validates(neuron_nb, tmp_path):
    """A kernel that runs an autograder cell reads its notebook: without ``rfc3987_syntax`` (1 s of CPU to
    import), and with nbformat's validation whole."""
    import subprocess
    import sys

    path = tmp_path / "neuron.ipynb"
    nbformat.write(neuron_nb, str(path))
    broken = json.loads(path.read_text())
    broken["cells"][0]["cell_type"] = "no such type"
    (tmp_path / "broken.ipynb").write_text(json.dumps(broken))
    code = f"""
import sys
from grader.notebooks import nbformat
from grader.notebooks.extract import _cells_by_id
nb = nbformat()
assert len(_cells_by_id({str(path)!r})) > 2
assert "rfc3987_syntax" not in sys.modules, "the IRI grammars were imported"
try:
    nb.validate(nb.read({str(tmp_path / "broken.ipynb")!r}, as_version=4))
except nb.ValidationError:
    print("refused")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["refused"]
