"""Comparisons that explain themselves: shape, dtype, finiteness, then values with the worst entry."""
from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.failure import CheckFailed, Details


def as_array(value: Any, what: str) -> np.ndarray:
    """The student's value as an array, or a failure saying what came back instead."""
    if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
        return np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise CheckFailed(f"{what} should be a numpy array, got {type(value).__name__}",
                          got=repr(value)[:200])
    return value


def check_shape_dtype(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    if got.shape != expected.shape:
        raise CheckFailed(f"{what} has the wrong shape", expected=str(expected.shape), got=str(got.shape),
                          hint="check which axis you reduce over and that you do not drop or add a dimension")
    if got.dtype.kind not in ("fc" if expected.dtype.kind == "c" else "f") or \
            got.dtype.itemsize < expected.dtype.itemsize:
        raise CheckFailed(f"{what} has dtype {got.dtype}, expected {expected.dtype}",
                          hint="keep float64 throughout: do not cast to float32 or int")


def assert_close(got: Any, expected: Any, *, what: str, rtol: float, atol: float, hint: str = "") -> None:
    """Fail unless ``|got - expected| <= atol + rtol * |expected|`` everywhere (NaN never passes)."""
    expected = np.asarray(expected)
    got = as_array(got, what)
    if expected.ndim == 0 and got.ndim == 1 and got.size == 1:
        got = got.reshape(())
    check_shape_dtype(got, expected, what)
    tolerance = f"rtol={rtol:g}, atol={atol:g}"
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(expected)):
        bad = np.argwhere(~np.isfinite(got))[0] if got.ndim else ()
        idx = tuple(int(i) for i in bad)
        raise CheckFailed(f"{what} contains {got[idx]} where a finite value was expected",
                          worst_index=str(idx), expected=repr(float(expected[idx])), got=repr(float(got[idx])),
                          hint=hint or "an overflow: subtract the max before exp, or use a stable formula")
    diff = np.abs(got.astype(np.float64) - expected)
    excess = diff - (atol + rtol * np.abs(expected))
    if np.all(excess <= 0):
        return
    idx = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.ndim else ()
    idx = tuple(int(i) for i in idx)
    scale = float(np.max(np.abs(expected))) or 1.0
    raise CheckFailed(
        f"{what} does not match",
        Details(worst_index=str(idx), expected=repr(float(expected[idx])), got=repr(float(got[idx])),
                rel_error=float(diff[idx] / max(abs(float(expected[idx])), scale * 1e-12, 1e-300)),
                tolerance=tolerance, hint=hint),
    )
