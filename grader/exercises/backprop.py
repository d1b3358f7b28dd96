"""Part 3 — backpropagation (seed 3.2, 2.3): affine layers, affine + activation layers, a two-layer MLP.

The layers use the standard layer checks.  The MLP returns ``(loss, grads)`` with grads a dict, so its
checks are written here: every parameter gradient against central differences of the MLP's own loss and
against torch autograd.  It is graded with the reference versions of its prerequisites.
"""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.checks import plans
from grader.checks import strategies as S
from grader.checks.compare import assert_close, same_array, short
from grader.checks.context import Context
from grader.checks.failure import CheckFailed, call_literal, failing_input
from grader.checks.gradcheck import check_vjp
from grader.checks.standard import Layer, backward_checks, forward_checks, layer_checks
from grader.i18n import N_, _
from grader.registry import exercise


# ----------------------------------------------------------------------------- affine
def _affine_args(kink_free: bool = False):
    """x of shape (N, d1, ..., dk), w of shape (d1·…·dk, M), b of shape (M,)."""

    def build(t: tuple[int, tuple[int, ...], int]):
        n, feature_shape, m = t
        return st.tuples(
            S.arrays((n, *feature_shape), lo=-2, hi=2),
            S.arrays((prod(feature_shape), m), lo=-2, hi=2),
            S.arrays((m,), lo=-1, hi=1),
        )

    args = st.tuples(S.batch_sizes(1, 5), S.shapes(1, 3, max_side=3), st.integers(1, 4)).flatmap(build)
    if kink_free:  # keep the pre-activation away from the ReLU kink
        args = args.filter(lambda a: (np.abs(a[0].reshape(len(a[0]), -1) @ a[1] + a[2]) > 1e-2).all())
    return args


def _torch_affine(x, w, b):
    import torch.nn.functional as F

    return F.linear(x.reshape(x.shape[0], -1), w.T, b)


def _torch_affine_relu(x, w, b):
    return _torch_affine(x, w, b).relu()


def _torch_affine_sigmoid(x, w, b):
    return _torch_affine(x, w, b).sigmoid()


LINEAR = exercise(
    "backprop.linear",
    N_("Affine (fully connected) layer"),
    points=3,
    seed="3.2",
    functions=["affine_forward", "affine_backward"],
    hint=N_(
        "Reshape x to (N, D) with x.reshape(x.shape[0], -1). Backward: dx = dout @ w.T reshaped to x.shape, "
        "dw = x̃.T @ dout, db = dout.sum(axis=0)."
    ),
)
layer_checks(
    LINEAR,
    Layer(
        "affine_forward",
        "affine_backward",
        _affine_args(),
        grads=("dx", "dw", "db"),
        diff=(0, 1, 2),
        torch=_torch_affine,
        hint_forward=N_("flatten every axis but the first: x.reshape(x.shape[0], -1) @ w + b"),
        hint_backward=N_("db sums dout over the batch (axis=0); dx must have x's original shape"),
    ),
)

ACTIVATION_LAYERS = exercise(
    "backprop.activation_layers",
    N_("Affine + activation layers by the chain rule"),
    points=3,
    seed="3.2",
    hidden_examples=1,  # its hidden checks cost > 1 s at 3x (benchmarks/bench_hidden.py)
    functions=["affine_relu_forward", "affine_relu_backward", "affine_sigmoid_forward", "affine_sigmoid_backward"],
    prerequisites=["backprop.linear", "neuron.relu", "neuron.sigmoid"],
    hint=N_(
        "Forward: a, fc = affine_forward(x, w, b); out, act = relu_forward(a). Backward in reverse order: "
        "da = relu_backward(dout, act); return affine_backward(da, fc)."
    ),
)
layer_checks(
    ACTIVATION_LAYERS,
    Layer(
        "affine_relu_forward",
        "affine_relu_backward",
        _affine_args(kink_free=True),
        grads=("dx", "dw", "db"),
        diff=(0, 1, 2),
        torch=_torch_affine_relu,
        label="relu",
        hint_forward=N_("apply the ReLU after the affine layer"),
        hint_backward=N_("go backwards: relu_backward first (with the ReLU's cache), then affine_backward"),
    ),
)
_sigmoid_layer = Layer(
    "affine_sigmoid_forward",
    "affine_sigmoid_backward",
    _affine_args(),
    grads=("dx", "dw", "db"),
    diff=(0, 1, 2),
    torch=_torch_affine_sigmoid,
    label="sigmoid",
    hint_forward=N_("apply the sigmoid after the affine layer"),
    hint_backward=N_("sigmoid_backward needs the sigmoid's cache (σ(a)), then affine_backward"),
)
forward_checks(ACTIVATION_LAYERS, _sigmoid_layer)
backward_checks(ACTIVATION_LAYERS, _sigmoid_layer, torch_grad=False)

# ----------------------------------------------------------------------------- two-layer MLP
PARAMS = ("W1", "b1", "W2", "b2")


def _mlp_args(scale: float = 1.0):
    """(params, X, y) with hidden pre-activations away from the ReLU kink; weights in [-scale, scale]."""

    def build(t: tuple[int, int, int, int]):
        n, d, h, c = t
        w: dict[str, Any] = {"lo": -scale, "hi": scale}
        params = st.fixed_dictionaries(
            {
                "W1": S.arrays((d, h), **w),
                "b1": S.arrays((h,), **w),
                "W2": S.arrays((h, c), **w),
                "b2": S.arrays((c,), **w),
            }
        )
        return st.tuples(params, S.arrays((n, d), lo=-2, hi=2), S.labels(n, c))

    args = st.tuples(S.batch_sizes(1, 5), st.integers(1, 4), st.integers(1, 5), st.integers(2, 4)).flatmap(build)
    return args.filter(lambda a: (np.abs(a[1] @ a[0]["W1"] + a[0]["b1"]) > 1e-2).all())


def _torch_mlp(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and parameter gradients of the same network by torch autograd."""
    import torch
    import torch.nn.functional as F

    t = {k: torch.tensor(params[k], dtype=torch.float64, requires_grad=True) for k in PARAMS}
    h = torch.relu(torch.tensor(X) @ t["W1"] + t["b1"])
    loss = F.cross_entropy(h @ t["W2"] + t["b2"], torch.tensor(y))
    grads = torch.autograd.grad(loss, [t[k] for k in PARAMS])
    return float(loss.detach()), {k: g.numpy() for k, g in zip(PARAMS, grads)}


_CALL = "two_layer_loss"
_HINT = N_(
    "backward in reverse order: dscores from softmax_cross_entropy, affine_backward for layer 2, "
    "then affine_relu_backward for layer 1"
)


def _student_grads(ctx: Context, args: tuple[Any, ...]) -> tuple[Any, dict[str, Any]]:
    result = ctx.call(_CALL, *args)
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
        raise CheckFailed(
            _("{call} should return (loss, grads) with grads a dict").format(call=_CALL), got=short(result)
        )
    missing = [k for k in PARAMS if k not in result[1]]
    if missing:
        raise CheckFailed(
            _("grads lacks {missing}").format(missing=', '.join(missing)),
            expected=str(list(PARAMS)),
            got=short(sorted(result[1])),
            hint=N_("return a gradient for every parameter"),
        )
    return result[0], result[1]


MLP = exercise(
    "backprop.mlp",
    N_("Two-layer network: loss and gradients"),
    points=5,
    seed="3.2, 2.3",
    hidden_examples=1,  # its hidden checks cost > 1 s at 3x (benchmarks/bench_hidden.py)
    functions=[_CALL],
    prerequisites=["backprop.linear", "backprop.activation_layers", "neuron.relu", "losses.softmax_cross_entropy"],
    hint=N_(
        "Forward: the hidden layer is affine then ReLU, the scores are a second affine layer, and the loss is "
        "softmax cross-entropy of the scores. Backward in reverse, one layer at a time, reusing each cache."
    ),
)


@MLP.check(N_("two_layer_loss: the loss matches the reference"), oracle="reference", twin=True)
def two_layer_loss_the_loss_matches_the_reference(ctx: Context) -> None:
    def prop(args: tuple[Any, ...]) -> None:
        with failing_input(lambda: call_literal(_CALL, args)):
            assert_close(
                ctx.call(_CALL, *args, pick=0),
                ctx.reference().two_layer_loss(*args)[0],
                what=_("the loss"),
                rtol=1e-7,
                atol=1e-9,
                hint=N_("affine → ReLU → affine → softmax cross-entropy"),
            )

    ctx.for_all(_mlp_args(), prop)


@MLP.check(N_("two_layer_loss: the loss matches torch"), oracle="torch", twin=True)
@plans.answered
def two_layer_loss_the_loss_matches_torch(ctx: Context) -> None:
    def prop(args: tuple[Any, ...]) -> None:
        with failing_input(lambda: call_literal(_CALL, args)):
            assert_close(
                ctx.call(_CALL, *args, pick=0),
                ctx.answer(_torch_mlp, *args)[0],
                what=_("the loss"),
                rtol=1e-7,
                atol=1e-9,
                hint=N_("affine → ReLU → affine → softmax cross-entropy"),
            )

    ctx.for_all(_mlp_args(), prop)


@MLP.check(N_("two_layer_loss: the gradients pass the gradient check"), oracle="numerical", points=2, twin=True)
def two_layer_loss_the_gradients_pass_the_gradient_check(ctx: Context) -> None:
    batched = ctx.batched(_CALL, pick=0)

    def prop(args: tuple[Any, ...]) -> None:
        params, X, y = args
        _unused, grads = _student_grads(ctx, args)

        def forward(param_lists: list[list[np.ndarray]]) -> list[np.ndarray]:
            return batched([[dict(zip(PARAMS, p)), X, y] for p in param_lists])

        with failing_input(lambda: call_literal(_CALL, args)):
            check_vjp(
                forward,
                [params[k] for k in PARAMS],
                np.ones(()),
                [grads[k] for k in PARAMS],
                [f"grads[{k!r}]" for k in PARAMS],
                rtol=1e-5,
                atol=1e-7,
                seed=ctx.seed,
                hint=_HINT,
            )

    ctx.for_all(_mlp_args(), prop)


@MLP.check(N_("two_layer_loss: the gradients match torch autograd"), oracle="torch", points=2, twin=True)
@plans.answered
def two_layer_loss_the_gradients_match_torch_autograd(ctx: Context) -> None:
    def prop(args: tuple[Any, ...]) -> None:
        _unused, grads = _student_grads(ctx, args)
        _unused, expected = ctx.answer(_torch_mlp, *args)
        for k in PARAMS:
            with failing_input(lambda: call_literal(_CALL, args)):
                assert_close(grads[k], expected[k], what=f"grads[{k!r}]", rtol=1e-6, atol=1e-9, hint=_HINT)

    ctx.for_all(_mlp_args(), prop)


@MLP.check(N_("two_layer_loss leaves its inputs unchanged"), oracle="invariant", points=0.5)
def two_layer_loss_leaves_its_inputs_unchanged(ctx: Context) -> None:
    def prop(args: tuple[Any, ...]) -> None:
        _unused, after = ctx.call_checking_inputs(_CALL, *args, pick=0)
        params, X, y = args
        params_after = after[0] if isinstance(after[0], dict) else {}
        changed = [f"params[{k!r}]" for k in PARAMS if not same_array(params[k], params_after.get(k))]
        changed += [n for n, a, b in (("X", X, after[1]), ("y", y, after[2])) if not same_array(a, b)]
        if changed:
            raise CheckFailed(
                _("{call} changed {changed} in place").format(call=_CALL, changed=', '.join(changed)),
                input=call_literal(_CALL, args),
                hint=N_("compute new arrays (W - x, not W -= x); never update params here"),
            )

    ctx.for_all(_mlp_args(), prop, examples=ctx.few_examples)


@MLP.check(N_("two_layer_loss is finite and correct on extreme inputs"), oracle="torch", points=0.5)
@plans.answered
def two_layer_loss_is_finite_and_correct_on_extreme_inputs(ctx: Context) -> None:
    def prop(args: tuple[Any, ...]) -> None:
        loss, grads = _student_grads(ctx, args)
        expected_loss, expected = ctx.answer(_torch_mlp, *args)
        # scores reach ±1e5 here: a softmax without the max subtracted overflows
        with failing_input(lambda: call_literal(_CALL, args)):
            assert_close(
                loss,
                expected_loss,
                what=_("the loss"),
                rtol=1e-6,
                atol=1e-9,
                hint=N_("use softmax_cross_entropy (stable) rather than your own exp of the scores"),
            )
            for k in PARAMS:
                assert_close(grads[k], expected[k], what=f"grads[{k!r}]", rtol=1e-6, atol=1e-9, hint=_HINT)

    ctx.for_all(_mlp_args(scale=100.0), prop, examples=ctx.few_examples)
