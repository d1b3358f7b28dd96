"""The gradient where there is no derivative: ReLU at exactly 0, a max-pool window with a tie.

Central differences cannot check these points (the function has a kink there), so the standard domains keep
away from them.  But real data lands on them: trained digits have ties in 1.3% of their pooling windows, and
ReLU inputs are exactly 0 wherever a pixel is blank.  The docstrings state the convention (torch's: relu'(0)
= 0, a tie's gradient to the first maximum in row-major order) and :func:`kink_check` compares the student's
backward with torch autograd on inputs drawn *at* the kinks.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from grader.checks import plans
from grader.checks import strategies as S
from grader.checks.context import Context
from grader.checks.standard import Layer, matches_torch_autograd
from grader.registry import Exercise


def kink_check(ex: Exercise, layer: Layer, name: str, *, points: float = 0.5) -> None:
    """``layer.backward`` against torch autograd on ``layer.args``, a domain drawn at the kinks (oracle torch).

    Exact comparison is fair here: at a kink the question is which element gets the gradient, not rounding.
    """
    assert layer.backward is not None and layer.torch is not None

    @ex.check(name, oracle="torch", points=points, twin=True)
    @plans.answered
    def matches_torch_autograd_at_the_kinks(ctx: Context) -> None:
        ctx.for_all(st.tuples(layer.args, S.seeds()), lambda case: matches_torch_autograd(ctx, layer, case))


@st.composite
def with_zeros(draw: st.DrawFn, shapes: st.SearchStrategy[tuple[int, ...]]) -> np.ndarray:
    """float64 arrays in which a drawn part of the entries (at least one) is exactly 0."""
    x = draw(S.arrays(shapes, away_from=(0.0,)))
    rng = np.random.default_rng(draw(S.seeds()))
    zeros = rng.random(x.shape) < draw(st.sampled_from([0.2, 0.5, 1.0]))
    zeros.flat[rng.integers(x.size)] = True
    return np.where(zeros, 0.0, x)


@st.composite
def with_ties(draw: st.DrawFn, shape: tuple[int, ...]) -> np.ndarray:
    """float64 arrays of ``shape`` whose entries take only a few values (0.5, 1, 1.5 …), so windows tie."""
    rng = np.random.default_rng(draw(S.seeds()))
    levels = draw(st.integers(1, 3))
    return rng.integers(0, levels + 1, shape).astype(np.float64) * 0.5 - 0.5
