"""Issue 8, guarantee 6: a numpy-only worker cannot import torch, scipy or sklearn, whatever the trick.

In the sandbox they are absent (no path, no file); at ``limits`` and ``process`` the worker runs ``python -S``
with only numpy on its path, so every import trick that does not name a real path fails there too."""

from __future__ import annotations

import dataclasses
import importlib.util
import os

import pytest

from grader import registry
from grader.isolation import sandbox
from grader.isolation.worker.client import Worker
from grader.runner import grade
from tests.corpus import SOLUTIONS, Variant

#: Those installed here (deepgrade needs torch; scipy and sklearn come only with other tools): an absent one has
#: nothing to find.
FORBIDDEN = tuple(n for n in ("torch", "scipy", "sklearn") if importlib.util.find_spec(n) is not None)
NEEDS_BWRAP = pytest.mark.skipif(
    not sandbox.bwrap_works(),
    reason="bubblewrap is missing or cannot create namespaces here (apt-get install bubblewrap)",
)
LEVELS = [pytest.param("sandbox", marks=NEEDS_BWRAP), "limits", "process"]
#: Where the grader's Python really keeps them (the sandbox must not have these paths at all).
REAL = {name: os.path.dirname(str(getattr(importlib.util.find_spec(name), "origin", ""))) for name in FORBIDDEN}

#: Each trick imports the module named ``NAME``; ``PATH`` is its real folder, ``SITE`` the folder above it.
TRICKS = {
    "import statement": "exec(f'import {NAME}')",
    "__import__": "__import__(NAME)",
    "importlib.import_module": "import importlib; importlib.import_module(NAME)",
    "exec(compile(..., '/usr/lib/...'))": "exec(compile(f'import {NAME}', '/usr/lib/python3/x.py', 'exec'))",
    "from-import in a fake library file": (
        "exec(compile(f'from {NAME} import __version__', '/usr/lib/python3/dist-packages/numpy/x.py', 'exec'), {})"
    ),
}
#: These name the real files: absent in the sandbox only (elsewhere they stay readable; see describe()).
PATH_TRICKS = {
    "sys.path.append(real site-packages)": "import sys; sys.path.append(SITE); __import__(NAME)",
    "spec_from_file_location(real __init__.py)": (
        "import importlib.util as u, os, sys\n"
        "spec = u.spec_from_file_location(NAME, os.path.join(PATH, '__init__.py'),"
        " submodule_search_locations=[PATH])\n"
        "mod = u.module_from_spec(spec); sys.modules[NAME] = mod; spec.loader.exec_module(mod)"
    ),
    "read the shared library": (
        "import glob, os\n"
        "libs = glob.glob(os.path.join(PATH, '**', '*.so'), recursive=True)\n"
        "assert libs, 'no .so'\n"
        "open(libs[0], 'rb').read(16)"
    ),
}


def attempt(student, tricks, real):
    """Worker side: run each trick for each module; what happened (``"imported"`` or the exception)."""
    import os
    import sys

    out = {}
    for trick, code in tricks.items():
        for name, path in real.items():
            saved = list(sys.path)
            try:
                exec(code, {"NAME": name, "PATH": path, "SITE": os.path.dirname(path)})
                out[f"{trick} {name}"] = "imported"
            except BaseException as exc:  # noqa: BLE001
                out[f"{trick} {name}"] = type(exc).__name__
            finally:
                sys.path[:] = saved
                for mod in [m for m in sys.modules if m.split(".")[0] == name]:
                    del sys.modules[mod]
    import numpy

    out["numpy"] = float(numpy.arange(4.0).sum())
    out["exists"] = {name: os.path.exists(path) for name, path in real.items()}
    return out


def search_everything(student, names):
    """Worker side: every folder or library of ``names`` anywhere in this process's filesystem."""
    import os

    found = []
    for root, dirs, files in os.walk("/"):
        if root in ("/proc", "/sys", "/dev"):
            dirs[:] = []
            continue
        found += [os.path.join(root, d) for d in dirs if d in names]
        found += [os.path.join(root, f) for f in files if f.startswith(("libtorch", "_ufuncs", "_isotonic"))]
    return found


@pytest.mark.parametrize("level", LEVELS)
def test_no_trick_imports_a_forbidden_package(level):
    tricks = dict(TRICKS, **(PATH_TRICKS if level == "sandbox" else {}))
    with Worker(SOLUTIONS, launcher=sandbox.launcher_for(level), packages=("numpy",)) as w:
        got = w.drive(attempt, tricks, REAL, timeout=60)
    assert got.pop("numpy") == 6.0  # numpy itself works
    exists = got.pop("exists")
    imported = [k for k, v in got.items() if v == "imported"]
    assert not imported, imported
    assert len(got) == len(tricks) * len(FORBIDDEN)
    if level == "sandbox":
        assert not any(exists.values()), exists  # not hidden: absent
    else:  # the honest residual: the files are there, and describe() says so
        assert all(exists.values())
        assert dict((p, held) for p, held, _ in sandbox.properties(level))[sandbox.ABSENT] is False


@NEEDS_BWRAP
def test_the_sandbox_holds_no_forbidden_file_anywhere():
    with Worker(SOLUTIONS, launcher=sandbox.launcher_for("sandbox"), packages=("numpy",)) as w:
        assert w.drive(search_everything, list(FORBIDDEN), timeout=60) == []


def with_torch(student):
    import torch

    return float(torch.ones(3).sum())


@pytest.mark.parametrize("level", [pytest.param("sandbox", marks=NEEDS_BWRAP), "process"])
def test_a_worker_for_every_package_still_imports_torch(level):
    with Worker(SOLUTIONS, launcher=sandbox.launcher_for(level), packages=None) as w:
        assert w.drive(with_torch, timeout=120) == 3.0


# --------------------------------------------------------------------------- the table row, graded
#: sigmoid computed by torch, imported through exec/compile with a library's file name (the issue's row).
TORCH_SIGMOID = Variant(
    "neuron.sigmoid",
    "torch via exec",
    '''
def sigmoid_forward(x):
    ns = {}
    exec(compile("import torch\\nf = lambda x: torch.sigmoid(torch.as_tensor(x)).numpy()",
                 "/usr/lib/python3/dist-packages/numpy/_hook.py", "exec"), ns)
    s = ns["f"](x)
    return s, s


def sigmoid_backward(dout, cache):
    return dout * cache * (1.0 - cache)
''',
)


def _numpy_only(level: str):
    """The level's launcher, told (as the runner tells it for a numpy-only part) that only numpy may load."""
    inner = sandbox.launcher_for(level)
    return lambda argv, submission, packages=None: inner(argv, submission, ("numpy",))


def _quick(ex_id: str):
    ex = registry.get(ex_id)
    return dataclasses.replace(ex, checks=[dataclasses.replace(c, timeout=20.0) for c in ex.checks])


@pytest.mark.parametrize("level", [pytest.param("sandbox", marks=NEEDS_BWRAP), "process"])
def test_torch_through_exec_scores_nothing_and_a_correct_part_keeps_its_marks(level, tmp_path):
    sub = TORCH_SIGMOID.write(tmp_path / "cheat")
    exercises = [_quick("neuron.sigmoid"), _quick("neuron.relu")]
    result = grade(sub, exercises, launcher=_numpy_only(level), examples=3)
    sigmoid, relu = result.exercises
    assert sigmoid.score == 0 and any("torch" in c.message for c in sigmoid.checks), sigmoid
    assert relu.score == relu.max_score, relu
    honest = grade(SOLUTIONS, exercises, launcher=_numpy_only(level), examples=3)
    assert honest.score == honest.max_score
