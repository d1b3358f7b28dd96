"""A student release: the assignments, the grader (with its recorded known answers) and a README — and no
reference code anywhere.  ``deepgrade release --out DIR`` writes it; :func:`leaks` proves the last part."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from grader.build import _MARKER

ROOT = Path(__file__).resolve().parent.parent
#: What a release holds, relative to the repository root.
CONTENTS = ("assignments", "grader", "pyproject.toml")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
MIN_LINE = 20  # shorter solution lines (``return dx``) are too common to prove a leak

README = """\
# Deep-learning exercises — student edition

Write the functions in `assignments/` (each stub raises `NotImplementedError` and its docstring gives the
formula). The grader runs your code in a separate process and tells you what is wrong, with an input you
can paste into a Python prompt.

    pip install -e .                      # once (numpy, torch CPU, hypothesis, rich, scikit-learn)
    python -m grader list                 # the exercises, in order, with points
    python -m grader check neuron         # check one part (or an exercise id: neuron.sigmoid)
    python -m grader check                # check everything
    python -m grader watch                # re-check a file each time you save it
    python -m grader hint neuron.softmax  # a hint
    python -m grader progress             # what is done and what comes next

`check` runs the public checks: answers recorded from the reference on fixed inputs, numerical gradient
checks, comparisons with PyTorch, and invariants (inputs left unchanged, finite outputs on extreme inputs).
Your instructor grades with more, hidden checks (other random inputs, larger shapes) — pass the public ones
by writing the formula, not by matching the examples.

Numpy-only parts (neuron, losses, backprop, autograd, optim, cnn, rnn, train) must not import torch, scipy,
sklearn, keras, tensorflow or jax (`train` may use `sklearn.datasets.load_digits`); `check` warns, and the
instructor's grade gives such an exercise 0 points.
"""


def solution_lines(solutions: Path, assignments: Path) -> set[str]:
    """Distinctive lines of the reference: inside a ``### BEGIN/END SOLUTION`` block, at least
    :data:`MIN_LINE` characters stripped, not a comment, and not also in the student stubs."""
    stub_lines = {ln.strip() for p in assignments.glob("*.py") for ln in p.read_text().splitlines()}
    found: set[str] = set()
    for path in sorted(solutions.glob("*.py")):
        inside = False
        for line in path.read_text().splitlines():
            m = _MARKER.match(line)
            if m:
                inside = m.group(2) == "BEGIN"
                continue
            text = line.strip()
            if inside and len(text) >= MIN_LINE and not text.startswith("#") and text not in stub_lines:
                found.add(text)
    return found


def _texts(path: Path) -> list[str]:
    """The text a file carries: its lines; a notebook's cell sources; a known-answer file's strings."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            return [str(s) for k in npz.files if npz[k].dtype.kind == "U" for s in np.ravel(npz[k])]
    try:
        text = path.read_text()
    except (UnicodeDecodeError, OSError):
        return []
    lines = text.splitlines()
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
            lines += [ln for c in cells for ln in "".join(c.get("source", [])).splitlines()]
        except (ValueError, AttributeError):
            pass
    return lines


def leaks(release: Path, solutions: Path, assignments: Path) -> list[str]:
    """Every place in ``release`` that holds reference code: "path: line" (empty when clean)."""
    lines = solution_lines(solutions, assignments)
    out = [f"{p.relative_to(release)}: a solutions/ folder" for p in release.rglob("solutions") if p.is_dir()]
    for path in sorted(p for p in release.rglob("*") if p.is_file()):
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                kinds = {npz[k].dtype.kind for k in npz.files}
            if not kinds <= set("biufU"):
                out.append(f"{path.relative_to(release)}: holds arrays of kind {sorted(kinds)}, not numbers")
        for text in _texts(path):
            if text.strip() in lines:
                out.append(f"{path.relative_to(release)}: {text.strip()}")
    return out


def write(out: Path, root: Path = ROOT) -> None:
    """Copy the student-facing parts of ``root`` into ``out`` (which must not exist or be empty)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in CONTENTS:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=_IGNORE)
        elif src.is_file():
            shutil.copy2(src, out / name)
    (out / "README.md").write_text(README)
    (out / ".gitignore").write_text("__pycache__/\n*.pyc\n")
