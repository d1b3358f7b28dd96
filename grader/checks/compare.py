"""Comparisons that explain themselves: shape, dtype, finiteness, then values with the worst entry."""

from __future__ import annotations

import hashlib
import reprlib
from typing import Any

import numpy as np

from grader.checks.failure import CheckFailed, Details
from grader.i18n import N_, _


def digest(a: np.ndarray) -> bytes:
    """A 16-byte hash of an array: its dtype, shape and bytes (equal arrays of one type and shape hash alike)."""
    c = np.ascontiguousarray(a)
    return hashlib.blake2b(f"{c.dtype.str}{c.shape}".encode() + c.tobytes(), digest_size=16).digest()


def short(value: Any) -> str:
    """A bounded repr of a value from the worker, for a failure's "got"."""
    try:
        return _REPR.repr(value)[:200]
    except ValueError:  # an int too long to print
        return type(value).__name__


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 80, 120, 40


def as_array(value: Any, what: str) -> np.ndarray:
    """The student's value as an array, or a failure saying what came back instead."""
    if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
        return np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise CheckFailed(
            _("{what} should be a numpy array, got {kind}").format(what=what, kind=type(value).__name__),
            got=short(value),
        )
    return value


def real_array(value: Any, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The student's value (an array or a number of a real dtype) as float64, optionally of ``shape``;
    anything else is a failure saying what came back."""
    got = as_array(value, what)
    if got.dtype.names is not None or got.dtype.kind not in "biuf":
        raise CheckFailed(
            _("{what} should hold real numbers, got an array of dtype {got_dtype}").format(
                what=what, got_dtype=got.dtype
            ),
            hint=N_("return float arrays (no complex numbers, strings or objects)"),
        )
    if shape is not None and got.shape != tuple(shape):
        raise CheckFailed(
            _("{what} has the wrong shape").format(what=what), expected=str(tuple(shape)), got=str(got.shape)
        )
    return got.astype(np.float64)


def same_array(before: np.ndarray, now: Any) -> bool:
    """Whether ``now`` (from the worker) is a numeric array equal to ``before``; False for anything else."""
    return (
        isinstance(now, np.ndarray)
        and now.dtype.names is None
        and now.dtype.kind in "biufc"
        and now.shape == before.shape
        and bool(np.array_equal(before, now))
    )


def check_shape_dtype(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    if got.shape != expected.shape:
        raise CheckFailed(
            _("{what} has the wrong shape").format(what=what),
            expected=str(expected.shape),
            got=str(got.shape),
            hint=N_("check which axis you reduce over and that you do not drop or add a dimension"),
        )
    if (
        got.dtype.kind not in ("fc" if expected.dtype.kind == "c" else "f")
        or got.dtype.itemsize < expected.dtype.itemsize
    ):
        raise CheckFailed(
            _("{what} has dtype {got_dtype}, expected {expected_dtype}").format(
                what=what, got_dtype=got.dtype, expected_dtype=expected.dtype
            ),
            hint=N_("keep float64 throughout: do not cast to float32 or int"),
        )


FLOAT32_HINT = N_(
    "your result has float32 precision: keep every array float64 (no astype(np.float32) or float32 inputs)"
)


def float32_precision(got: np.ndarray, expected: np.ndarray, diff: np.ndarray, scale: float) -> bool:
    """Whether a mismatch is float32 rounding of the right answer: every value of ``got`` is a float32 (and
    the expected values are not all), and no error exceeds float32's precision."""
    if got.dtype.kind != "f" or got.size == 0 or expected.dtype.kind != "f":
        return False
    as32 = got.astype(np.float32).astype(np.float64)
    if not np.array_equal(as32, got) or np.array_equal(expected.astype(np.float32).astype(np.float64), expected):
        return False
    return bool(np.all(diff <= 1e-5 * np.maximum(np.abs(expected), scale)))


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
        raise CheckFailed(
            _("{what} contains {got_idx} where a finite value was expected").format(what=what, got_idx=got[idx]),
            worst_index=str(idx),
            expected=repr(float(expected[idx])),
            got=repr(float(got[idx])),
            hint=hint or N_("an overflow: subtract the max before exp, or use a stable formula"),
        )
    diff = np.abs(got.astype(np.float64) - expected)
    excess = diff - (atol + rtol * np.abs(expected))
    if np.all(excess <= 0):
        return
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), excess.shape)) if excess.ndim else ()
    scale = float(np.max(np.abs(expected))) or 1.0
    if float32_precision(got, expected, diff, scale):
        hint = FLOAT32_HINT  # the formula is right: an exercise's hint about the formula would mislead
    raise CheckFailed(
        _("{what} does not match").format(what=what),
        Details(
            worst_index=str(idx),
            expected=repr(float(expected[idx])),
            got=repr(float(got[idx])),
            rel_error=float(diff[idx] / max(abs(float(expected[idx])), scale * 1e-12, 1e-300)),
            tolerance=tolerance,
            hint=hint,
        ),
    )
