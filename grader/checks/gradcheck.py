"""Gradient checks by central differences in float64, as vector-Jacobian products.

The scalar being differentiated is ``L(x) = sum(dout * f(x))`` for a random upstream gradient ``dout``;
the student's backward must return ``dL/dx`` for every input.  The fast mode compares the directional
derivative along a few random unit directions (a handful of forward calls whatever the tensor size, like
``torch.autograd.gradcheck(fast_mode=True)``); when that fails, an element-wise pass over (a sample of)
the entries finds the worst one.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from grader.checks.compare import as_array, check_shape_dtype
from grader.checks.failure import CheckFailed, Details

#: Evaluates the forward on several input lists at once (one worker round trip), returns the outputs.
BatchedForward = Callable[[list[list[np.ndarray]]], list[np.ndarray]]

#: Allowance for float64 round-off in a central difference: about 1e-16 * |L| / eps, with a margin of 100.
_ROUNDOFF = 1e-8


def _loss(out: np.ndarray, dout: np.ndarray) -> float:
    return float(np.sum(np.asarray(out, dtype=np.float64) * dout))


def _perturbed(inputs: Sequence[np.ndarray], i: int, delta: np.ndarray) -> list[np.ndarray]:
    moved = [np.array(x, dtype=np.float64, copy=True) for x in inputs]
    moved[i] = moved[i] + delta
    return moved


def check_vjp(forward: BatchedForward, inputs: Sequence[np.ndarray], dout: np.ndarray,
              analytic: Sequence[np.ndarray], names: Sequence[str], *, eps: float = 1e-6,
              rtol: float = 1e-5, atol: float = 1e-8, directions: int = 2, max_entries: int = 64,
              seed: int = 0, hint: str = "") -> None:
    """Fail unless ``analytic[i]`` is the gradient of ``sum(dout * forward(inputs))`` w.r.t. ``inputs[i]``."""
    rng = np.random.default_rng(seed)
    tolerance = f"rtol={rtol:g}, atol={atol:g}, eps={eps:g}"
    for i, (x, name) in enumerate(zip(inputs, names)):
        x = np.asarray(x, dtype=np.float64)
        g = as_array(analytic[i], f"the gradient {name}")
        check_shape_dtype(g, x, f"the gradient {name}")
        if not np.all(np.isfinite(g)):
            raise CheckFailed(f"the gradient {name} is not finite", got=repr(g.ravel()[:5]), hint=hint)
        vs = [rng.standard_normal(x.shape) for _ in range(directions)]
        vs = [v / (np.linalg.norm(v) or 1.0) for v in vs]
        batch = []
        for v in vs:
            batch += [_perturbed(inputs, i, eps * v), _perturbed(inputs, i, -eps * v)]
        outs = forward(batch)
        worst = None
        for k, v in enumerate(vs):
            lp, lm = _loss(outs[2 * k], dout), _loss(outs[2 * k + 1], dout)
            numeric = (lp - lm) / (2 * eps)
            analytic_dd = float(np.sum(g * v))
            allowed = atol + rtol * max(abs(numeric), abs(analytic_dd)) + _ROUNDOFF * max(abs(lp), abs(lm))
            if abs(numeric - analytic_dd) > allowed:
                worst = (numeric, analytic_dd)
        if worst is None:
            continue
        _localize(forward, inputs, i, dout, g, name, eps=eps, rtol=rtol, atol=atol, tolerance=tolerance,
                  max_entries=max_entries, rng=rng, hint=hint, directional=worst)


def numerical_gradient(forward: BatchedForward, inputs: Sequence[np.ndarray], i: int, dout: np.ndarray,
                       flat_indices: Sequence[int], eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``sum(dout * f)`` at the given flat indices of input ``i``."""
    x = np.asarray(inputs[i])
    batch = []
    for j in flat_indices:
        e = np.zeros(x.size)
        e[j] = eps
        batch += [_perturbed(inputs, i, e.reshape(x.shape)), _perturbed(inputs, i, -e.reshape(x.shape))]
    outs = forward(batch)
    return np.array([(_loss(outs[2 * k], dout) - _loss(outs[2 * k + 1], dout)) / (2 * eps)
                     for k in range(len(flat_indices))])


def _localize(forward: BatchedForward, inputs: Sequence[np.ndarray], i: int, dout: np.ndarray, g: np.ndarray,
              name: str, *, eps: float, rtol: float, atol: float, tolerance: str, max_entries: int,
              rng: np.random.Generator, hint: str, directional: tuple[float, float]) -> None:
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
            f"the gradient {name} does not match central differences along a random direction "
            f"(the {max_entries} sampled entries agree; the error is elsewhere)",
            Details(expected=f"{num_dd!r} (numerical)", got=f"{ana_dd!r} (your backward)",
                    rel_error=abs(num_dd - ana_dd) / max(abs(num_dd), 1e-12), tolerance=tolerance, hint=hint))
    where = tuple(int(v) for v in np.unravel_index(int(idx[worst]), x.shape))
    sampled = "" if x.size <= max_entries else f" (checked {max_entries} of {x.size} entries)"
    raise CheckFailed(
        f"the gradient {name} does not match central differences{sampled}",
        Details(worst_index=f"{name}{list(where)}" if where else f"{name} (a scalar)",
                expected=f"{float(numeric[worst])!r} (numerical)", got=f"{float(analytic[worst])!r} (your backward)",
                rel_error=float(diff[worst] / max(abs(numeric[worst]), 1e-12)), tolerance=tolerance, hint=hint),
    )
