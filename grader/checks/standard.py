"""The standard checks of a layer written in the cache-passing style, declared once and reused.

A :class:`Layer` says which functions make the layer, which inputs it accepts (a hypothesis strategy of
argument tuples), which arguments are differentiated, and how torch computes the same thing.  The
factories below register the usual checks for it on an exercise:

* forward against the reference (oracle ``reference``) and against torch (``torch``);
* backward by the fast gradient check (``numerical``) and against torch autograd (``torch``);
* invariants: inputs not mutated (the forward's inputs; the backward's dout and cache), output shape and
  dtype, finite output on extreme inputs (``invariant``);
* forward against the reference's answers recorded on fixed inputs (``known``, see ``grader.checks.known``),
  which works without ``solutions/``.

A loss returns its gradient instead of having a backward (``f(*args) -> (loss, *grads)``, ``backward=None``):
:func:`loss_checks` checks that gradient against the function's own value, torch autograd and extreme inputs.

Every property check gets a hidden twin (``twin=True``, see :meth:`grader.registry.Exercise.check`).
The checks that zeros also pass (gradient check, invariants, recorded answers) declare ``requires=`` the
forward's value checks (:func:`forward_values`), so they score only when the values are right.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.checks import drivers, known, plans, replies
from grader.checks import strategies as S
from grader.checks.compare import as_array, assert_close, real_array, same_array, short
from grader.checks.context import Context, NoReference
from grader.checks.failure import CheckFailed, call_literal, failing_input, python_literal
from grader.checks.gradcheck import check_vjp
from grader.checks.layer import Layer
from grader.i18n import N_, _, template
from grader.registry import Exercise, Oracle


def named(message: str, function: str) -> str:
    """A check's name from a template (translated where it is shown: ``grader.i18n.name``)."""
    return template(message).format(function=function)


def output_of(layer: Layer) -> str:
    """'the output of relu_forward', in the chosen language: what a failure of the forward's value is about."""
    return _("the output of {forward}").format(forward=layer.forward)


def _ref_forward(ctx: Context, layer: Layer, args: Sequence[Any]) -> Any:
    """The reference's output on ``args`` (recorded in the check's plan)."""
    return ctx.answer(lambda: getattr(ctx.reference(), layer.forward)(*args, **layer.kwargs)[0])


def forward_values(layer: Layer) -> tuple[str, ...]:
    """The names of the checks of ``layer``'s forward against the truth on drawn inputs: what the checks a
    do-nothing forward also passes (gradient check, invariants, recorded answers) require to score."""
    names = [layer.name(named("{function} matches the reference", layer.forward))]
    if layer.torch is not None:
        names.append(layer.name(named("{function} matches torch", layer.forward)))
    return tuple(names)


def _student_forward(ctx: Context, layer: Layer, args: Sequence[Any]) -> Any:
    return ctx.call(layer.forward, *args, pick=0, **layer.kwargs)


_TORCH = threading.Lock()


def torch_oracle() -> ModuleType:
    """torch, imported under one lock: a concurrent first import (threads of a Dask worker) can hand one
    thread a half-initialised module."""
    with _TORCH:
        import torch
    return torch


def torch_forward(fn: Callable[..., Any], args: Sequence[Any], diff: Sequence[int] = ()) -> tuple[Any, list[Any]]:
    """Run ``fn`` on float64 tensors; returns the output tensor and the tensors that require grad."""
    torch = torch_oracle()

    tensors = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            t = torch.tensor(a, dtype=torch.float64 if a.dtype.kind == "f" else None)
            if i in diff:
                t.requires_grad_(True)
            tensors.append(t)
        else:
            tensors.append(a)
    return fn(*tensors), [tensors[i] for i in diff]


def forward_checks(ex: Exercise, layer: Layer, *, points: float = 1.0) -> None:
    """Forward against the reference and, where torch has the function, against torch."""

    @ex.check(
        layer.name(named("{function} matches the reference", layer.forward)),
        oracle="reference",
        points=points,
        twin=True,
    )
    def matches_the_reference(ctx: Context) -> None:
        def prop(args: tuple[Any, ...]) -> None:
            with failing_input(lambda: call_literal(layer.forward, args, layer.kwargs)):
                assert_close(
                    _student_forward(ctx, layer, args),
                    _ref_forward(ctx, layer, args),
                    what=output_of(layer),
                    rtol=layer.rtol,
                    atol=layer.atol,
                    hint=layer.hint_forward,
                )

        ctx.for_all(layer.args, prop)

    known.register(ex, layer)

    @ex.check(
        layer.name(named("{function} matches recorded answers", layer.forward)),
        oracle="known",
        points=points,
        requires=forward_values(layer),
    )  # a table of the shipped answers passes it alone
    def matches_recorded_answers(ctx: Context) -> None:
        try:
            recorded = known.cases(ex.id, layer, ctx.reference if ctx.has_reference else None)
        except known.NoKnownAnswers as exc:
            raise NoReference(str(exc)) from None
        for case, (args, expected) in enumerate(recorded):
            with failing_input(lambda: known.input_literal(ex.id, layer, case, args)):
                assert_close(
                    _student_forward(ctx, layer, args),
                    expected,
                    what=output_of(layer),
                    rtol=layer.rtol,
                    atol=layer.atol,
                    hint=layer.hint_forward,
                )

    if layer.torch is not None:

        @ex.check(
            layer.name(named("{function} matches torch", layer.forward)), oracle="torch", points=points, twin=True
        )
        @plans.answered
        def matches_torch(ctx: Context) -> None:
            def prop(args: tuple[Any, ...]) -> None:
                expected = ctx.answer(lambda: torch_forward(layer.torch, args)[0].detach().numpy())  # type: ignore[arg-type]
                with failing_input(lambda: call_literal(layer.forward, args, layer.kwargs)):
                    assert_close(
                        _student_forward(ctx, layer, args),
                        expected,
                        what=output_of(layer),
                        rtol=layer.rtol,
                        atol=layer.atol,
                        hint=layer.hint_forward,
                    )

            ctx.for_all(layer.args, prop)


def _differentiated(
    batched: Callable[[list[list[Any]]], list[Any]], args: Sequence[Any], diff: Sequence[int]
) -> Callable[[list[list[np.ndarray]]], list[np.ndarray]]:
    """The batched forward as a function of the differentiated arguments only (the others held fixed)."""

    def forward(diff_lists: list[list[np.ndarray]]) -> list[np.ndarray]:
        full = []
        for diff_args in diff_lists:
            a = list(args)
            for i, v in zip(diff, diff_args):
                a[i] = v
            full.append(a)
        return batched(full)

    return forward


def student_vjp(
    ctx: Context, layer: Layer, args: tuple[Any, ...], seed: int, shape: tuple[int, ...] | None = None
) -> tuple[np.ndarray, tuple[Any, ...]]:
    """dout (of ``shape``, default the shape of the student's output) and the student's gradients."""
    if shape is None:
        reply = ctx.drive(
            drivers.forward_backward_seeded, ctx.exercise.part, layer.forward, layer.backward, list(args), seed
        )
        dout = S.upstream(real_array(reply["out"], output_of(layer)).shape, seed)
        grads = reply["grads"]
        if grads is None:
            raise replies.malformed("reply['grads']: None for an output of real numbers")
    else:
        dout = S.upstream(shape, seed)
        _unused, grads = ctx.forward_backward(layer.forward, layer.backward, list(args), dout)  # type: ignore[arg-type]
    if len(grads) != len(layer.grads):
        raise CheckFailed(
            _("{backward} should return {n_expected} gradient(s) ({names}), got {n_grads}").format(
                backward=layer.backward,
                n_expected=len(layer.grads),
                names=', '.join(layer.grads),
                n_grads=len(grads),
            )
        )
    return dout, grads


def torch_vjp(layer: Layer, args: tuple[Any, ...], seed: int) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """The output's shape and the gradients torch autograd computes for ``dout = upstream(shape, seed)``."""
    out, leaves = torch_forward(layer.torch, args, layer.diff)  # type: ignore[arg-type]
    out.backward(torch_oracle().tensor(S.upstream(tuple(out.shape), seed)))
    return tuple(out.shape), [leaf.grad.numpy() for leaf in leaves]


def matches_torch_autograd(ctx: Context, layer: Layer, case: tuple[tuple[Any, ...], int]) -> None:
    """The property: the student's backward gives torch autograd's gradients for a random dout."""
    args, seed = case
    shape, expected = ctx.answer(torch_vjp, layer, args, seed)
    _unused, grads = student_vjp(ctx, layer, args, seed, tuple(shape))
    for name, g, e in zip(layer.grads, grads, expected):
        with failing_input(lambda: _("{call} with a random dout").format(call=call_literal(layer.forward, args))):
            assert_close(
                g,
                e,
                what=_("the gradient {name}").format(name=name),
                rtol=layer.grad_rtol,
                atol=layer.grad_atol,
                hint=layer.hint_backward,
            )


def backward_checks(ex: Exercise, layer: Layer, *, points: float = 2.0, torch_grad: bool = False) -> None:
    """Backward by central differences (fast mode, element-wise on failure), optionally against autograd."""
    assert layer.backward is not None

    gradient_check = layer.name(named("{function} passes the gradient check", layer.backward))

    @ex.check(gradient_check, oracle="numerical", points=points, twin=True, requires=forward_values(layer))
    def passes_the_gradient_check(ctx: Context) -> None:
        batched = ctx.batched(layer.forward, pick=0)

        def prop(case: tuple[tuple[Any, ...], int]) -> None:
            args, seed = case
            dout, grads = student_vjp(ctx, layer, args, seed)

            with failing_input(lambda: f"{call_literal(layer.forward, args)}; dout = {python_literal(dout)}"):
                check_vjp(
                    _differentiated(batched, args, layer.diff),
                    [args[i] for i in layer.diff],
                    dout,
                    grads,
                    layer.grads,
                    rtol=layer.grad_rtol,
                    atol=layer.grad_atol,
                    seed=seed,
                    hint=layer.hint_backward,
                )

        ctx.for_all(st.tuples(layer.args, S.seeds()), prop)

    if torch_grad and layer.torch is not None:

        @ex.check(
            layer.name(named("{function} matches torch autograd", layer.backward)),
            oracle="torch",
            points=points / 2,
            twin=True,
        )
        @plans.answered
        def backward_matches_torch_autograd(ctx: Context) -> None:
            ctx.for_all(st.tuples(layer.args, S.seeds()), lambda case: matches_torch_autograd(ctx, layer, case))

    backward_invariant_check(ex, layer, requires=(gradient_check,))


IN_PLACE_HINT = N_(
    "build new arrays (dx = dout * mask, not dout[mask] = 0; a = a * s, not a *= s): "
    "dout and the cache may be used again"
)


def changed_by_backward(
    ctx: Context, fwd: str, bwd: str, args: Sequence[Any], douts: dict[str, np.ndarray]
) -> str | None:
    """What ``bwd(*douts, cache)`` after ``fwd(*args)`` changed in place (the name of an upstream gradient or
    a path into the cache), or None."""
    reply = ctx.drive(drivers.backward_leaves_arguments, ctx.exercise.part, fwd, bwd, list(args), list(douts.values()))
    if len(reply["douts"]) != len(douts):
        raise replies.malformed(f"reply['douts']: expected {len(douts)} arrays, got {len(reply['douts'])}")
    for (name, before), after in zip(douts.items(), reply["douts"]):
        if not same_array(before, after):
            return name
    return reply["cache_changed"]


def backward_invariant_check(ex: Exercise, layer: Layer, *, points: float = 0.5, requires: Sequence[str] = ()) -> None:
    """The backward leaves ``dout`` and the cache as it got them: one that writes into them (``dout[x <= 0] = 0``,
    ``cache *= …``) corrupts a network where dout also flows elsewhere (a skip connection) or a second backward."""
    assert layer.backward is not None
    bwd = layer.backward

    @ex.check(
        layer.name(named("{function} leaves dout and the cache unchanged", bwd)),
        oracle="invariant",
        points=points,
        twin=True,
        requires=tuple(requires),
    )
    def leaves_dout_and_the_cache_unchanged(ctx: Context) -> None:
        def prop(case: tuple[tuple[Any, ...], int]) -> None:
            args, seed = case
            shape = real_array(_student_forward(ctx, layer, args), output_of(layer)).shape
            dout = S.upstream(shape, seed)
            where = changed_by_backward(ctx, layer.forward, bwd, args, {"dout": dout})
            if where is not None:
                raise CheckFailed(
                    _("{bwd} changed {where} in place").format(bwd=bwd, where=where),
                    input=_("{call}; then {bwd}(dout, cache) with dout = {dout}").format(
                        call=call_literal(layer.forward, args), bwd=bwd, dout=python_literal(dout)
                    ),
                    hint=IN_PLACE_HINT,
                )

        ctx.for_all(st.tuples(layer.args, S.seeds()), prop, examples=ctx.few_examples)


def invariant_checks(ex: Exercise, layer: Layer, *, points: float = 0.5) -> None:
    """The inputs are left alone, and extreme inputs give finite outputs."""

    @ex.check(
        layer.name(named("{function} leaves its inputs unchanged", layer.forward)),
        oracle="invariant",
        points=points,
        twin=True,
        requires=forward_values(layer),
    )
    def leaves_its_inputs_unchanged(ctx: Context) -> None:
        def prop(args: tuple[Any, ...]) -> None:
            _unused, after = ctx.call_checking_inputs(layer.forward, *args, pick=0)
            for i, (before, now) in enumerate(zip(args, after)):
                if isinstance(before, np.ndarray) and not same_array(before, now):
                    raise CheckFailed(
                        _("{forward} changed its argument #{position} in place").format(
                            forward=layer.forward, position=i + 1
                        ),
                        input=call_literal(layer.forward, args),
                        hint=N_("work on a copy (x.copy(), or x = x - m rather than x -= m)"),
                    )

        ctx.for_all(layer.args, prop, examples=ctx.few_examples)

    if (extreme := layer.extreme) is not None:
        if layer.stable_share:  # declared last: weigh it against every public check declared before it
            others = sum(c.points for c in ex.checks if not c.hidden)
            points = others * layer.stable_share / (1.0 - layer.stable_share)

        @ex.check(
            layer.name(named("{function} is finite on extreme inputs", layer.forward)),
            oracle="invariant",
            points=points,
            twin=True,
            requires=forward_values(layer),
        )
        def is_finite_on_extreme_inputs(ctx: Context) -> None:
            def prop(args: tuple[Any, ...]) -> None:
                got = real_array(_student_forward(ctx, layer, args), output_of(layer))
                if not np.all(np.isfinite(got)):
                    raise CheckFailed(
                        _("{forward} returned inf or nan for large inputs").format(forward=layer.forward),
                        input=call_literal(layer.forward, args),
                        got=np.array2string(got, threshold=8),
                        hint=layer.hint_forward or N_("use a numerically stable formula"),
                    )
                try:
                    expected = _ref_forward(ctx, layer, args)
                except NoReference:
                    return  # a student release: finiteness is all this check can say
                assert_close(got, expected, what=output_of(layer), rtol=1e-6, atol=1e-9, hint=layer.hint_forward)

            ctx.for_all(extreme, prop, examples=ctx.few_examples)


def _returned(ctx: Context, layer: Layer, args: Sequence[Any]) -> tuple[Any, tuple[Any, ...]]:
    """The student's ``(value, *grads)`` for a function that returns its own gradients."""
    result = ctx.call(layer.forward, *args, **layer.kwargs)
    if not (isinstance(result, tuple) and len(result) == 1 + len(layer.grads)):
        raise CheckFailed(
            _("{forward} should return a tuple (loss, {names})").format(
                forward=layer.forward, names=', '.join(layer.grads)
            ),
            input=call_literal(layer.forward, args, layer.kwargs),
            got=short(result),
        )
    return result[0], result[1:]


def returned_gradient_checks(ex: Exercise, layer: Layer, *, points: float = 2.0) -> None:
    """Checks of a function that returns its value and its gradients, ``f(*args) -> (value, *grads)`` (a loss).

    The gradients are checked as a VJP of the function's own value by central differences (``numerical``),
    against torch autograd (``torch``), and on ``layer.extreme`` for being finite and still correct (torch,
    else the reference).  The value is a scalar, so the upstream gradient is 1 and the VJP is the gradient
    itself: what a failure reports is exactly what the student returned.
    """

    def torch_grads(args: tuple[Any, ...]) -> tuple[Any, list[np.ndarray]]:
        out, leaves = torch_forward(layer.torch, args, layer.diff)  # type: ignore[arg-type]
        out.backward()
        return out.detach().numpy(), [leaf.grad.numpy() for leaf in leaves]

    def compare(
        grads: Sequence[Any], expected: Sequence[np.ndarray], args: tuple[Any, ...], rtol: float, atol: float
    ) -> None:
        for name, g, e in zip(layer.grads, grads, expected):
            with failing_input(lambda: call_literal(layer.forward, args, layer.kwargs)):
                assert_close(
                    g,
                    e,
                    what=_("the gradient {name}").format(name=name),
                    rtol=rtol,
                    atol=atol,
                    hint=layer.hint_backward,
                )

    @ex.check(
        layer.name(named("{function} gradient passes the gradient check", layer.forward)),
        oracle="numerical",
        points=points,
        twin=True,
        requires=forward_values(layer),
    )
    def gradient_passes_the_gradient_check(ctx: Context) -> None:
        batched = ctx.batched(layer.forward, pick=0)

        def prop(args: tuple[Any, ...]) -> None:
            value, grads = _returned(ctx, layer, args)
            value = as_array(value, _("the value of {forward}").format(forward=layer.forward))
            with failing_input(lambda: call_literal(layer.forward, args, layer.kwargs)):
                check_vjp(
                    _differentiated(batched, args, layer.diff),
                    [args[i] for i in layer.diff],
                    np.ones(value.shape),
                    grads,
                    layer.grads,
                    rtol=layer.grad_rtol,
                    atol=layer.grad_atol,
                    seed=ctx.seed,
                    hint=layer.hint_backward,
                )

        ctx.for_all(layer.args, prop)

    if layer.torch is not None:

        @ex.check(
            layer.name(named("{function} gradient matches torch autograd", layer.forward)),
            oracle="torch",
            points=points / 2,
            twin=True,
        )
        @plans.answered
        def gradient_matches_torch_autograd(ctx: Context) -> None:
            def prop(args: tuple[Any, ...]) -> None:
                compare(
                    _returned(ctx, layer, args)[1],
                    ctx.answer(torch_grads, args)[1],
                    args,
                    layer.grad_rtol,
                    layer.grad_atol,
                )

            ctx.for_all(layer.args, prop)

    if (extreme := layer.extreme) is not None:
        oracle: Oracle = "torch" if layer.torch is not None else "reference"

        @ex.check(
            layer.name(named("{function} gradient is finite and correct on extreme inputs", layer.forward)),
            oracle=oracle,
            points=points / 4,
            twin=True,
        )
        @plans.answered
        def gradient_is_finite_and_correct_on_extreme_inputs(ctx: Context) -> None:
            def prop(args: tuple[Any, ...]) -> None:
                value, grads = _returned(ctx, layer, args)
                for name, g in zip(layer.grads, grads):
                    if not np.all(np.isfinite(real_array(g, _("the gradient {name}").format(name=name)))):
                        raise CheckFailed(
                            _("the gradient {name} contains inf or nan for large inputs").format(name=name),
                            input=call_literal(layer.forward, args, layer.kwargs),
                            got=np.array2string(np.asarray(g), threshold=8),
                            hint=layer.hint_forward or N_("use a numerically stable formula"),
                        )
                if layer.torch is not None:
                    expected_value, expected = ctx.answer(torch_grads, args)
                    # the value's finiteness and agreement with the reference are invariant_checks'
                    with failing_input(lambda: call_literal(layer.forward, args, layer.kwargs)):
                        assert_close(
                            value, expected_value, what=output_of(layer), rtol=1e-6, atol=1e-9, hint=layer.hint_forward
                        )
                else:

                    def reference_grads() -> list[Any]:  # called only where no plan answers
                        return list(getattr(ctx.reference(), layer.forward)(*args, **layer.kwargs)[1:])

                    expected = ctx.answer(reference_grads)
                compare(grads, expected, args, 1e-6, 1e-9)

            ctx.for_all(extreme, prop, examples=ctx.few_examples)


def loss_checks(ex: Exercise, layer: Layer) -> Layer:
    """All standard checks of a loss ``f(*args) -> (loss, *grads)`` (``layer.backward`` is None)."""
    forward_checks(ex, layer)
    returned_gradient_checks(ex, layer)
    invariant_checks(ex, layer)
    return layer


def layer_checks(ex: Exercise, layer: Layer, *, torch_grad: bool = True) -> Layer:
    """All standard checks of a layer."""
    forward_checks(ex, layer)
    if layer.backward:
        backward_checks(ex, layer, torch_grad=torch_grad)
    invariant_checks(ex, layer)
    return layer
