"""Part 5 — optimizers (seed 3.1, 3.3, 4.3), compared with torch.optim over several steps.

Hypothesis draws the parameter shapes and values, the hyper-parameters and a gradient sequence (a seed
and a scale from 1e-4 to 10, so that ε matters in some examples and not in others).  The worker-side
driver :func:`run_optimizer` runs the student's optimizer on copies of the parameters and returns the
caller's arrays after every step; the grader runs ``torch.optim`` on float64 tensors with the same
gradients.  Like a training loop that refills its gradient arrays, the driver hands ``step`` the same
arrays every time, refilled in place: an optimizer that keeps a reference to them (``self.v = list(grads)``)
sees its state overwritten at the next step and drifts from torch.

Tolerance: both sides evaluate the same float64 formula, at most re-associated (torch's Adam uses
``lerp`` and the step-size form ``lr/bc₁ · m / (√v/√bc₂ + ε)``), so over ≤ 20 steps they agree to
~1e-14.  ``rtol=1e-9, atol=1e-12`` leaves a wide margin above that, while a misplaced ε (inside the
square root, or not rescaled in the folded form) changes the update by ε/√v̂ relative — visible when ε
is drawn large or the gradients small, as some examples are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.checks import plans
from grader.checks import strategies as S
from grader.checks.compare import assert_close
from grader.checks.context import Context
from grader.checks.failure import failing_input, python_literal
from grader.checks.replies import ARRAY, INT, fields, list_of, malformed, returns
from grader.checks.standard import named
from grader.i18n import N_, _
from grader.registry import Exercise, exercise

_RTOL, _ATOL = 1e-9, 1e-12


def _case(hyper: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Parameters, hyper-parameters and a gradient sequence (seed, log10 scale, number of steps)."""
    params = st.lists(S.shapes(1, 2, max_side=4), min_size=1, max_size=3).flatmap(
        lambda shapes: st.tuples(*[S.arrays(s, lo=-2.0, hi=2.0) for s in shapes])
    )
    return st.fixed_dictionaries(
        {
            "params": params.map(list),
            "hyper": hyper,
            "seed": S.seeds(),
            "log_scale": st.floats(-4.0, 1.0),
            "steps": st.integers(5, 20),
        }
    )


def gradients(case: dict[str, Any]) -> list[list[np.ndarray]]:
    """The gradient of every parameter at every step."""
    rng = np.random.default_rng(case["seed"])
    scale = 10.0 ** case["log_scale"]
    return [[scale * rng.standard_normal(p.shape) for p in case["params"]] for _ in range(case["steps"])]


def _literal(cls: str, case: dict[str, Any]) -> str:
    kwargs = ", ".join(f"{k}={v!r}" for k, v in case["hyper"].items())
    return (
        f"opt = {cls}(params, {kwargs}) with params = {python_literal(case['params'])}; "
        f"{case['steps']} steps with grads = {10.0 ** case['log_scale']:.3g} * "
        f"np.random.default_rng({case['seed']}).standard_normal(p.shape) for each p, in order"
    )


# ----------------------------------------------------------------------------- worker side
@returns(fields(trajectory=list_of(list_of(ARRAY)), grads_changed_at=INT))
def run_optimizer(student, cls: str, params: list, hyper: dict, grads: list) -> dict:
    """Run ``cls(params, **hyper)`` over ``grads``; the caller's arrays after each step, and what changed.

    The gradients go in through one buffer per parameter, refilled in place before every step (as a caller
    that reuses its gradient arrays does), so state that aliases them is overwritten."""
    import numpy as np

    mine = [np.array(p, copy=True) for p in params]
    caller = list(mine)  # the caller keeps its own references: that is what an in-place update must change
    opt = getattr(student("optim"), cls)(mine, **hyper)
    trajectory, grads_changed_at = [], -1
    given = [np.zeros_like(np.asarray(g, dtype=np.float64)) for g in grads[0]] if grads else []
    for t, step_grads in enumerate(grads):
        for buffer, g in zip(given, step_grads):
            buffer[...] = g
        opt.step(given)
        if grads_changed_at < 0 and not all(np.array_equal(a, b) for a, b in zip(given, step_grads)):
            grads_changed_at = t
        trajectory.append([np.array(p, copy=True) for p in caller])
    return {"trajectory": trajectory, "grads_changed_at": grads_changed_at}


# ----------------------------------------------------------------------------- oracles
def torch_trajectory(
    cls: str, params: list[np.ndarray], hyper: dict[str, Any], grads: list[list[np.ndarray]]
) -> list[list[np.ndarray]]:
    """The parameters after each step of the matching ``torch.optim`` optimizer, in float64."""
    import torch

    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    opt = {
        "GD": lambda: torch.optim.SGD(tensors, lr=hyper["lr"]),
        "SGD": lambda: torch.optim.SGD(tensors, **hyper),
        "Adam": lambda: torch.optim.Adam(tensors, **hyper),
    }[cls]()
    out = []
    for step_grads in grads:
        for t, g in zip(tensors, step_grads):
            t.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append([t.detach().numpy().copy() for t in tensors])
    return out


# ----------------------------------------------------------------------------- checks
def _run(ctx: Context, cls: str, case: dict[str, Any], grads: list[list[np.ndarray]]) -> dict[str, Any]:
    """:func:`run_optimizer` in the worker; its reply holds every parameter after every step."""
    got = ctx.drive(run_optimizer, cls, case["params"], case["hyper"], grads)
    if len(got["trajectory"]) != len(grads) or any(len(p) != len(case["params"]) for p in got["trajectory"]):
        raise malformed(f"reply['trajectory']: not {len(grads)} steps of {len(case['params'])} parameters")
    return got


def optimizer_checks(ex: Exercise, cls: str, hyper: st.SearchStrategy[dict[str, Any]], hint: str) -> None:
    """Against torch.optim over several steps; gradients left alone; parameters updated in place."""
    cases = _case(hyper)

    def run(ctx: Context, case: dict[str, Any]) -> tuple[dict[str, Any], list[list[np.ndarray]]]:
        grads = gradients(case)
        return _run(ctx, cls, case, grads), grads

    @ex.check(named("{function} matches torch.optim over several steps", cls), oracle="torch", points=2, twin=True)
    @plans.answered
    def matches_torch_optim_over_several_steps(ctx: Context) -> None:
        def prop(case: dict[str, Any]) -> None:
            got, grads = run(ctx, case)
            expected = ctx.answer(torch_trajectory, cls, case["params"], case["hyper"], grads)
            for t, (mine, theirs) in enumerate(zip(got["trajectory"], expected)):
                for i, (a, b) in enumerate(zip(mine, theirs)):
                    with failing_input(lambda: _literal(cls, case)):
                        assert_close(
                            a,
                            b,
                            what=_("params[{i}] after step {step}").format(i=i, step=t + 1),
                            rtol=_RTOL,
                            atol=_ATOL,
                            hint=hint,
                        )

        ctx.for_all(cases, prop)

    @ex.check(named("{function}.step leaves the gradients unchanged", cls), oracle="invariant", points=0.5, twin=True)
    def step_leaves_the_gradients_unchanged(ctx: Context) -> None:
        def prop(case: dict[str, Any]) -> None:
            at = run(ctx, case)[0]["grads_changed_at"]
            if at >= 0:
                ctx.fail(
                    _("{cls}.step changed the gradient arrays passed to it (at step {step})").format(
                        cls=cls, step=at + 1
                    ),
                    input=_literal(cls, case),
                    hint=N_("grads belong to the caller: compute lr * g into a new array instead of g *= lr"),
                )

        ctx.for_all(cases, prop, examples=ctx.few_examples)

    @ex.check(named("{function}.step updates the parameters in place", cls), oracle="invariant", points=0.5)
    def step_updates_the_parameters_in_place(ctx: Context) -> None:
        def prop(case: dict[str, Any]) -> None:
            last = run(ctx, case)[0]["trajectory"][-1]
            if all(np.array_equal(a, b) for a, b in zip(last, case["params"])):
                ctx.fail(
                    _("after {steps} steps of {cls}, the caller's parameter arrays are unchanged").format(
                        steps=case["steps"], cls=cls
                    ),
                    input=_literal(cls, case),
                    hint=N_(
                        "update the arrays themselves (p -= lr * g, or p[...] = ...); "
                        "self.params[i] = p - lr * g makes a new array the caller never sees"
                    ),
                )

        ctx.for_all(cases, prop, examples=ctx.few_examples)


_lr = st.floats(1e-4, 0.5)

GD = exercise(
    "optim.gd",
    N_("Gradient descent"),
    points=2,
    seed="3.1, 4.3",
    functions=["GD"],
    hint=N_("for p, g in zip(self.params, grads): p -= self.lr * g  — in place, and never touch g."),
)
optimizer_checks(GD, "GD", st.fixed_dictionaries({"lr": _lr}), N_("w ← w − lr · g: subtract, and scale by lr once"))

SGD = exercise(
    "optim.sgd_momentum",
    N_("Gradient descent with momentum"),
    points=3,
    seed="3.3",
    functions=["SGD"],
    hint=N_(
        "Keep one velocity array per parameter (zeros at first). Each step: v = μ·v + g, then w −= lr·v, all in place."
    ),
)
_momentum = st.one_of(st.just(0.0), st.floats(0.0, 0.99))
optimizer_checks(
    SGD,
    "SGD",
    st.fixed_dictionaries({"lr": _lr, "momentum": _momentum}),
    N_("torch's convention: v ← μ·v + g (no (1 − μ) factor), w ← w − lr·v, velocity kept between steps"),
)

ADAM = exercise(
    "optim.adam",
    N_("Adam"),
    points=4,
    seed="3.3",
    functions=["Adam"],
    hint=N_(
        "Keep m, v (zeros) and a step count t. Each step: t += 1 first; m = β₁m + (1−β₁)g; "
        "v = β₂v + (1−β₂)g²; m̂ = m/(1−β₁ᵗ); v̂ = v/(1−β₂ᵗ); w −= lr·m̂/(√v̂ + ε)."
    ),
)
_adam_hyper = st.fixed_dictionaries(
    {
        "lr": st.floats(1e-4, 0.1),
        "betas": st.tuples(st.floats(0.0, 0.99), st.floats(0.5, 0.9999)),
        "eps": st.floats(-8.0, -1.0).map(lambda e: 10.0**e),
    }
)
optimizer_checks(
    ADAM, "Adam", _adam_hyper, N_("bias-correct both moments with t counted from 1, and add ε after the square root")
)


def _first_step(ctx: Context, case: dict[str, Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The caller's parameters after one Adam step, and the gradients of that step."""
    grads = gradients(case)
    return _run(ctx, "Adam", case, grads)["trajectory"][0], grads[0]


@ADAM.check(N_("the first Adam step moves each weight by lr·g/(|g| + ε)"), oracle="known")
def the_first_adam_step_moves_each_weight_by_lr_g_g(ctx: Context) -> None:
    """After one step m̂ = g and √v̂ = |g| exactly: a check of the bias correction that needs no torch."""

    def prop(case: dict[str, Any]) -> None:
        case = {**case, "steps": 1}
        got, grads = _first_step(ctx, case)
        lr, eps = case["hyper"]["lr"], case["hyper"]["eps"]
        for i, (p, g, after) in enumerate(zip(case["params"], grads, got)):
            with failing_input(lambda: _literal("Adam", case)):
                assert_close(
                    after,
                    p - lr * g / (np.abs(g) + eps),
                    what=_("params[{i}] after the first step").format(i=i),
                    rtol=_RTOL,
                    atol=_ATOL,
                    hint=N_("with bias correction m̂ = g and v̂ = g² after step 1, whatever β₁ and β₂"),
                )

    ctx.for_all(_case(_adam_hyper), prop, examples=ctx.few_examples)
