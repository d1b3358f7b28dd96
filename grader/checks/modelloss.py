"""Standard checks of a model's loss function ``loss_fn(params, X, y) -> (loss, grads)``.

``params`` and ``grads`` are dicts of arrays with the same keys.  Two checks are registered: the loss and
every gradient against the reference (oracle ``reference``), and every gradient against central differences
of the student's own loss (oracle ``numerical``, the fast check of :mod:`grader.checks.gradcheck`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.checks import strategies as S
from grader.checks.compare import assert_close
from grader.checks.context import Context
from grader.checks.failure import CheckFailed
from grader.checks.gradcheck import check_vjp
from grader.checks.replies import ANY, dict_of, fields, list_of, returns
from grader.i18n import _
from grader.isolation.worker.client import StudentError
from grader.registry import Exercise

#: seed -> (params, X, y): a small random problem for the model
Case = Callable[[int], tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]]


def case_input(case: Case, name: str, seed: int) -> str:
    """Python that rebuilds the failing problem: the case's arrays are hundreds of numbers, and a bare
    ``example = <seed>`` says nothing a student can paste."""
    return (
        f"from {case.__module__} import {case.__name__}; params, X, y = {case.__name__}({seed}); {name}(params, X, y)"
    )


def _on_case(case: Case, name: str, prop: Callable[[int], None]) -> Callable[[int], None]:
    """``prop`` whose failures (the check's or the student's code's) name the pasteable problem."""

    def run(seed: int) -> None:
        try:
            prop(seed)
        except CheckFailed as exc:
            raise exc.with_input(case_input(case, name, seed)) from None
        except StudentError as exc:
            label = "\n" + _("input:")
            if exc.fatal or label in exc.message:
                raise
            raise StudentError(exc.kind, f"{exc.message}{label} {case_input(case, name, seed)}") from None

    return run


@returns(fields(loss=ANY, grads=dict_of(ANY)))
def model_loss_and_grads(student: Any, part: str, name: str, params: dict, X: Any, y: Any) -> dict:
    """Worker side: ``loss, grads = part.name(params, X, y)``."""
    returned = getattr(student(part), name)(dict(params), X, y)
    if not (isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], dict)):
        raise TypeError(f"{name} must return (loss, grads) with grads a dict")
    return {"loss": returned[0], "grads": returned[1]}


@returns(list_of(ANY))
def model_losses_at(
    student: Any, part: str, name: str, params: dict, X: Any, y: Any, keys: list, value_lists: list
) -> list:
    """Worker side: the loss with ``params[keys[i]]`` replaced by each list of values in turn."""
    fn = getattr(student(part), name)
    out = []
    for values in value_lists:
        p = dict(params)
        p.update(zip(keys, values))
        out.append(fn(p, X, y)[0])
    return out


def _grads(reply: dict, keys: tuple[str, ...], name: str) -> dict[str, Any]:
    grads = reply["grads"]
    missing = [k for k in keys if k not in grads]
    if missing:
        raise CheckFailed(
            _("the grads returned by {name} lack {missing}").format(name=name, missing=', '.join(missing)),
            got=", ".join(map(str, grads)),
        )
    return grads


def model_loss_checks(
    ex: Exercise,
    name: str,
    case: Case,
    keys: tuple[str, ...],
    *,
    hint: str = "",
    points: float = 1.0,
    examples: int = 5,
) -> None:
    """Register the reference and gradient checks of ``name(params, X, y) -> (loss, grads)``."""

    @ex.check(f"{name} matches the reference", oracle="reference", points=points, twin=True)
    def matches_the_reference(ctx: Context) -> None:
        def prop(seed: int) -> None:
            params, X, y = case(seed)
            got = ctx.drive(model_loss_and_grads, ex.part, name, params, X, y)
            loss, grads = getattr(ctx.reference(), name)(params, X, y)
            assert_close(
                got["loss"], loss, what=_("the loss of {name}").format(name=name), rtol=1e-7, atol=1e-10, hint=hint
            )
            mine = _grads(got, keys, name)
            for k in keys:
                assert_close(mine[k], grads[k], what=_("the gradient {k}").format(k=k), rtol=1e-6, atol=1e-9, hint=hint)

        ctx.for_all(S.seeds(), _on_case(case, name, prop), examples=examples)

    @ex.check(f"{name} passes the gradient check", oracle="numerical", points=points, twin=True)
    def passes_the_gradient_check(ctx: Context) -> None:
        def prop(seed: int) -> None:
            params, X, y = case(seed)
            grads = _grads(ctx.drive(model_loss_and_grads, ex.part, name, params, X, y), keys, name)

            def forward(value_lists: list[list[np.ndarray]]) -> list[np.ndarray]:
                return ctx.drive(model_losses_at, ex.part, name, params, X, y, list(keys), value_lists)

            check_vjp(
                forward,
                [params[k] for k in keys],
                np.asarray(1.0),
                [grads[k] for k in keys],
                keys,
                rtol=1e-5,
                atol=1e-8,
                seed=seed,
                hint=hint,
            )

        ctx.for_all(st.integers(0, 2**31 - 1), _on_case(case, name, prop), examples=examples)
