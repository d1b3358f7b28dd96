"""Part 1 — the neuron (seed 2.1, 4.1): activations and y = f(x·w + b)."""

from __future__ import annotations

from hypothesis import strategies as st

from grader.checks import strategies as S
from grader.checks.kinks import kink_check, with_zeros
from grader.checks.standard import Layer, backward_checks, forward_checks, layer_checks
from grader.i18n import N_
from grader.registry import exercise

_x = S.arrays(S.shapes(1, 3)).map(lambda x: (x,))
_big = S.arrays(S.shapes(1, 2), lo=-1000.0, hi=1000.0).map(lambda x: (x,))

SIGMOID = exercise(
    "neuron.sigmoid",
    N_("Sigmoid activation"),
    points=2,
    seed="2.1, 4.1",
    functions=["sigmoid_forward", "sigmoid_backward"],
    hint=N_(
        "σ(x) = 1/(1+e^(−x)); for x < 0 use e^x/(1+e^x) so that e^(−x) never overflows. "
        "Backward: dout·σ·(1−σ), reusing σ from the cache."
    ),
)
layer_checks(
    SIGMOID,
    Layer(
        "sigmoid_forward",
        "sigmoid_backward",
        _x,
        torch=lambda x: x.sigmoid(),
        extreme=_big,
        hint_forward=N_("1/(1+np.exp(-x)) overflows for x << 0: split on the sign of x"),
        hint_backward=N_("dσ/dx = σ(x)(1 − σ(x)); multiply by dout"),
    ),
)

RELU = exercise(
    "neuron.relu",
    N_("ReLU activation"),
    points=2,
    seed="4.1",
    functions=["relu_forward", "relu_backward"],
    hint=N_("ReLU(x) = max(0, x). Backward passes dout through where x > 0 and blocks it elsewhere (x = 0 too)."),
)
layer_checks(
    RELU,
    Layer(
        "relu_forward",
        "relu_backward",
        S.arrays(S.shapes(1, 3), away_from=(0.0,)).map(lambda x: (x,)),
        torch=lambda x: x.relu(),
        hint_backward=N_("the mask is x > 0 on the *input*, not on dout"),
    ),
)
kink_check(
    RELU,
    Layer(
        "relu_forward",
        "relu_backward",
        with_zeros(S.shapes(1, 3)).map(lambda x: (x,)),
        torch=lambda x: x.relu(),
        hint_backward=N_("relu'(0) = 0: the mask is x > 0 (strictly), as in torch"),
    ),
    N_("relu_backward blocks the gradient where x is exactly 0"),
)

TANH = exercise(
    "neuron.tanh",
    N_("tanh activation"),
    points=2,
    seed="4.1",
    functions=["tanh_forward", "tanh_backward"],
    hint=N_("tanh'(x) = 1 − tanh(x)²; keep tanh(x) in the cache."),
)
layer_checks(
    TANH,
    Layer(
        "tanh_forward",
        "tanh_backward",
        _x,
        torch=lambda x: x.tanh(),
        extreme=_big,
        hint_backward=N_("d tanh/dx = 1 − tanh(x)², not 1 − x²"),
    ),
)

SOFTMAX = exercise(
    "neuron.softmax",
    N_("Softmax (numerically stable)"),
    points=3,
    seed="4.2",
    functions=["softmax_forward", "softmax_backward"],
    hint=N_(
        "Subtract the maximum of each row before exp: softmax(x) = softmax(x − max(x)). "
        "Backward: s·(dout − Σ dout·s) along the last axis."
    ),
)
_logits = S.matrix(S.batch_sizes(), st.integers(2, 6)).map(lambda x: (x,))
layer_checks(
    SOFTMAX,
    Layer(
        "softmax_forward",
        "softmax_backward",
        _logits,
        torch=lambda x: x.softmax(-1),
        extreme=S.matrix(S.batch_sizes(), st.integers(2, 6), lo=-1000.0, hi=1000.0).map(lambda x: (x,)),
        stable_share=0.5,  # the exercise is "numerically stable": an overflowing softmax earns at most half
        hint_forward=N_("normalise along the last axis (axis=-1, keepdims=True) after subtracting the row max"),
        hint_backward=N_("the Jacobian of softmax is diag(s) − s sᵀ; apply it row by row"),
    ),
)


def _neuron_args(activation: str):
    away = (0.0,) if activation == "relu" else ()

    def build(nd: tuple[int, int]):
        n, d = nd
        return st.tuples(
            S.arrays((n, d), lo=-2, hi=2), S.arrays((d,), lo=-2, hi=2), S.arrays((), lo=-1, hi=1), st.just(activation)
        )

    args = st.tuples(S.batch_sizes(), st.integers(1, 5)).flatmap(build)
    if away:  # keep the pre-activation away from the ReLU kink
        args = args.filter(lambda a: (abs(a[0] @ a[1] + a[2]) > 1e-2).all())
    return args


NEURON = exercise(
    "neuron.neuron",
    N_("The neuron y = f(x·w + b) on a batch"),
    points=4,
    seed="4.1",
    hidden_examples=1,  # its hidden checks cost > 1 s at 3x (benchmarks/bench_hidden.py)
    functions=["neuron_forward", "neuron_backward"],
    prerequisites=["neuron.sigmoid", "neuron.relu", "neuron.tanh"],
    hint=N_("z = x @ w + b, then y = f(z). Backward: dz = f'(z)·dout, dx = outer(dz, w), dw = xᵀ dz, db = Σ dz."),
)


def _torch_neuron(x, w, b, activation):
    import torch

    return {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}[activation](x @ w + b)


for _act in ("sigmoid", "relu", "tanh"):
    _layer = Layer(
        "neuron_forward",
        "neuron_backward",
        _neuron_args(_act),
        grads=("dx", "dw", "db"),
        diff=(0, 1, 2),
        torch=_torch_neuron,
        label=_act,
        hint_backward=N_("db sums dz over the batch; dw = x.T @ dz"),
    )
    if _act == "sigmoid":
        layer_checks(NEURON, _layer)
    else:
        forward_checks(NEURON, _layer)
        backward_checks(NEURON, _layer, torch_grad=False)
