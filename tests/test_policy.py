"""The forbidden-import policy: numpy-only parts may not import torch/scipy/sklearn; found statically and
by the worker's audit hook, reported as notes, and penalised as configured."""

from __future__ import annotations

import json

from grader import registry
from grader.cli import main
from grader.isolation.policy import check_submission, imported_modules, violations
from grader.isolation.worker.client import Worker, plain_launcher
from grader.registry import FORBIDDEN, Exercise
from grader.runner import grade
from tests.corpus import SOLUTIONS, Mutant

TORCH_SIGMOID = Mutant(
    "neuron.sigmoid",
    "torch computes the answer",
    """
    import torch
    def sigmoid_forward(x):
        out = torch.sigmoid(torch.from_numpy(x)).numpy()
        return out, out
""",
    catches="",
)
SCIPY_SIGMOID = Mutant(
    "neuron.sigmoid",
    "scipy computes the answer",
    """
    from scipy.special import expit
    def sigmoid_forward(x):
        out = expit(x)
        return out, out
""",
    catches="",
)
HIDDEN_TORCH = Mutant(
    "neuron.tanh",
    "torch behind a computed name",
    """
    def tanh_forward(x):
        lib = __import__("to" + "rch")
        out = lib.tanh(lib.from_numpy(x)).numpy()
        return out, out
""",
    catches="",
)


def test_static_scan_sees_every_visible_form_of_import():
    src = (
        "import numpy as np, torch.nn\nfrom scipy import special\nfrom . import local\n"
        "import importlib\nm = importlib.import_module('sklearn.linear_model')\nt = __import__('torch')\n"
        "def f():\n    from sklearn.datasets import load_digits\n"
    )
    assert sorted(imported_modules(src)) == sorted(
        [
            ("numpy", 1),
            ("torch.nn", 1),
            ("scipy.special", 2),
            ("importlib", 4),
            ("sklearn.linear_model", 5),
            ("torch", 6),
            ("sklearn.datasets.load_digits", 8),
        ]
    )
    assert imported_modules("def broken(:\n") == []


def test_policy_table_and_allowed_submodules():
    assert set(FORBIDDEN) == {"neuron", "losses", "backprop", "autograd", "optim", "cnn", "rnn", "train"}
    train = Exercise("train.demo", "demo", 1, ("f",))
    neuron = Exercise("neuron.demo", "demo", 1, ("f",))
    pytorch = Exercise("pytorch.demo", "demo", 1, ("f",))
    digits = [("sklearn", "train.py:1"), ("sklearn.datasets", "train.py:1")]
    assert len(violations(train, digits, "run time")) == 1  # the grader loads the digits; train gets arrays
    assert len(violations(train, [("sklearn.linear_model", "train.py:3")], "static")) == 1
    assert len(violations(neuron, digits, "run time")) == 1
    assert violations(neuron, [("numpy.linalg", "neuron.py:1")], "static") == []
    assert violations(pytorch, [("torch", "pytorch.py:1")], "static") == []


def test_a_torch_import_is_noted_and_costs_the_configured_penalty(tmp_path):
    sub = TORCH_SIGMOID.write(tmp_path / "sub")
    ex = registry.get("neuron.sigmoid")
    only = lambda c: c.oracle == "known"  # noqa: E731
    graded = grade(sub, [ex], only=only, forbidden_penalty=1.0, launcher=plain_launcher).exercises[0]
    assert graded.checks[0].status == "passed"  # torch gets the right answer ...
    assert graded.score == 0 and graded.max_score > 0 and graded.penalty == 1.0  # ... and it costs it all
    assert graded.notes == ["forbidden import (static): neuron.py:1 imports torch; neuron.py must use numpy only"]
    doc = graded.to_json()
    assert doc["notes"] == graded.notes and doc["penalty"] == 1.0 and doc["score"] == 0
    clean = grade(SOLUTIONS, [ex], only=only, forbidden_penalty=1.0).exercises[0]
    assert clean.notes == [] and clean.score == clean.max_score


def test_the_worker_sees_an_import_the_static_scan_cannot(tmp_path):
    """Where the packages are on the worker's path (a plain launcher), the audit hook records the import."""
    sub = HIDDEN_TORCH.write(tmp_path / "sub")
    ex = registry.get("neuron.tanh")
    res = grade(
        sub, [ex], only=lambda c: c.oracle == "known", forbidden_penalty=0.5, launcher=plain_launcher
    ).exercises[0]
    assert len(res.notes) == 1 and "(run time)" in res.notes[0] and "imports torch" in res.notes[0]
    assert res.penalty == 0.5 and res.score == round(res.max_score * 0.5, 4)


def test_by_default_a_numpy_only_part_cannot_import_torch_at_all(tmp_path):
    """The default launcher gives a numpy-only part a path with numpy alone: the computed import fails."""
    sub = HIDDEN_TORCH.write(tmp_path / "sub")
    res = grade(sub, [registry.get("neuron.tanh")], only=lambda c: c.oracle == "known").exercises[0]
    assert res.score == 0 and all(c.status == "error" for c in res.checks)
    assert "No module named 'torch'" in res.checks[0].message


def test_every_forbidden_import_in_a_numpy_worker_is_recorded_at_the_students_line(tmp_path):
    (tmp_path / "neuron.py").write_text("from torch.nn import functional\n")
    ex = registry.get("neuron.sigmoid")
    with Worker(tmp_path) as worker:
        worker.setup(["neuron"], forbidden=ex.forbidden[0])
    modules = {m for _, m, _ in worker.imports}
    assert {"torch", "torch.nn"} <= modules
    assert {(p, w) for p, _, w in worker.imports} == {("neuron", "neuron.py:1")}  # torch's own imports too
    notes = check_submission(ex, tmp_path, worker.imports)
    assert any("imports torch.nn" in n for n in notes)


def test_an_import_whose_code_claims_another_file_is_still_recorded(tmp_path):
    """exec(compile("import torch", "/usr/lib/...")) hid the import from a hook that trusted file names."""
    (tmp_path / "neuron.py").write_text(
        "def f():\n    exec(compile('import torch.nn', '/usr/lib/python3/dist-packages/x.py', 'exec'))\nf()\n"
    )
    ex = registry.get("neuron.sigmoid")
    with Worker(tmp_path) as worker:
        worker.setup(["neuron"], forbidden=ex.forbidden[0])
    assert ("neuron", "torch.nn", "neuron.py:2") in worker.imports
    assert any("imports torch" in n and "run time" in n for n in check_submission(ex, tmp_path, worker.imports))


def test_check_command_warns_and_rejects_a_bad_penalty(tmp_path, capsys):
    sub = SCIPY_SIGMOID.write(tmp_path / "sub")
    assert (
        main(["check", "neuron.sigmoid", "--submission", str(sub), "--examples", "2", "--forbidden-penalty", "2"]) == 2
    )
    capsys.readouterr()
    main(["check", "neuron.sigmoid", "--submission", str(sub), "--examples", "2", "--json"])
    doc = json.loads(capsys.readouterr().out)  # scipy is absent from a numpy-only worker: nothing scores
    assert doc["score"] == 0 and "imports scipy.special" in doc["exercises"][0]["notes"][0]
    assert "No module named 'scipy'" in doc["exercises"][0]["checks"][0]["message"]


def test_a_scan_is_remembered_only_for_a_short_source():
    """A batch process keeps what it scanned from one student to the next: never a long file."""
    from grader.isolation import policy

    policy._remembered.cache_clear()
    assert imported_modules("import torch\n") == imported_modules("import torch\n") == [("torch", 1)]
    assert policy._remembered.cache_info().hits == 1
    long = "import torch\n" + "x = 1\n" * 100_000
    assert imported_modules(long) == [("torch", 1)]
    assert policy._remembered.cache_info().currsize == 1
