"""A layer written in the cache-passing style, as the standard checks (``grader.checks.standard``) and the
recorded answers (``grader.checks.known``) see it: its functions, the inputs it accepts, what is
differentiated, and how torch computes the same thing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st


@dataclass(frozen=True)
class Layer:
    """A forward/backward pair and its input domain."""

    forward: str
    backward: str | None  # None: ``forward`` returns (value, *grads) (a loss)
    args: st.SearchStrategy[tuple[Any, ...]]  # valid argument tuples for ``forward``
    grads: tuple[str, ...] = ("dx",)  # names of what ``backward`` returns, in order
    diff: tuple[int, ...] = (0,)  # which arguments those gradients belong to
    torch: Callable[..., Any] | None = None  # torch version of the forward on float64 tensors
    extreme: st.SearchStrategy[tuple[Any, ...]] | None = None  # inputs that overflow a naive formula
    rtol: float = 1e-7
    atol: float = 1e-9
    grad_rtol: float = 1e-5
    grad_atol: float = 1e-7
    hint_forward: str = ""
    hint_backward: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # tells apart checks of one function on several domains
    #: share of the exercise's points the extreme-input check carries, for an exercise whose point is
    #: stability ("Softmax (numerically stable)"); 0: the usual small invariant weight
    stable_share: float = 0.0

    def name(self, text: str) -> str:
        return f"{text} ({self.label})" if self.label else text
