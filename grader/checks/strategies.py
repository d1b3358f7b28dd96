"""Input domains, MiniTorch-style: one place that says which inputs each kind of function accepts.

Every strategy draws float64 data, keeps away from kinks (ReLU at 0) and overflow, and is reused by
forward, gradient and invariant checks alike.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOAT = np.float64
#: The size scale in force: a context variable, so grades running side by side (threads of a Dask worker)
#: each keep their own.
_SCALE: contextvars.ContextVar[int] = contextvars.ContextVar("deepgrade_scale", default=1)


@contextmanager
def scaled(k: int) -> Iterator[None]:
    """Within this block, :func:`shapes` and :func:`batch_sizes` draw sides up to ``k`` times larger
    (hidden checks run with ``k = Context.scale``)."""
    token = _SCALE.set(max(1, int(k)))
    try:
        yield
    finally:
        _SCALE.reset(token)


def scale() -> int:
    """The size scale in force (1 for public checks)."""
    return _SCALE.get()


def floats(lo: float = -4.0, hi: float = 4.0, *, away_from: Sequence[float] = (), margin: float = 1e-2):
    """Finite float64 scalars in [lo, hi], at least ``margin`` from each point in ``away_from``."""
    return _floats(lo, hi, tuple(away_from), margin)


def arrays(
    shape: st.SearchStrategy[tuple[int, ...]] | tuple[int, ...],
    *,
    lo: float = -4.0,
    hi: float = 4.0,
    away_from: Sequence[float] = (),
    margin: float = 1e-2,
    unique: bool = False,
):
    """float64 arrays of the given shape(s) with elements from :func:`floats`."""
    if isinstance(shape, st.SearchStrategy):
        return hnp.arrays(FLOAT, shape, elements=floats(lo, hi, away_from=away_from, margin=margin), unique=unique)
    return _arrays(tuple(int(n) for n in shape), lo, hi, tuple(away_from), margin, unique)


def shapes(min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 5):
    """Array shapes; the largest side grows with :func:`scale` (read when each example is drawn)."""
    return st.just(None).flatmap(lambda _: _array_shapes(min_dims, max_dims, min_side, max_side * scale()))


def batch_sizes(lo: int = 1, hi: int = 6):
    """Batch sizes, including 1 (the case that finds squeezed axes); the largest grows with :func:`scale`."""
    return st.just(None).flatmap(lambda _: _integers(lo, hi * scale()))


def seeds():
    """A seed for the upstream gradient and other random data that need not shrink."""
    return st.integers(0, 2**31 - 1)


def matrix(rows: st.SearchStrategy[int], cols: st.SearchStrategy[int], **kw):
    """A 2-D float64 array with independently drawn dimensions."""
    return st.tuples(rows, cols).flatmap(lambda rc: arrays(rc, **kw))


def labels(n: int, classes: int):
    return _labels(int(n), int(classes))


# Internals.  A strategy drawn inside a ``flatmap`` (a shape first, then an array of that shape) is built once per
# distinct argument list, not once per example: strategies are immutable, and one built afresh is validated
# afresh on its first draw, which was most of the cost of drawing an example and of shrinking a failure.
_once = functools.lru_cache(maxsize=4096)


@_once
def _floats(lo: float, hi: float, away_from: tuple[float, ...], margin: float):
    base = st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)

    def push(x: float) -> float:
        for k in away_from:
            if abs(x - k) < margin:
                x = k + margin if x >= k else k - margin
        return x

    return base.map(push) if away_from else base


@_once
def _arrays(shape: tuple[int, ...], lo: float, hi: float, away_from: tuple[float, ...], margin: float, unique: bool):
    return hnp.arrays(FLOAT, shape, elements=_floats(lo, hi, away_from, margin), unique=unique)


@_once
def _array_shapes(min_dims: int, max_dims: int, min_side: int, max_side: int):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


@_once
def _integers(lo: int, hi: int):
    return st.integers(lo, hi)


@_once
def _labels(n: int, classes: int):
    return hnp.arrays(np.int64, (n,), elements=st.integers(0, classes - 1))


def upstream(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """A random upstream gradient ``dout`` of the given shape."""
    return np.random.default_rng(seed).standard_normal(shape)
