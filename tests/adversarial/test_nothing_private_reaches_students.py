"""Issue 8, "done when": a batch with hostile submissions, then a grep of every file a student receives
(``OUT/students/**``) for every line of ``solutions/`` and every hidden input.  None may be there.

The hostile students: ``recorder`` wraps every function of its parts so that each call records the inputs it
got (17 significant digits), stashes them in a temporary file (a channel between its workers, where files
allow one), prints them and fails with all of them in its message; ``reader`` (sandbox only: at the other
levels the repository is readable, see docs/sandbox.md) puts the reference solutions and the course secret in
its messages.  ``honest`` is graded in the same batch and keeps full marks.
"""

from __future__ import annotations

import json
import re

import pytest

from grader.cli import main
from grader.isolation import sandbox
from tests.batchkit import complete
from tests.corpus import ROOT, solution_lines

ONLY = ["--only", "neuron.sigmoid", "--only", "backprop.activation_layers"]
PARTS = ("neuron", "backprop")

RECORDER = r'''

import os as _os
import tempfile as _tempfile

import numpy as _np

_SEEN = []
_STASH = _os.path.join(_tempfile.gettempdir(), "deepgrade-recorder-stash")


def _record(fn):
    def recorded(*args, **kwargs):
        for a in args:
            if isinstance(a, _np.ndarray) and a.size:
                _SEEN.append(" ".join("%.17g" % v for v in a.ravel()[:4]))
        try:
            with open(_STASH, "a") as fh:
                fh.write(" | ".join(_SEEN[-4:]) + "\n")
            with open(_STASH) as fh:
                stash = fh.read()[-3000:]
        except OSError:
            stash = ""
        print("SEEN", _SEEN[-20:])
        raise RuntimeError("SEEN " + " | ".join(_SEEN[-30:]) + " STASH " + stash)
    return recorded


for _name, _value in list(globals().items()):
    if callable(_value) and not _name.startswith("_") and getattr(_value, "__module__", "") == __name__:
        globals()[_name] = _record(_value)
'''

READER = r'''

def _steal():
    found = []
    for path in ["@ROOT@/solutions/neuron.py", "@ROOT@/solutions/backprop.py", "/proc/1/environ",
                 _os_environ_file()]:
        try:
            with open(path, errors="replace") as fh:
                found.append(fh.read())
        except OSError as exc:
            found.append(type(exc).__name__)
    import os
    found.append(os.environ.get("DEEPGRADE_SECRET", "no secret"))
    return " ".join(found)


def _os_environ_file():
    import os
    return os.environ.get("DEEPGRADE_SECRET_FILE", "/nonexistent")


def sigmoid_forward(x):
    raise RuntimeError(_steal())


def affine_relu_forward(x, w, b):
    raise RuntimeError(_steal())
'''

LEVELS = [
    pytest.param("sandbox", marks=pytest.mark.skipif(not sandbox.bwrap_works(), reason="no bubblewrap")),
    "limits",
]
NUMBER = re.compile(r"\d\.\d{12,}(?:e[-+]\d+)?")


def _values(text: str) -> set[float]:
    """The long numbers in ``text``, as values: ``0.59999999999999998`` (``%.17g``) and ``0.5999999999999999``
    (``repr``) are one input, however a message prints it."""
    return {float(t) for t in NUMBER.findall(text)}


def _tokens(doc: dict, hidden: bool) -> set[float]:
    return {
        v
        for e in doc["result"]["exercises"]
        for c in e["checks"]
        if c["name"].endswith(" [hidden]") == hidden
        for v in _values((c.get("message") or "") + " " + (c.get("stdout") or ""))
    }


@pytest.mark.parametrize("level", LEVELS)
def test_no_solution_line_or_hidden_input_reaches_a_student(tmp_path, level):
    cls, out = tmp_path / "class", tmp_path / "out"
    complete(cls / "honest")
    recorder = complete(cls / "recorder")
    for part in PARTS:
        path = recorder / f"{part}.py"
        path.write_text(path.read_text() + RECORDER)
    students = ["honest", "recorder"]
    if level == "sandbox":
        reader = complete(cls / "reader")
        for part in PARTS:
            path = reader / f"{part}.py"
            path.write_text(path.read_text() + READER.replace("@ROOT@", str(ROOT)))
        students.append("reader")
    code = main(
        ["grade", str(cls), "--out", str(out), *ONLY, "--examples", "4", "--jobs", "2", "--quiet", "--isolation", level]
    )
    assert code == 0

    records = {s: json.loads((out / "records" / f"{s}.json").read_text()) for s in students}
    honest = records["honest"]["result"]
    assert honest["score"] == honest["max_score"] > 0
    hidden_inputs = _tokens(records["recorder"], hidden=True) - _tokens(records["recorder"], hidden=False)
    assert len(hidden_inputs) >= 20, "the recorder should have seen the hidden checks' inputs"
    assert records["recorder"]["result"]["score"] == 0

    visible = {p: p.read_text(errors="replace") for p in (out / "students").rglob("*") if p.is_file()}
    assert {p.parent.name for p in visible} == set(students)
    public = [t for p, text in visible.items() for t in NUMBER.findall(text)]
    assert public, "the public checks' messages (with the recorder's public inputs) reach the student"
    leaks = sorted(
        {(p.relative_to(out).as_posix(), v) for p, text in visible.items() for v in _values(text) & hidden_inputs}
    )
    assert leaks == []
    lines = solution_lines()
    assert len(lines) > 100
    leaked_lines = sorted(
        {(p.relative_to(out).as_posix(), ln) for p, text in visible.items() for ln in lines if ln in text}
    )
    assert leaked_lines == []
    if level == "sandbox":  # the reader ran and was stopped: its messages name what stopped it
        assert "FileNotFoundError" in visible[out / "students" / "reader" / "feedback.md"]
