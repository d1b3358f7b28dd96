"""Gradient checks by central differences in float64, as vector-Jacobian products.

The scalar being differentiated is ``L(x) = sum(dout * f(x))`` for a random upstream gradient ``dout``;
the student's backward must return ``dL/dx`` for every input.  The fast mode compares the directional
derivative along a few random unit directions (a handful of forward calls whatever the tensor size, like
``torch.autograd.gradcheck(fast_mode=True)``), first with every input moved at once (two forward calls a
direction whatever the number of inputs: a wrong gradient of any input changes the sum
``Σᵢ <dL/dxᵢ, vᵢ>`` along almost every direction), then, only where that disagrees, one input at a time;
where one input disagrees, an element-wise pass over (a sample of) its entries finds the worst one.

The directions are drawn from the check's seed *and the gradients the student's backward returned*, once it has
returned them: the seed alone reaches the worker (``drivers.forward_backward_seeded`` draws ``dout`` from it), and
directions known in advance let a backward return a vector that is right along them only.  Drawn from a digest of
the returned gradients, they are fixed only once the gradients are, and a backward cannot aim at them
(``tests/adversarial/test_batch_attacks.py``); the same gradients still always meet the same directions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from grader.checks.compare import as_array, check_shape_dtype, digest, real_array
from grader.checks.failure import CheckFailed, Details
from grader.checks.replies import describe, malformed
from grader.i18n import N_, _

#: Evaluates the forward on several input lists at once (one worker round trip), returns the outputs (as the
#: student's code returned them: anything; they are checked here).
BatchedForward = Callable[[list[list[np.ndarray]]], list[Any]]

#: Allowance for float64 round-off in a central difference: about 1e-16 * |L| / eps, with a margin of 100.
_ROUNDOFF = 1e-8


def _loss(out: Any, dout: np.ndarray) -> float:
    """sum(dout * out) for one output of the forward, which must be a real array of dout's shape."""
    got = real_array(out, _("the output of the forward on a slightly moved input"))
    if got.shape != dout.shape and not (got.size == dout.size == 1):
        raise CheckFailed(
            _("the output of the forward on a slightly moved input has another shape"),
            expected=str(dout.shape),
            got=str(got.shape),
            hint=N_("the output's shape must depend only on the inputs' shapes"),
        )
    return float(np.sum(got.reshape(dout.shape) * dout))


def _outputs(forward: BatchedForward, batch: list[list[np.ndarray]]) -> list[Any]:
    """The forward on each input list of ``batch``: exactly one output per list."""
    outs = forward(batch)
    if not isinstance(outs, list) or len(outs) != len(batch):
        raise malformed(f"{describe(outs)} as the outputs of {len(batch)} inputs")
    return outs


def _perturbed(inputs: Sequence[np.ndarray], i: int, delta: np.ndarray) -> list[np.ndarray]:
    moved = [np.array(x, dtype=np.float64, copy=True) for x in inputs]
    moved[i] = moved[i] + delta
    return moved


def check_vjp(
    forward: BatchedForward,
    inputs: Sequence[np.ndarray],
    dout: np.ndarray,
    analytic: Sequence[np.ndarray],
    names: Sequence[str],
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    directions: int = 2,
    max_entries: int = 64,
    seed: int = 0,
    hint: str = "",
) -> None:
    """Fail unless ``analytic[i]`` is the gradient of ``sum(dout * forward(inputs))`` w.r.t. ``inputs[i]``."""
    tolerance = f"rtol={rtol:g}, atol={atol:g}, eps={eps:g}"
    if len(analytic) != len(inputs):
        raise CheckFailed(
            _("expected {n_inputs} gradient(s) ({names}), got {n_analytic}").format(
                n_inputs=len(inputs), names=', '.join(names), n_analytic=len(analytic)
            )
        )
    grads: list[np.ndarray] = []
    for i, (x, name) in enumerate(zip(inputs, names)):
        x = np.asarray(x, dtype=np.float64)
        g = as_array(analytic[i], _("the gradient {name}").format(name=name))
        check_shape_dtype(g, x, _("the gradient {name}").format(name=name))
        if not np.all(np.isfinite(g)):
            raise CheckFailed(
                _("the gradient {name} is not finite").format(name=name), got=repr(g.ravel()[:5]), hint=hint
            )
        grads.append(g)
    rng = np.random.default_rng([seed, *_digest(grads)])
    directions_of, states = [], []
    for x in inputs:
        vs = [rng.standard_normal(np.shape(x)) for _unused in range(directions)]
        directions_of.append([v / (np.linalg.norm(v) or 1.0) for v in vs])
        states.append(rng.bit_generator.state)  # where a failure of input i samples its entries from
    if len(inputs) > 1 and _agrees_jointly(forward, inputs, dout, grads, rng, eps, rtol, atol, directions):
        return
    # one input at a time, every input's moves in one round trip
    batch = [
        _perturbed(inputs, i, sign * eps * v) for i, vs in enumerate(directions_of) for v in vs for sign in (1, -1)
    ]
    outs = iter(_outputs(forward, batch))
    for i, (g, vs, name) in enumerate(zip(grads, directions_of, names)):
        worst = None
        for v in vs:
            lp, lm = _loss(next(outs), dout), _loss(next(outs), dout)
            analytic_dd = float(np.sum(g * v))
            if not _agrees(lp, lm, analytic_dd, eps, rtol, atol):
                worst = ((lp - lm) / (2 * eps), analytic_dd)
        if worst is None:
            continue
        rng.bit_generator.state = states[i]
        _localize(
            forward,
            inputs,
            i,
            dout,
            g,
            name,
            eps=eps,
            rtol=rtol,
            atol=atol,
            tolerance=tolerance,
            max_entries=max_entries,
            rng=rng,
            hint=hint,
            directional=worst,
        )


def _digest(grads: Sequence[np.ndarray]) -> list[int]:
    """The gradients' digests (:func:`compare.digest`) as 32-bit words, to seed the directions with."""
    raw = b"".join(digest(g) for g in grads)
    return [int.from_bytes(raw[k : k + 4], "little") for k in range(0, len(raw), 4)]


def _agrees(lp: float, lm: float, analytic: float, eps: float, rtol: float, atol: float) -> bool:
    """The central difference of the loss values ``lp``, ``lm`` agrees with the analytic directional derivative."""
    numeric = (lp - lm) / (2 * eps)
    allowed = atol + rtol * max(abs(numeric), abs(analytic)) + _ROUNDOFF * max(abs(lp), abs(lm))
    return abs(numeric - analytic) <= allowed


def _agrees_jointly(
    forward: BatchedForward,
    inputs: Sequence[np.ndarray],
    dout: np.ndarray,
    grads: Sequence[np.ndarray],
    rng: np.random.Generator,
    eps: float,
    rtol: float,
    atol: float,
    directions: int,
) -> bool:
    """Every input moved at once along its own random direction: does the sum of the directional derivatives
    match the central difference, along each of ``directions`` directions?

    It may only say yes where one input at a time would: each input's direction has a random length (0.5 to
    1.5), so errors of two inputs cannot cancel (a scalar's direction is otherwise only ±1: swapped gradients of
    two scalars would cancel half the time), and the tolerance is that of the *smallest* input's part of the
    sum, so a large input's gradient cannot hide a small input's error.  A "no" costs only the per-input pass.
    """
    moves = []
    for _unused in range(directions):
        vs = [rng.standard_normal(np.shape(x)) for x in inputs]
        moves.append([v * rng.uniform(0.5, 1.5) / (np.linalg.norm(v) or 1.0) for v in vs])
    batch = [
        [np.asarray(x, dtype=np.float64) + sign * eps * v for x, v in zip(inputs, vs)]
        for vs in moves
        for sign in (1, -1)
    ]
    outs = iter(_outputs(forward, batch))
    agree = True
    for vs in moves:
        lp, lm = _loss(next(outs), dout), _loss(next(outs), dout)
        parts = [float(np.sum(g * v)) for g, v in zip(grads, vs)]
        numeric, analytic = (lp - lm) / (2 * eps), sum(parts)
        allowed = atol + rtol * min(abs(p) for p in parts) + _ROUNDOFF * max(abs(lp), abs(lm))
        agree &= abs(numeric - analytic) <= allowed
    return agree


def numerical_gradient(
    forward: BatchedForward,
    inputs: Sequence[np.ndarray],
    i: int,
    dout: np.ndarray,
    flat_indices: Sequence[int],
    eps: float = 1e-6,
) -> np.ndarray:
    """Central differences of ``sum(dout * f)`` at the given flat indices of input ``i``."""
    x = np.asarray(inputs[i])
    batch = []
    for j in flat_indices:
        e = np.zeros(x.size)
        e[j] = eps
        batch += [_perturbed(inputs, i, e.reshape(x.shape)), _perturbed(inputs, i, -e.reshape(x.shape))]
    outs = _outputs(forward, batch)
    return np.array(
        [(_loss(outs[2 * k], dout) - _loss(outs[2 * k + 1], dout)) / (2 * eps) for k in range(len(flat_indices))]
    )


def _localize(
    forward: BatchedForward,
    inputs: Sequence[np.ndarray],
    i: int,
    dout: np.ndarray,
    g: np.ndarray,
    name: str,
    *,
    eps: float,
    rtol: float,
    atol: float,
    tolerance: str,
    max_entries: int,
    rng: np.random.Generator,
    hint: str,
    directional: tuple[float, float],
) -> None:
    """The fast check failed: find the worst entry element by element (on a sample of big tensors)."""
    x = np.asarray(inputs[i])
    idx = np.arange(x.size) if x.size <= max_entries else np.sort(rng.choice(x.size, max_entries, replace=False))
    numeric = numerical_gradient(forward, inputs, i, dout, idx.tolist(), eps)
    analytic = g.ravel()[idx]
    diff = np.abs(numeric - analytic)
    excess = diff - (atol + rtol * np.maximum(np.abs(numeric), np.abs(analytic)))
    worst = int(np.argmax(excess))
    if excess[worst] <= 0 and x.size <= max_entries:
        return  # every entry agrees: the directional mismatch was round-off
    if excess[worst] <= 0:
        num_dd, ana_dd = directional
        raise CheckFailed(
            _(
                "the gradient {name} does not match central differences along a random "
                "direction (the {max_entries} sampled entries agree; the error is "
                "elsewhere)"
            ).format(name=name, max_entries=max_entries),
            Details(
                expected=_("{value} (numerical)").format(value=repr(num_dd)),
                got=_("{value} (your backward)").format(value=repr(ana_dd)),
                rel_error=abs(num_dd - ana_dd) / max(abs(num_dd), 1e-12),
                tolerance=tolerance,
                hint=hint,
            ),
        )
    where = tuple(int(v) for v in np.unravel_index(int(idx[worst]), x.shape))
    sampled = (
        ""
        if x.size <= max_entries
        else _(" (checked {checked} of {size} entries)").format(checked=max_entries, size=x.size)
    )
    raise CheckFailed(
        _("the gradient {name} does not match central differences{sampled}").format(name=name, sampled=sampled),
        Details(
            worst_index=f"{name}{list(where)}" if where else _("{name} (a scalar)").format(name=name),
            expected=_("{value} (numerical)").format(value=repr(float(numeric[worst]))),
            got=_("{value} (your backward)").format(value=repr(float(analytic[worst]))),
            rel_error=float(diff[worst] / max(abs(numeric[worst]), 1e-12)),
            tolerance=tolerance,
            hint=hint,
        ),
    )
