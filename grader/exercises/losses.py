"""Part 2 — loss functions (seed 4.2): MSE, softmax cross-entropy and binary cross-entropy on logits.

Each loss returns ``(loss, grad)``; :func:`grader.checks.standard.loss_checks` grades the loss against the
reference and torch, its gradient by central differences of its own value and against torch autograd, and
both on logits of ±1000.
"""

from __future__ import annotations

from hypothesis import strategies as st

from grader.checks import strategies as S
from grader.checks.standard import Layer, loss_checks
from grader.i18n import N_
from grader.registry import exercise


def _same_shape_pair(lo: float = -4.0, hi: float = 4.0, t_lo: float = -4.0, t_hi: float = 4.0):
    return S.shapes(1, 3).flatmap(
        lambda shape: st.tuples(S.arrays(shape, lo=lo, hi=hi), S.arrays(shape, lo=t_lo, hi=t_hi))
    )


def _logits_and_labels(lo: float = -4.0, hi: float = 4.0):
    return st.tuples(S.batch_sizes(), st.integers(2, 6)).flatmap(
        lambda nc: st.tuples(S.arrays(nc, lo=lo, hi=hi), S.labels(*nc))
    )


def _torch_mse(pred, target):
    import torch.nn.functional as F

    return F.mse_loss(pred, target)


def _torch_ce(logits, labels):
    import torch.nn.functional as F

    return F.cross_entropy(logits, labels)


def _torch_bce(logits, targets):
    import torch.nn.functional as F

    return F.binary_cross_entropy_with_logits(logits, targets)


MSE = exercise(
    "losses.mse",
    N_("Mean squared error and its gradient"),
    points=2,
    seed="4.2",
    functions=["mse_loss"],
    hint=N_("L = mean((pred − target)²) over ALL elements; dL/dpred = 2·(pred − target) / pred.size."),
)
loss_checks(
    MSE,
    Layer(
        "mse_loss",
        None,
        _same_shape_pair(),
        grads=("dpred",),
        torch=_torch_mse,
        hint_forward=N_("average over every element (pred.size), not only over the batch axis"),
        hint_backward=N_("d/dpred mean((pred − target)²) = 2·(pred − target)/n, with n = pred.size"),
    ),
)

CROSS_ENTROPY = exercise(
    "losses.softmax_cross_entropy",
    N_("Softmax cross-entropy (numerically stable)"),
    points=3,
    seed="4.2",
    functions=["softmax_cross_entropy"],
    hint=N_(
        "log softmax(z) = z − m − log Σ e^(z − m) with m the row max; L = −mean over the batch of "
        "log softmax(z)[label]; dL/dz = (softmax(z) − onehot(label)) / N."
    ),
)
loss_checks(
    CROSS_ENTROPY,
    Layer(
        "softmax_cross_entropy",
        None,
        _logits_and_labels(),
        grads=("dlogits",),
        torch=_torch_ce,
        extreme=_logits_and_labels(-1000.0, 1000.0),
        hint_forward=N_(
            "subtract each row's max before exp and take the log of the sum (log-sum-exp); "
            "never take log of a clipped probability"
        ),
        hint_backward=N_("dlogits = (softmax(logits) − onehot(labels)) / N, N the batch size"),
    ),
)

BCE = exercise(
    "losses.bce_with_logits",
    N_("Binary cross-entropy on logits (numerically stable)"),
    points=3,
    seed="4.2",
    functions=["bce_with_logits"],
    hint=N_("L = mean(max(z, 0) − z·t + log(1 + e^(−|z|))) over all elements; dL/dz = (σ(z) − t) / z.size."),
)
loss_checks(
    BCE,
    Layer(
        "bce_with_logits",
        None,
        _same_shape_pair(t_lo=0.0, t_hi=1.0),
        grads=("dlogits",),
        torch=_torch_bce,
        extreme=_same_shape_pair(-1000.0, 1000.0, 0.0, 1.0),
        hint_forward=N_("−log σ(z) overflows for large |z|: use max(z, 0) − z·t + log1p(exp(−|z|))"),
        hint_backward=N_("dL/dz = (σ(z) − t) / n with n = z.size; compute σ without overflow"),
    ),
)
