"""A student release: the assignments, the grader (with its recorded known answers) and a README — and no
reference code or course secret anywhere.  ``deepgrade release --out DIR`` writes it; :func:`leaks` proves the
last part."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from grader.instructor.build import _MARKER
from grader.reference import ROOT  # the checkout: assignments/, grader/, solutions/

#: What a release holds, relative to the repository root.
CONTENTS = ("assignments", "grader", "pyproject.toml", "constraints.txt")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
LONG_LINE = 48  # a solution line this long is evidence on its own; shorter ones (12+) count in consecutive pairs

README = """\
# Deep-learning exercises — student edition

Write the functions in `assignments/` (each stub raises `NotImplementedError` and its docstring gives the
formula). The grader runs your code in a separate process and tells you what is wrong, with an input you
can paste into a Python prompt.

Once, in this folder: a virtual environment and the versions the grader was tested with (`keras` for the
Keras exercise; without it that exercise is skipped):

    python3 -m venv .venv && . .venv/bin/activate
    # without a GPU, first torch's CPU build (a few hundred MB instead of several GB):
    pip install -c constraints.txt torch --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
    pip install -c constraints.txt -e '.[keras]'

Then, with the environment active:

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
sklearn, keras, tensorflow or jax; `check` warns, and the
instructor's grade gives such an exercise 0 points.
"""


def _code(lines: list[str]) -> list[str]:
    """Stripped lines that carry code: no blanks, no comments."""
    return [t for t in (ln.strip() for ln in lines) if t and not t.startswith("#")]


def solution_lines(solutions: Path, assignments: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """Fingerprints of the reference: (long lines, pairs of consecutive lines) from the bodies inside
    ``### BEGIN/END SOLUTION``, leaving out lines the student stubs also have.  Pairs rather than single
    short lines, so that an idiom the grader's own drivers share (``out._backward = _backward``) is not
    mistaken for a leak."""
    stub_lines = {t for p in assignments.glob("*.py") for t in _code(p.read_text().splitlines())}
    long: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for path in sorted(solutions.glob("*.py")):
        block: list[str] | None = None
        for line in path.read_text().splitlines():
            m = _MARKER.match(line)
            if m and m.group(2) == "BEGIN":
                block = []
            elif m and block is not None:
                body = [t for t in _code(block) if t not in stub_lines]
                long |= {t for t in body if len(t) >= LONG_LINE}
                pairs |= {(x, y) for x, y in zip(body, body[1:]) if min(len(x), len(y)) >= 12 and len(x) + len(y) >= 32}
                block = None
            elif block is not None:
                block.append(line)
    return long, pairs


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


def leaks(release: Path, solutions: Path, assignments: Path, secrets: list[bytes] | None = None) -> list[str]:
    """Every place in ``release`` that holds reference code or a course secret (default: every secret this
    machine holds, :func:`grader.secret.known`): "path: what" (empty when clean)."""
    from grader import secret as course_secret

    long, pairs = solution_lines(solutions, assignments)
    secrets = [s for s in (course_secret.known() if secrets is None else secrets) if s]
    out = [f"{p.relative_to(release)}: a solutions/ folder" for p in release.rglob("solutions") if p.is_dir()]
    for path in sorted(p for p in release.rglob("*") if p.is_file() or p.is_symlink()):
        if path.is_symlink():
            out.append(f"{path.relative_to(release)}: a symbolic link")
            continue
        raw = path.read_bytes()
        strings = [t.encode() for t in _texts(path)] if path.suffix == ".npz" else []
        if any(s in blob for s in secrets for blob in [raw, *strings]):
            out.append(f"{path.relative_to(release)}: holds the course secret")
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                kinds = {npz[k].dtype.kind for k in npz.files}
            if not kinds <= set("biufU"):
                out.append(f"{path.relative_to(release)}: holds arrays of kind {sorted(kinds)}, not numbers")
        code = _code(_texts(path))
        hits = [t for t in code if t in long] + [y for x, y in zip(code, code[1:]) if (x, y) in pairs]
        out += [f"{path.relative_to(release)}: {t}" for t in dict.fromkeys(hits)]
    return out


#: ``check``'s default budget: the plans a release ships are for it.
CHECK_EXAMPLES = 25


def ship_plans(out: Path, exercises: list, examples: int = CHECK_EXAMPLES) -> list[Path]:
    """Record the public checks' plans into the release at ``out`` (``grader/plans``), as a student's ``check``
    will look them up: without the reference (no reference answer is recorded, only torch's and the drawn
    inputs, which the public seeds give anyway) and without hidden checks."""
    from grader.checks import plans

    return plans.record(
        out / "grader" / "plans", ROOT / "solutions", exercises, hidden=False, use_reference=False, examples=examples
    )


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
