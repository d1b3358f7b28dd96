"""Parts gan, pytorch and keras_model: the reference's training checks record loss curves, keras is skipped
(not failed) where it is missing, the device guard behaves, and (on a GPU machine) training agrees on CUDA.
Full marks for the reference and not_implemented for the stubs are tested for every part in
test_reference_and_stubs.py."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from grader import registry
from grader.checks.torchdevice import guard_source
from grader.reference import SOLUTIONS
from grader.runner import grade

PARTS = ["gan", "pytorch", "keras_model"]


@pytest.fixture(scope="module")
def reference_result():
    return grade(SOLUTIONS, registry.select(PARTS), examples=10)


def test_reference_scores_full_marks(reference_result):
    bad = {c.name: c.message for e in reference_result.exercises for c in e.checks if c.status != "passed"}
    assert not bad, bad
    assert reference_result.score == reference_result.max_score > 0


def test_training_checks_record_loss_curves(reference_result):
    checks = {c.name: c for e in reference_result.exercises for c in e.checks}
    digits = checks["trained Net reaches 90% on held-out digits"].curves
    assert set(digits) >= {"loss", "reference loss"}
    assert len(digits["loss"]) == 5 and digits["loss"][-1] < digits["loss"][0]
    assert {"loss", "discriminator loss"} <= set(checks["generated samples match the target's two modes"].curves)


def test_keras_part_is_skipped_without_keras(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "keras" else real(name, *a))
    result = grade(SOLUTIONS, registry.select(["keras_model"]))
    assert [e.status for e in result.exercises] == ["skipped", "skipped"]
    assert result.max_score == result.score == 0  # not held against the student
    assert all("needs keras" in c.message and "[keras]" in c.message for e in result.exercises for c in e.checks)
    assert result.passed and result.score == 0


# ------------------------------------------------------------------ the device guard, in this process
@pytest.fixture(scope="module")
def guard():
    ns: dict = {"__name__": "_guard_under_test"}
    exec(guard_source(), ns)
    return ns


def test_guard_rejects_a_cpu_tensor_mixed_with_the_input(guard):
    import torch

    with pytest.raises(guard["DeviceMixError"], match="different devices"), guard["DeviceGuard"]():
        torch.zeros(3, 4, device="meta") + torch.ones(3, 4)


def test_guard_rejects_host_reads_in_a_forward_pass(guard):
    import torch

    x = torch.zeros(3, device="meta")
    for read in (lambda t: t.cpu(), lambda t: t.numpy(), lambda t: t.sum().item(), lambda t: t.to("cpu")):
        with pytest.raises(guard["DeviceMixError"], match="host"), guard["DeviceGuard"](host_reads=False):
            read(x)


def test_guard_lets_a_training_loop_read_its_loss(guard):
    import torch

    with guard["DeviceGuard"](host_reads=True):
        loss = torch.zeros(5, device="meta").sum()
        assert loss.item() == 0.0 and float(loss) == 0.0
        assert isinstance(loss.detach().cpu().numpy(), np.ndarray)


def test_guard_allows_what_cuda_allows(guard):
    import torch

    with guard["DeviceGuard"]():
        x = torch.zeros(6, 2, device="meta")
        y = x * torch.tensor(2.0)  # a 0-d CPU tensor is fine with a CUDA tensor
        z = x[torch.tensor([0, 2])]  # so are CPU index tensors
        w = torch.nn.Linear(2, 3).to("meta")(x)
    assert y.device.type == z.device.type == w.device.type == "meta"


# ------------------------------------------------------------------ on a GPU machine: python -m pytest -m gpu
def _has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover
        return False


@pytest.mark.parametrize("part", ["gan", "pytorch"])
@pytest.mark.gpu
@pytest.mark.skipif(not _has_cuda(), reason="no CUDA device: the GPU checks need one")
def test_reference_trains_on_cuda_and_agrees_with_cpu(part):
    result = grade(SOLUTIONS, registry.select([part]), examples=5)
    bad = {c.name: c.message for e in result.exercises for c in e.checks if c.status != "passed"}
    assert not bad, bad
    curves = {k for e in result.exercises for c in e.checks for k in c.curves}
    assert "loss (cuda)" in curves, curves


@pytest.mark.gpu
@pytest.mark.skipif(not _has_cuda(), reason="no CUDA device: the GPU checks need one")
def test_wrong_device_mutant_fails_on_a_real_gpu(tmp_path):
    from tests.mutants.gan import MUTANTS

    mutant = next(m for m in MUTANTS if m.name == "noise created without device=")
    ex = registry.get(mutant.exercise)
    result = grade(
        mutant.write(tmp_path / "sub"), [ex], examples=5, only=lambda c: c.name.startswith("generated samples")
    )
    (check,) = result.exercises[0].checks
    assert check.status == "error" and "device" in check.message.lower(), check.message


# ------------------------------------------------------------------ no reference code in the worker (issue 8)
@pytest.mark.parametrize("exercise", ["pytorch.train", "pytorch.evaluate", "keras_model.fit", "gan.train"])
def test_torch_exercises_are_given_nothing_by_the_grader(exercise):
    """torch objects cannot cross the wire as data, so these exercises have no given (served) prerequisites."""
    from grader import reference

    ex = registry.get(exercise)
    assert ex.prerequisites == ()
    given = reference.Given(ex)
    assert not given and given.spec == {}


def test_the_seed_net_of_the_drivers_is_the_seeds():
    """The Net the drivers build from the hints has the reference's parameters and computes the same logits."""
    import torch

    from grader import reference
    from grader.exercises.pytorch import SHAPES, _random_weights, seed_module, seed_source

    public: dict = {"__name__": "_seed_under_test"}
    exec(seed_source(), public)  # what the worker runs: self-contained
    ours, ref = public["Net"](), reference.module("pytorch").Net()
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == SHAPES
    weights = {k: torch.as_tensor(v) for k, v in _random_weights(np.random.default_rng(0)).items()}
    ours.load_state_dict(weights)
    ref.load_state_dict(weights)
    x = torch.rand(5, 784)
    assert torch.equal(ours(x), ref(x))
    batches = list(public["loader"](np.zeros((37, 784)), np.arange(37) % 10, batch_size=16))
    assert [len(b[1]) for b in batches] == [16, 16, 5] and batches[0][0].dtype == torch.float32
    assert batches[0][1].dtype == torch.int64 and batches[0][1].tolist() == list(range(10)) + list(range(6))
    assert seed_module().Net().fc1.in_features == 784


# ------------------------------------------------------------------ the process checks (issue 9, section 3)
#: (exercise, mutant, words its message must hold): the check names the real cause, not only "accuracy is low"
PROCESS_MESSAGES = [
    (
        "pytorch.net",
        ".detach() on the hidden layer cuts the gradient to fc1",
        ["fc1.weight", "no gradient", ".detach()"],
    ),
    ("pytorch.train", "optimizer re-created every epoch (Adam's moments lost)", ["2 optimizers", "one per epoch"]),
    ("gan.train", "one noise batch drawn before the loop, reused every step", ["same noise z", "inside the loop"]),
]


@pytest.mark.parametrize("exercise,name,words", PROCESS_MESSAGES, ids=[f"{c[0]}:{c[1]}" for c in PROCESS_MESSAGES])
def test_process_checks_name_the_real_cause(exercise, name, words, tmp_path):
    import importlib

    mutant = next(
        m
        for m in importlib.import_module(f"tests.mutants.{exercise.split('.')[0]}").MUTANTS
        if m.exercise == exercise and m.name == name
    )
    result = grade(
        mutant.write(tmp_path / "sub"), [registry.get(exercise)], examples=3, only=lambda c: mutant.catches in c.name
    )
    (check,) = result.exercises[0].checks
    assert check.status == "failed", (check.status, check.message)
    for word in words:
        assert word in check.message, (word, check.message)
