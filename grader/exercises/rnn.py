"""Part — recurrent networks (seed 2.2): RNN step, BPTT over a sequence, an LSTM step, a sequence classifier.

The LSTM uses CS231n's gate order i, f, o, g; the torch oracle copies the weights into ``torch.nn.LSTMCell``
after reordering the blocks to torch's i, f, g, o (see :func:`_torch_lstm`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.checks import plans
from grader.checks import strategies as S
from grader.checks import training as T
from grader.checks.compare import assert_close
from grader.checks.context import Context
from grader.checks.failure import CheckFailed, call_literal, failing_input, python_literal
from grader.checks.gradcheck import check_vjp
from grader.checks.modelloss import model_loss_checks
from grader.checks.replies import ANY, ARRAY, fields, list_of, returns, tuple_of
from grader.checks.standard import IN_PLACE_HINT, Layer, changed_by_backward, layer_checks, torch_forward
from grader.i18n import N_, _
from grader.registry import exercise

_dims = st.tuples(S.batch_sizes(1, 4), st.integers(1, 4), st.integers(1, 4))  # N, D, H


def _step_args(gates: int, cell: bool):
    """(x, h_prev[, c_prev], Wx, Wh, b) with `gates` blocks of H columns in the weights."""

    def build(ndh: tuple[int, int, int]):
        n, d, h = ndh
        a = lambda *shape: S.arrays(shape, lo=-1.5, hi=1.5)  # noqa: E731
        state = (a(n, h), a(n, h)) if cell else (a(n, h),)
        return st.tuples(a(n, d), *state, a(d, gates * h), a(h, gates * h), a(gates * h))

    return _dims.flatmap(build)


def _seq_args():
    def build(ndht: tuple[int, int, int, int]):
        n, d, h, t = ndht
        a = lambda *shape: S.arrays(shape, lo=-1.5, hi=1.5)  # noqa: E731
        return st.tuples(a(n, t, d), a(n, h), a(d, h), a(h, h), a(h))

    return st.tuples(S.batch_sizes(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 5)).flatmap(build)


def _rnn_params(Wx, Wh, b):
    """The weights of torch.nn.RNNCell / nn.RNN: torch stores W transposed and has a second bias."""
    import torch

    return {"weight_ih": Wx.T, "weight_hh": Wh.T, "bias_ih": b, "bias_hh": torch.zeros_like(b)}


def _torch_rnn_step(x, h, Wx, Wh, b):
    import torch

    cell = torch.nn.RNNCell(Wx.shape[0], Wx.shape[1], nonlinearity="tanh", dtype=torch.float64)
    return torch.func.functional_call(cell, _rnn_params(Wx, Wh, b), (x, h))


def _torch_rnn(x, h0, Wx, Wh, b):
    import torch

    rnn = torch.nn.RNN(Wx.shape[0], Wx.shape[1], batch_first=True, dtype=torch.float64)
    params = {k + "_l0": v for k, v in _rnn_params(Wx, Wh, b).items()}
    return torch.func.functional_call(rnn, params, (x, h0[None]))[0]


def _torch_lstm(x, h, c, Wx, Wh, b):
    """torch.nn.LSTMCell with our weights: our blocks are i, f, o, g; torch's are i, f, g, o."""
    import torch

    H = h.shape[1]
    order = torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])
    cell = torch.nn.LSTMCell(Wx.shape[0], H, dtype=torch.float64)
    params = {
        "weight_ih": Wx[:, order].T,
        "weight_hh": Wh[:, order].T,
        "bias_ih": b[order],
        "bias_hh": torch.zeros_like(b),
    }
    return torch.func.functional_call(cell, params, (x, (h, c)))


STEP = exercise(
    "rnn.step",
    N_("One step of a vanilla RNN"),
    points=4,
    seed="2.2",
    hidden_examples=1,  # its hidden checks cost > 1 s at 3x (benchmarks/bench_hidden.py)
    functions=["rnn_step_forward", "rnn_step_backward"],
    hint=N_(
        "h = tanh(x·Wx + h_prev·Wh + b). Backward: da = dh·(1 − h²) with h the *output*; dx = da·Wxᵀ, "
        "dh_prev = da·Whᵀ, dWx = xᵀ·da, dWh = h_prevᵀ·da, db = Σ da."
    ),
)
layer_checks(
    STEP,
    Layer(
        "rnn_step_forward",
        "rnn_step_backward",
        _step_args(1, False),
        grads=("dx", "dh_prev", "dWx", "dWh", "db"),
        diff=(0, 1, 2, 3, 4),
        torch=_torch_rnn_step,
        hint_backward=N_("tanh'(a) = 1 − tanh(a)² = 1 − h², taken at the output h, not at a"),
    ),
)

SEQUENCE = exercise(
    "rnn.sequence",
    N_("A whole sequence: forward and backpropagation through time"),
    points=6,
    seed="2.2",
    hidden_examples=1,  # its hidden checks cost > 1 s at 3x (benchmarks/bench_hidden.py)
    functions=["rnn_forward", "rnn_backward"],
    prerequisites=["rnn.step"],
    hint=N_(
        "Loop rnn_step_forward over t. BPTT walks t = T−1 … 0 and feeds each step dh[:, t] + dh_prev from "
        "step t+1; weight gradients are summed over the steps."
    ),
)
layer_checks(
    SEQUENCE,
    Layer(
        "rnn_forward",
        "rnn_backward",
        _seq_args(),
        grads=("dx", "dh0", "dWx", "dWh", "db"),
        diff=(0, 1, 2, 3, 4),
        torch=_torch_rnn,
        hint_backward=N_("the gradient reaching hₜ is dh[:, t] plus what flows back from step t+1; sum dWx, dWh, db"),
    ),
)

LSTM = exercise(
    "rnn.lstm",
    N_("One LSTM step (gates i, f, o, g)"),
    points=6,
    seed="2.2",
    hidden_examples=1,  # its hidden checks cost > 1 s at 3x (benchmarks/bench_hidden.py)
    functions=["lstm_step_forward", "lstm_step_backward"],
    hint=N_(
        "a = x·Wx + h_prev·Wh + b split into i, f, o, g (in that order); c = f⊙c_prev + i⊙g; h = o⊙tanh(c). "
        "Backward: dc_total = dc + dh⊙o⊙(1 − tanh²(c)), then through each gate's nonlinearity."
    ),
)
_LSTM_GRADS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")


@returns(list_of(ARRAY))
def rnn_lstm_outputs(student: Any, arg_lists: list) -> list:
    """Worker side: h and c of lstm_step_forward, concatenated, for each argument list."""
    import numpy as np

    fn = student("rnn").lstm_step_forward
    out = []
    for args in arg_lists:
        returned = fn(*args)
        if not (isinstance(returned, tuple) and len(returned) == 3):
            raise TypeError("lstm_step_forward must return (h, c, cache)")
        out.append(np.concatenate([np.ravel(returned[0]), np.ravel(returned[1])]))
    return out


@returns(fields(h=ANY, c=ANY, grads=tuple_of(ANY, ...)))
def rnn_lstm_forward_backward(student: Any, args: list, dh: Any, dc: Any) -> dict:
    """Worker side: ``h, c, cache = lstm_step_forward(*args)``; ``lstm_step_backward(dh, dc, cache)``."""
    mod = student("rnn")
    returned = mod.lstm_step_forward(*args)
    if not (isinstance(returned, tuple) and len(returned) == 3):
        raise TypeError("lstm_step_forward must return (h, c, cache)")
    h, c, cache = returned
    grads = mod.lstm_step_backward(dh, dc, cache)
    return {"h": h, "c": c, "grads": tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)}


@returns(tuple_of(ANY, ANY))
def rnn_lstm_forward(student: Any, args: list) -> tuple:
    """Worker side: h and c of ``lstm_step_forward(*args)``."""
    returned = student("rnn").lstm_step_forward(*args)
    if not (isinstance(returned, tuple) and len(returned) == 3):
        raise TypeError("lstm_step_forward must return (h, c, cache)")
    return returned[0], returned[1]


def _lstm_hc(ctx: Context, args: tuple) -> tuple[Any, Any]:
    return ctx.drive(rnn_lstm_forward, list(args))


def _compare_hc(got: tuple[Any, Any], expected: tuple[Any, Any], args: tuple) -> None:
    with failing_input(lambda: call_literal("lstm_step_forward", args)):
        for name, g, e in zip(("h", "c"), got, expected):
            assert_close(
                g,
                e,
                what=_("the {name} returned by lstm_step_forward").format(name=name),
                rtol=1e-7,
                atol=1e-9,
                hint=N_("gates in the order i, f, o, g: σ on the first three blocks, tanh on the last"),
            )


@LSTM.check(N_("lstm_step_forward matches the reference"), oracle="reference", twin=True)
def lstm_step_forward_matches_the_reference(ctx: Context) -> None:
    ctx.for_all(
        _step_args(4, True),
        lambda args: _compare_hc(_lstm_hc(ctx, args), ctx.reference().lstm_step_forward(*args)[:2], args),
    )


def _torch_lstm_hc(args: tuple) -> tuple[np.ndarray, np.ndarray]:
    (h, c), _unused = torch_forward(_torch_lstm, args)
    return h.detach().numpy(), c.detach().numpy()


def _torch_lstm_grads(args: tuple, dh: np.ndarray, dc: np.ndarray) -> list[np.ndarray]:
    import torch

    (h, c), leaves = torch_forward(_torch_lstm, args, range(6))
    torch.autograd.backward([h, c], [torch.tensor(dh), torch.tensor(dc)])
    return [leaf.grad.numpy() for leaf in leaves]


@LSTM.check(N_("lstm_step_forward matches torch LSTMCell"), oracle="torch", twin=True)
@plans.answered
def lstm_step_forward_matches_torch_lstmcell(ctx: Context) -> None:
    def prop(args: tuple) -> None:
        _compare_hc(_lstm_hc(ctx, args), ctx.answer(_torch_lstm_hc, args), args)

    ctx.for_all(_step_args(4, True), prop)


def _lstm_grads(ctx: Context, args: tuple, seed: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    N, H = args[1].shape
    dh, dc = S.upstream((N, H), seed), S.upstream((N, H), seed + 1)
    grads = ctx.drive(rnn_lstm_forward_backward, list(args), dh, dc)["grads"]
    if len(grads) != len(_LSTM_GRADS):
        raise CheckFailed(
            _("lstm_step_backward should return {count} gradients ({names}), got {got}").format(
                count=len(_LSTM_GRADS), names=", ".join(_LSTM_GRADS), got=len(grads)
            )
        )
    return dh, dc, grads


@LSTM.check(N_("lstm_step_backward passes the gradient check"), oracle="numerical", points=2, twin=True)
def lstm_step_backward_passes_the_gradient_check(ctx: Context) -> None:
    def prop(case: tuple[tuple, int]) -> None:
        args, seed = case
        dh, dc, grads = _lstm_grads(ctx, args, seed)
        forward = lambda lists: ctx.drive(rnn_lstm_outputs, lists)  # noqa: E731
        with failing_input(lambda: _("{call} with random dh, dc").format(call=call_literal("lstm_step_forward", args))):
            check_vjp(
                forward,
                list(args),
                np.concatenate([dh.ravel(), dc.ravel()]),
                grads,
                _LSTM_GRADS,
                seed=seed,
                hint=N_("dc_total = dc + dh⊙o⊙(1 − tanh²(c)); σ' = σ(1 − σ) at each gate's output"),
            )

    ctx.for_all(st.tuples(_step_args(4, True), S.seeds()), prop)


@LSTM.check(N_("lstm_step_backward matches torch autograd"), oracle="torch", twin=True)
@plans.answered
def lstm_step_backward_matches_torch_autograd(ctx: Context) -> None:
    def prop(case: tuple[tuple, int]) -> None:
        args, seed = case
        dh, dc, grads = _lstm_grads(ctx, args, seed)
        expected = ctx.answer(_torch_lstm_grads, args, dh, dc)
        with failing_input(lambda: _("{call} with random dh, dc").format(call=call_literal("lstm_step_forward", args))):
            for name, g, e in zip(_LSTM_GRADS, grads, expected):
                assert_close(g, e, what=_("the gradient {name}").format(name=name), rtol=1e-5, atol=1e-7)

    ctx.for_all(st.tuples(_step_args(4, True), S.seeds()), prop)


@LSTM.check(
    N_("lstm_step_backward leaves dh, dc and the cache unchanged"),
    oracle="invariant",
    points=0.5,
    twin=True,
    requires=["lstm_step_backward passes the gradient check"],
)
def lstm_step_backward_leaves_dh_dc_and_the_cache_unchanged(ctx: Context) -> None:
    """As for every backward (``standard.backward_invariant_check``): the LSTM's has two upstream gradients."""

    def prop(case: tuple[tuple, int]) -> None:
        args, seed = case
        N, H = args[1].shape
        dh, dc = S.upstream((N, H), seed), S.upstream((N, H), seed + 1)
        where = changed_by_backward(ctx, "lstm_step_forward", "lstm_step_backward", args, {"dh": dh, "dc": dc})
        if where is not None:
            raise CheckFailed(
                _("{bwd} changed {where} in place").format(bwd="lstm_step_backward", where=where),
                input=_("{call}; then lstm_step_backward(dh, dc, cache) with dh = {dh}, dc = {dc}").format(
                    call=call_literal("lstm_step_forward", args), dh=python_literal(dh), dc=python_literal(dc)
                ),
                hint=IN_PLACE_HINT,
            )

    ctx.for_all(st.tuples(_step_args(4, True), S.seeds()), prop, examples=ctx.few_examples)


MODEL = exercise(
    "rnn.model",
    N_("An RNN that learns a toy sequence task (majority vote)"),
    points=6,
    seed="2.2",
    functions=["rnn_classifier_loss", "train_rnn"],
    prerequisites=["rnn.step", "rnn.sequence", "neuron.softmax"],
    hint=N_(
        "Scores come from the last hidden state only: the gradient enters BPTT at step T−1 and flows back "
        "through every earlier step."
    ),
)
_KEYS = ("Wx", "Wh", "b", "Wy", "by")


def _rnn_case(seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, t, d, h, c = 3, 4, 2, 3, 2
    params = {
        "Wx": rng.standard_normal((d, h)),
        "Wh": rng.standard_normal((h, h)) * 0.5,
        "b": rng.standard_normal(h) * 0.1,
        "Wy": rng.standard_normal((h, c)),
        "by": rng.standard_normal(c) * 0.1,
    }
    return params, rng.standard_normal((n, t, d)), rng.integers(0, c, n)


model_loss_checks(
    MODEL,
    "rnn_classifier_loss",
    _rnn_case,
    _KEYS,
    hint=N_("dh is zero except at the last step, where it is dscores·Wyᵀ; then rnn_backward"),
)


def majority_task(n: int, seed: int, steps: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of `steps` one-hot symbols from {0, 1}; the label is the symbol seen more often."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, 2, (n, steps))
    return np.eye(2)[tokens], (tokens.sum(axis=1) > steps // 2).astype(np.int64)


@MODEL.check(
    N_("train_rnn records one loss per minibatch step and updates every parameter"), oracle="invariant", points=1.5
)
def train_rnn_records_one_loss_per_minibatch_step_and_updates(ctx: Context) -> None:
    X, y = majority_task(20, seed=ctx.seed)
    X = X + np.random.default_rng(ctx.seed).uniform(-0.01, 0.01, X.shape)  # distinct rows: each batch is traced
    kwargs = {"classes": 2, "hidden": 4, "epochs": 2, "lr": 0.5, "batch_size": 8, "seed": 1}
    # the update rule is free here (plain steps or momentum both train it); the process is not
    T.check_training_process(
        ctx, fit="train_rnn", loss="rnn_classifier_loss", X=X, y=y, kwargs=kwargs, keys=_KEYS, optimizer=None
    )


#: budget of the training smoke test (the reference reaches 100% in ~0.15 s)
RNN_TRAINING: dict[str, Any] = {"classes": 2, "hidden": 16, "epochs": 10, "lr": 0.5, "batch_size": 32, "seed": 0}


@MODEL.check(N_("the trained RNN solves held-out sequences (>= 90%)"), oracle="training", points=2, timeout=60)
def the_trained_rnn_solves_held_out_sequences_90(ctx: Context) -> None:
    X, y = majority_task(600, seed=ctx.seed)
    X_test, y_test = majority_task(400, seed=ctx.seed + 1)
    params, losses = T.expect_pair(ctx.call("train_rnn", X, y, **RNN_TRAINING), "train_rnn")
    ref = ctx.reference()
    curve = T.expect_losses(losses, "train_rnn")
    h = RNN_TRAINING["hidden"]
    params = T.expect_params(params, {"Wx": (2, h), "Wh": (h, h), "b": (h,), "Wy": (h, 2), "by": (2,)}, "train_rnn")
    T.record(ctx, curve, "train_rnn", X, y, **RNN_TRAINING)  # after the checks of form: it trains
    T.assert_loss_goes_down(curve, "train_rnn")
    T.assert_accuracy(ctx, lambda Xs: ref.rnn_predict(params, Xs), X_test, y_test, 0.9, _("the trained RNN"))
