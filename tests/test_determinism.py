"""The same submission gets the same score twice (issue 9.6).

A ``train_gan`` that never seeds anything still draws from torch's and numpy's global generators; the worker
reseeds them before every call (``grader/isolation/worker/child.py: _reseed``), so two gradings in fresh workers must
agree on the score *and* on every recorded loss: a score that depends on the run is a grading bug.
"""

from __future__ import annotations

import pytest

from grader import registry
from grader.runner import grade
from tests.corpus import Alternative

UNSEEDED_GAN = Alternative(
    "gan.train",
    "no torch.manual_seed; batches from numpy's global generator",
    """
    def train_gan(data, steps=600, batch_size=128, lr=2e-3, seed=0, device="cpu"):
        G, D = make_generator().to(device), make_discriminator().to(device)
        opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
        real_all = np.asarray(data, dtype=np.float32).reshape(-1, 1)
        losses = []
        for _ in range(steps):
            batch = torch.as_tensor(real_all[np.random.randint(0, len(real_all), batch_size)], device=device)
            z = torch.randn(batch_size, LATENT_DIM, device=device)
            losses.append(train_step(G, D, opt_g, opt_d, batch, z))
        return G, losses
""",
)


def _graded(tmp_path, name):
    ex = registry.get("gan.train")
    result = grade(
        UNSEEDED_GAN.write(tmp_path / name), [ex], examples=5, hidden=False, only=lambda c: "two modes" in c.name
    )
    (check,) = result.exercises[0].checks
    return check


def test_an_unseeded_gan_gets_the_same_score_and_losses_twice(tmp_path):
    first, second = _graded(tmp_path, "a"), _graded(tmp_path, "b")
    assert first.status not in ("error", "grader_error", "timeout"), first.message
    assert first.curves["loss"], "the training check records the generator's losses"
    assert (first.status, first.score) == (second.status, second.score)
    assert first.curves == second.curves


def test_reseed_also_pins_what_varies_on_a_gpu():
    """torch.manual_seed covers every device's generator; cuDNN's autotuner and cuBLAS's split reductions are
    the other sources of run-to-run differences on CUDA, switched off for every worker."""
    import torch

    from grader.isolation.worker import child
    from grader.isolation.worker.client import worker_env

    saved = torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic
    try:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = True, False
        torch.manual_seed(1234)
        child._reseed()
        after_reseed = torch.rand(3).tolist()
        assert (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic) == (False, True)
        torch.manual_seed(0)
        assert after_reseed == torch.rand(3).tolist()
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved
    env = worker_env({})
    assert env["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8" and env["PYTHONHASHSEED"] == "0"


@pytest.mark.parametrize("built", [None, "cuda", "mps", "custom"])
def test_reseed_seeds_every_device_where_torch_was_built_for_one_and_the_cpu_alone_where_not(monkeypatch, built):
    """Where torch was built for the CPU alone, seeding the CPU's generator is all of ``torch.manual_seed`` that can
    matter (and skips its lazy seeds for absent devices); where it was built for another device, every device is
    seeded as before.  A build fact: asking for a device would start CUDA's driver (and break CUDA after fork)."""
    import torch

    from grader.isolation.worker import child

    seeded = []
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: built == "cuda")
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: built == "mps")
    monkeypatch.setattr(torch.xpu, "_is_compiled", lambda: False)
    monkeypatch.setattr(torch.mtia, "_is_compiled", lambda: False)
    monkeypatch.setattr(
        torch._C, "_get_privateuse1_backend_name", lambda: "npu" if built == "custom" else "privateuseone"
    )
    monkeypatch.setattr(
        torch, "manual_seed", lambda seed: seeded.append(seed) or torch.random.default_generator.manual_seed(seed)
    )
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: pytest.fail("asked whether a device is present"))
    state, cudnn = torch.random.get_rng_state(), (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    try:
        torch.random.default_generator.manual_seed(1234)
        child._reseed()
        after_reseed = torch.rand(3).tolist()
        torch.random.default_generator.manual_seed(0)
        assert after_reseed == torch.rand(3).tolist()
        assert seeded == ([] if built is None else [0])
    finally:
        torch.random.set_rng_state(state)
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = cudnn
