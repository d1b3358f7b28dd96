"""Part — convolutional networks (seed 2.2): conv2d, max-pool, flatten and a small CNN on the 8×8 digits."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.checks import strategies as S
from grader.checks import training as T
from grader.checks.context import Context
from grader.checks.kinks import kink_check, with_ties
from grader.checks.modelloss import model_loss_checks
from grader.checks.standard import Layer, layer_checks
from grader.i18n import N_, _
from grader.registry import exercise


@st.composite
def _conv_args(draw: st.DrawFn) -> tuple:
    """(x, w, b, stride, pad) with an output of at least 1×1 (sizes rounded down like torch)."""
    n, c, f = draw(S.batch_sizes(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    hh, ww = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, pad = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, hh - 2 * pad), 7))
    w = draw(st.integers(max(1, ww - 2 * pad), 7))
    return (
        draw(S.arrays((n, c, h, w), lo=-2, hi=2)),
        draw(S.arrays((f, c, hh, ww), lo=-2, hi=2)),
        draw(S.arrays((f,), lo=-2, hi=2)),
        stride,
        pad,
    )


@st.composite
def _pool_args(draw: st.DrawFn) -> tuple:
    """(x, pool, stride) with distinct entries at least 0.04 apart, so no window has a tie."""
    n, c = draw(S.batch_sizes(1, 3)), draw(st.integers(1, 3))
    pool, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(pool, 7)), draw(st.integers(pool, 7))
    rng = np.random.default_rng(draw(S.seeds()))
    size = n * c * h * w
    x = (rng.permutation(size) * 0.05 + rng.uniform(0, 0.01, size) - size * 0.025).reshape(n, c, h, w)
    return x, pool, stride


@st.composite
def _tied_pool_args(draw: st.DrawFn) -> tuple:
    """(x, pool, stride) with entries from a few levels only, so that most windows hold a tie."""
    n, c = draw(S.batch_sizes(1, 3)), draw(st.integers(1, 3))
    pool, stride = draw(st.integers(2, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(pool, 7)), draw(st.integers(pool, 7))
    return draw(with_ties((n, c, h, w))), pool, stride


def _torch_conv(x, w, b, stride, pad):
    import torch.nn.functional as F

    return F.conv2d(x, w, b, stride=stride, padding=pad)


def _torch_pool(x, pool, stride):
    import torch.nn.functional as F

    return F.max_pool2d(x, pool, stride)


CONV = exercise(
    "cnn.conv",
    N_("2-D convolution with stride and zero padding"),
    points=6,
    seed="2.2",
    hidden_examples=1,  # its hidden checks cost > 1 s at 3x (benchmarks/bench_hidden.py)
    functions=["conv_forward", "conv_backward"],
    hint=N_(
        "out[n,f,i,j] = b[f] + Σ x_pad[n,:,i·s:i·s+HH, j·s:j·s+WW]·w[f]: a cross-correlation, the kernel is "
        "not flipped. Backward: scatter dout·w back into the padded input (same stride), then crop the padding."
    ),
)
layer_checks(
    CONV,
    Layer(
        "conv_forward",
        "conv_backward",
        _conv_args(),
        grads=("dx", "dw", "db"),
        diff=(0, 1, 2),
        torch=_torch_conv,
        hint_forward=N_("H' = 1 + (H + 2·pad − HH) // stride; pad once with np.pad, do not flip the kernel"),
        hint_backward=N_("db sums dout over N, H', W'; dx and dw use the same strided windows as the forward"),
    ),
)

POOL = exercise(
    "cnn.maxpool",
    N_("Max pooling"),
    points=4,
    seed="2.2",
    functions=["maxpool_forward", "maxpool_backward"],
    hint=N_(
        "out[n,c,i,j] = max of the pool×pool window at (i·stride, j·stride). Backward: only the position of "
        "each window's maximum receives that window's dout (summed where windows overlap); on a tie, only the "
        "first maximum in row-major order."
    ),
)
layer_checks(
    POOL,
    Layer(
        "maxpool_forward",
        "maxpool_backward",
        _pool_args(),
        torch=_torch_pool,
        hint_backward=N_("route dout to the argmax of each window only, at the strided position of that window"),
    ),
)
kink_check(
    POOL,
    Layer(
        "maxpool_forward",
        "maxpool_backward",
        _tied_pool_args(),
        torch=_torch_pool,
        hint_backward=N_("on a tie only the first maximum of the window (row-major order) gets dout, as in torch"),
    ),
    N_("maxpool_backward gives a tie's gradient to the first maximum"),
    points=1,
)

FLATTEN = exercise(
    "cnn.flatten",
    N_("Flatten"),
    points=1,
    seed="2.2",
    functions=["flatten_forward", "flatten_backward"],
    hint=N_("x.reshape(N, -1) keeps one row per example; backward reshapes dout back to x's shape."),
)
layer_checks(
    FLATTEN,
    Layer(
        # (N, C, H, W) only, as the docstring says: code written for 4-D input must not lose points on 2-D arrays
        "flatten_forward",
        "flatten_backward",
        S.arrays(S.shapes(4, 4, max_side=4)).map(lambda x: (x,)),
        torch=lambda x: x.reshape(x.shape[0], -1),
        hint_forward=N_("keep the batch axis: x.reshape(x.shape[0], -1)"),
    ),
)

MODEL = exercise(
    "cnn.model",
    N_("A small CNN that learns the 8×8 digits"),
    points=6,
    seed="2.2",
    functions=["cnn_loss", "train_cnn"],
    prerequisites=["cnn.conv", "cnn.maxpool", "cnn.flatten", "neuron.relu", "neuron.softmax", "optim.sgd_momentum"],
    hint=N_(
        "Forward with cnn_scores, softmax cross-entropy, then back through affine → flatten → pool → ReLU → conv. "
        "Train with optim.SGD (momentum) built once over the parameter arrays themselves."
    ),
)
_KEYS = ("W1", "b1", "W2", "b2")


def _cnn_case(seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    f, n = 2, 3
    params = {
        "W1": rng.standard_normal((f, 1, 3, 3)),
        "b1": rng.standard_normal(f) * 0.1,
        "W2": rng.standard_normal((f * 16, 10)) * 0.3,
        "b2": rng.standard_normal(10) * 0.1,
    }
    return params, rng.standard_normal((n, 1, 8, 8)), rng.integers(0, 10, n)


model_loss_checks(
    MODEL,
    "cnn_loss",
    _cnn_case,
    _KEYS,
    hint=N_("dscores = (softmax − onehot)/N; dW2 = flatᵀ·dscores; then flatten → pool → ReLU → conv backward"),
)


@MODEL.check(
    N_("train_cnn records one loss per minibatch step, stepping one optimizer over every parameter"),
    oracle="invariant",
    points=1.5,
)
def train_cnn_records_one_loss_per_minibatch_step_stepping_one(ctx: Context) -> None:
    rng = np.random.default_rng(ctx.seed)
    X, y = rng.standard_normal((20, 1, 8, 8)), rng.integers(0, 10, 20)
    kwargs = {"epochs": 2, "lr": 0.05, "momentum": 0.9, "batch_size": 8, "filters": 2, "seed": 1}
    T.check_training_process(
        ctx, fit="train_cnn", loss="cnn_loss", X=X, y=y, kwargs=kwargs, keys=_KEYS, optimizer=T.sgd(ctx, kwargs)
    )


#: budget of the training smoke test (the reference reaches 97% in ~0.8 s)
CNN_TRAINING: dict[str, Any] = {"epochs": 8, "lr": 0.05, "momentum": 0.9, "batch_size": 32, "filters": 8, "seed": 0}


@MODEL.check(N_("the trained CNN classifies held-out digits (>= 90%)"), oracle="training", points=2, timeout=60)
def the_trained_cnn_classifies_held_out_digits_90(ctx: Context) -> None:
    Xtr, ytr, Xte, yte = T.digits()
    images = lambda X: X.reshape(-1, 1, 8, 8)  # noqa: E731
    params, losses = T.expect_pair(ctx.call("train_cnn", images(Xtr), ytr, **CNN_TRAINING), "train_cnn")
    ref = ctx.reference()
    curve = T.expect_losses(losses, "train_cnn")
    W1 = params.get("W1") if isinstance(params, dict) else None
    f = W1.shape[0] if isinstance(W1, np.ndarray) and W1.ndim == 4 else 0
    params = T.expect_params(params, {"W1": (f, 1, 3, 3), "b1": (f,), "W2": (f * 16, 10), "b2": (10,)}, "train_cnn")
    T.record(ctx, curve, "train_cnn", images(Xtr), ytr, **CNN_TRAINING)  # after the checks of form
    T.assert_loss_goes_down(curve, "train_cnn")
    T.assert_accuracy(ctx, lambda X: ref.cnn_predict(params, images(X)), Xte, yte, 0.9, _("the trained CNN"))
