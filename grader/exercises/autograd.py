"""Part 4 — a scalar autograd engine (seed 3.2), compared with torch autograd on random expression graphs.

A graph is plain data, a *program*: a list of steps, each one node (see :func:`render` for their meaning).
Hypothesis draws programs with reused nodes, diamonds and deep chains, keeping every operation inside its
domain (log of positives, division away from 0, ReLU away from its kink, no overflow).  The worker-side
driver :func:`run_program` builds the graph with the student's ``Value`` and returns plain numbers; the
grader rebuilds the same program in torch float64.

* ``autograd.ops`` builds nodes with the student's operations and runs a *driver-side* backward pass (a
  topological sort over ``_prev`` calling each ``_backward``), so the operations are graded on their own.
* ``autograd.backward`` builds nodes with the given constructor ``Value(data, children, op)`` and the
  driver's own ``_backward`` functions, then calls the student's ``backward()``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.checks import plans
from grader.checks import strategies as S
from grader.checks.compare import assert_close
from grader.checks.context import Context
from grader.checks.failure import CheckFailed, failing_input
from grader.checks.replies import NUMBER, fields, list_of, malformed, returns
from grader.i18n import N_, _
from grader.registry import exercise

Program = list[tuple[Any, ...]]

#: Magnitude bound of every node's value: keeps chains of products and powers far from overflow.
_BOUND = 50.0
#: Relative tolerance of values and gradients.  Student and torch evaluate the same float64 formulas,
#: possibly re-associated (a/b as a·b⁻¹, a−b as a+(−b)); over at most ~40 nodes that is ~1e-14 relative,
#: except where contributions cancel, which the absolute part (relative to the largest gradient) covers.
_RTOL, _ATOL = 1e-7, 1e-9

OPS = exercise(
    "autograd.ops",
    N_("Value: operations, their values and local derivatives"),
    points=6,
    seed="3.2",
    functions=[
        "Value.__add__",
        "Value.__mul__",
        "Value.__pow__",
        "Value.exp",
        "Value.log",
        "Value.tanh",
        "Value.relu",
        "Value.__neg__",
        "Value.__sub__",
        "Value.__truediv__",
        "Value.__radd__",
        "Value.__rmul__",
        "Value.__rsub__",
        "Value.__rtruediv__",
    ],
    hint=N_(
        "Each operation returns out = Value(result, (inputs...), op) and sets out._backward to a function "
        "that ADDS out.grad × ∂out/∂input to each input's grad (+=, so a reused input gets both parts). "
        "Wrap plain numbers in Value first; derive −, ÷ and the r-versions from +, ×, ** so that only "
        "seven local derivatives are written by hand."
    ),
)

BACKWARD = exercise(
    "autograd.backward",
    N_("Value.backward: reverse topological order and accumulation"),
    points=4,
    seed="3.2",
    functions=["Value.backward"],
    hint=N_(
        "Build a topological order (depth-first: visit the inputs in _prev, then append the node; a set of "
        "visited nodes so a shared node appears once), set self.grad = 1, then call _backward() on the "
        "nodes in reversed order. Never reset grads: they accumulate."
    ),
)


# ----------------------------------------------------------------------------- programs
def render(program: Program) -> str:
    """The program as Python a student can paste (``from autograd import Value`` assumed).

    Steps: ``("leaf", x)``; ``("bin", op, i, j)`` is ``v[i] op v[j]``; ``("left", op, i, c)`` is
    ``v[i] op c``; ``("right", op, c, i)`` is ``c op v[i]``; ``("pow", i, k)``; ``("neg", i)``;
    ``("fn", name, i)`` is ``v[i].name()``.  The last node is the output.
    """
    lines = []
    for k, step in enumerate(program):
        kind = step[0]
        expr = {
            "leaf": lambda s: f"Value({s[1]!r})",
            "bin": lambda s: f"v{s[2]} {s[1]} v{s[3]}",
            "left": lambda s: f"v{s[2]} {s[1]} {s[3]!r}",
            "right": lambda s: f"{s[2]!r} {s[1]} v{s[3]}",
            "pow": lambda s: f"v{s[1]} ** {s[2]!r}",
            "neg": lambda s: f"-v{s[1]}",
            "fn": lambda s: f"v{s[2]}.{s[1]}()",
        }[kind](step)
        lines.append(f"v{k} = {expr}")
    return "; ".join(lines + [f"v{len(program) - 1}.backward()"])


_ARITH = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}
_FN = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "relu": lambda a: max(a, 0.0)}
_POWERS = (2, 3, -1, 0.5, 1.5, -2)


def _evaluate(step: tuple[Any, ...], v: list[float]) -> float | None:
    """The value of one step, or None where it leaves the domain kept by the checks."""
    kind = step[0]
    try:
        if kind == "bin":
            a, b = v[step[2]], v[step[3]]
            if step[1] == "/" and abs(b) < 0.1:
                return None
            r = _ARITH[step[1]](a, b)
        elif kind == "left":
            r = _ARITH[step[1]](v[step[2]], step[3])
        elif kind == "right":
            a = v[step[3]]
            if step[1] == "/" and abs(a) < 0.1:
                return None
            r = _ARITH[step[1]](step[2], a)
        elif kind == "pow":
            a, k = v[step[1]], step[2]
            if (k < 0 and abs(a) < 0.3) or (not float(k).is_integer() and a < 0.1):
                return None
            r = a**k
        elif kind == "neg":
            r = -v[step[1]]
        else:
            a = v[step[2]]
            if (
                (step[1] == "log" and a < 0.1)
                or (step[1] == "relu" and abs(a) < 1e-2)
                or (step[1] == "exp" and a > 3.0)
            ):
                return None
            r = _FN[step[1]](a)
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    return r if abs(r) <= _BOUND else None


@st.composite
def programs(draw: st.DrawFn, max_steps: int = 14) -> Program:
    """A random expression graph over 1-4 leaves: chains, reused nodes and diamonds, all in domain.

    Nodes that nothing uses are added, weighted, into the output, so each one's derivative matters.
    """
    values = [draw(S.floats(-2.0, 2.0, away_from=(0.0,), margin=0.1)) for _ in range(draw(st.integers(1, 4)))]
    program: Program = [("leaf", x) for x in values]
    const = S.floats(-3.0, 3.0, away_from=(0.0,), margin=0.1)
    for _step in range(draw(st.integers(1, max_steps))):
        last = len(program) - 1
        node = st.one_of(st.just(last), st.integers(0, last))  # the last node makes chains, any node reuse
        i, j = draw(node), draw(node)
        kind = draw(st.sampled_from(("bin", "bin", "left", "right", "pow", "neg", "fn", "fn")))
        step: tuple[Any, ...] = {
            "bin": lambda: ("bin", draw(st.sampled_from("+-*/")), i, j),
            "left": lambda: ("left", draw(st.sampled_from("+-*/")), i, draw(const)),
            "right": lambda: ("right", draw(st.sampled_from("+-*/")), draw(const), i),
            "pow": lambda: ("pow", i, draw(st.sampled_from(_POWERS))),
            "neg": lambda: ("neg", i),
            "fn": lambda: ("fn", draw(st.sampled_from(sorted(_FN))), i),
        }[kind]()
        r = _evaluate(step, values)
        if r is None:  # out of domain: squash instead, which is always defined and bounded
            step, r = ("fn", "tanh", i), math.tanh(values[i])
        program.append(step)
        values.append(r)
    used = {k for s in program if s[0] in ("bin", "left", "right", "fn") for k in s[2:] if isinstance(k, int)} | {
        s[1] for s in program if s[0] in ("pow", "neg")
    }
    for k in range(len(program) - 1):  # every node feeds the output, so every local derivative counts
        if k not in used:  # ... with a weight ≠ 1, so a forgotten out.grad shows
            program.append(("left", "*", k, draw(const)))
            program.append(("bin", "+", len(program) - 2, len(program) - 1))
    return program


def torch_program(program: Program) -> tuple[np.ndarray, np.ndarray]:
    """Values and gradients (∂output/∂node, 0 where unused) of every node, by torch float64 autograd."""
    import torch

    fns = {"exp": torch.exp, "log": torch.log, "tanh": torch.tanh, "relu": torch.relu}
    nodes: list[Any] = []
    for step in program:
        kind = step[0]
        if kind == "leaf":
            t = torch.tensor(step[1], dtype=torch.float64, requires_grad=True)
        elif kind == "bin":
            t = _ARITH[step[1]](nodes[step[2]], nodes[step[3]])
        elif kind == "left":
            t = _ARITH[step[1]](nodes[step[2]], step[3])
        elif kind == "right":
            t = _ARITH[step[1]](step[2], nodes[step[3]])
        elif kind == "pow":
            t = nodes[step[1]] ** step[2]
        elif kind == "neg":
            t = -nodes[step[1]]
        else:
            t = fns[step[1]](nodes[step[2]])
        if not t.is_leaf:
            t.retain_grad()
        nodes.append(t)
    nodes[-1].backward()
    data = np.array([t.item() for t in nodes])
    grads = np.array([0.0 if t.grad is None else t.grad.item() for t in nodes])
    return data, grads


# ----------------------------------------------------------------------------- worker side
@returns(
    fields(data=list_of(NUMBER), grads=list_of(NUMBER), leaf_grads=list_of(list_of(NUMBER)), out_grads=list_of(NUMBER))
)
def run_program(student, program: list, mode: str, passes: int) -> dict:
    """Build ``program`` with the student's Value ``passes`` times on the same leaves, backward each time.

    mode "ops": the student's operations, the driver's backward pass; mode "engine": nodes made with
    ``Value(data, children, op)`` and the driver's ``_backward``, the student's ``backward()``.
    Returns the data and grads of every node after the first pass, the output's grad and the leaves'
    grads after each pass.
    """
    import math
    import operator

    Value = student("autograd").Value
    arith = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
    n_leaves = sum(1 for s in program if s[0] == "leaf")
    leaves = [Value(s[1]) for s in program[:n_leaves]]

    def node(data, pairs, op):  # engine mode: a node whose _backward is the driver's chain rule
        out = Value(data, tuple(c for c, _ in pairs), op)

        def _backward():
            for child, local in pairs:
                child.grad += local * out.grad

        out._backward = _backward
        return out

    def step_ops(s, v):
        kind = s[0]
        if kind == "bin":
            return arith[s[1]](v[s[2]], v[s[3]])
        if kind == "left":
            return arith[s[1]](v[s[2]], s[3])
        if kind == "right":
            return arith[s[1]](s[2], v[s[3]])
        if kind == "pow":
            return v[s[1]] ** s[2]
        if kind == "neg":
            return -v[s[1]]
        return getattr(v[s[2]], s[1])()

    def step_engine(s, v):
        kind = s[0]
        if kind == "bin":
            a, b = v[s[2]], v[s[3]]
            local = {
                "+": lambda: (1.0, 1.0),
                "-": lambda: (1.0, -1.0),
                "*": lambda: (b.data, a.data),
                "/": lambda: (1.0 / b.data, -a.data / b.data**2),
            }[s[1]]()
            return node(arith[s[1]](a.data, b.data), [(a, local[0]), (b, local[1])], s[1])
        if kind == "left":
            a, c = v[s[2]], s[3]
            local = {"+": lambda: 1.0, "-": lambda: 1.0, "*": lambda: c, "/": lambda: 1.0 / c}[s[1]]()
            return node(arith[s[1]](a.data, c), [(a, local)], s[1])
        if kind == "right":
            c, a = s[2], v[s[3]]
            local = {"+": lambda: 1.0, "-": lambda: -1.0, "*": lambda: c, "/": lambda: -c / a.data**2}[s[1]]()
            return node(arith[s[1]](c, a.data), [(a, local)], s[1])
        if kind == "pow":
            a, k = v[s[1]], s[2]
            return node(a.data**k, [(a, k * a.data ** (k - 1))], f"**{k}")
        if kind == "neg":
            return node(-v[s[1]].data, [(v[s[1]], -1.0)], "neg")
        a, x = v[s[2]], v[s[2]].data
        value = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "relu": lambda t: max(t, 0.0)}[s[1]](x)
        local = {
            "exp": lambda: value,
            "log": lambda: 1.0 / x,
            "tanh": lambda: 1.0 - value * value,
            "relu": lambda: float(x > 0),
        }[s[1]]()
        return node(value, [(a, local)], s[1])

    def driver_backward(root):  # iterative depth-first topological sort over _prev
        order, seen, stack = [], set(), [(root, False)]
        while stack:
            v, done = stack.pop()
            if done:
                order.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((c, False) for c in v._prev)
        root.grad = 1.0
        for v in reversed(order):
            v._backward()

    first: dict = {}
    leaf_grads, out_grads = [], []
    for _pass in range(passes):
        nodes = list(leaves)
        for k, s in enumerate(program[n_leaves:], start=n_leaves):
            out = (step_ops if mode == "ops" else step_engine)(s, nodes)
            if not isinstance(out, Value):
                raise TypeError(f"step v{k} returned {type(out).__name__}, expected a Value")
            nodes.append(out)
        if mode == "ops":
            driver_backward(nodes[-1])
        else:
            nodes[-1].backward()
        if not first:
            first = {"data": [float(v.data) for v in nodes], "grads": [float(v.grad) for v in nodes]}
        leaf_grads.append([float(v.grad) for v in leaves])
        out_grads.append(float(nodes[-1].grad))
    return {**first, "leaf_grads": leaf_grads, "out_grads": out_grads}


# ----------------------------------------------------------------------------- checks
def _run(ctx: Context, program: Program, mode: str, passes: int) -> dict[str, Any]:
    """:func:`run_program` in the worker; its reply holds one number per node and one list per pass."""
    got = ctx.drive(run_program, program, mode, passes)
    leaves = sum(1 for s in program if s[0] == "leaf")
    if len(got["data"]) != len(program) or len(got["grads"]) != len(program):
        raise malformed(
            f"reply['data'], reply['grads']: {len(got['data'])} and {len(got['grads'])} values for {len(program)} nodes"
        )
    if (
        len(got["out_grads"]) != passes
        or len(got["leaf_grads"]) != passes
        or any(len(g) != leaves for g in got["leaf_grads"])
    ):
        raise malformed(f"reply['leaf_grads'], reply['out_grads']: not {passes} pass(es) of {leaves} leaves")
    return got


def _compare(got: Any, expected: np.ndarray, what: str, program: Program, hint: str = "") -> None:
    scale = max(1.0, float(np.max(np.abs(expected))))
    with failing_input(lambda: render(program)):
        assert_close(np.asarray(got, dtype=np.float64), expected, what=what, rtol=_RTOL, atol=_ATOL * scale, hint=hint)


def _graph_check(ctx: Context, mode: str, grads_hint: str | None) -> None:
    """Values (and, unless ``grads_hint`` is None, gradients) of every node against torch on random graphs."""

    def prop(program: Program) -> None:
        got = _run(ctx, program, mode, 1)
        data, grads = ctx.answer(torch_program, program)
        _compare(got["data"], data, _("the values of the nodes (v0, v1, ...)"), program)
        if grads_hint is not None:
            _compare(got["grads"], grads, _("the gradients of the nodes (v0.grad, v1.grad, ...)"), program, grads_hint)

    ctx.for_all(programs(), prop)


@OPS.check(N_("forward values match torch on random graphs"), oracle="torch", twin=True)
@plans.answered
def forward_values_match_torch_on_random_graphs(ctx: Context) -> None:
    _graph_check(ctx, "ops", None)


@OPS.check(N_("gradients match torch autograd on random graphs"), oracle="torch", points=2, twin=True)
@plans.answered
def gradients_match_torch_autograd_on_random_graphs(ctx: Context) -> None:
    _graph_check(
        ctx, "ops", N_("a wrong local derivative, or grad set with = instead of += (a reused node loses a part)")
    )


#: One operation at a time, with values and derivatives worked out by hand: (program, value, {leaf: grad}).
_X, _Y = 1.5, -0.8
_SINGLE: list[tuple[Program, float, dict[int, float]]] = [
    ([("leaf", _X), ("leaf", _Y), ("bin", "+", 0, 1)], _X + _Y, {0: 1.0, 1: 1.0}),
    ([("leaf", _X), ("leaf", _Y), ("bin", "*", 0, 1)], _X * _Y, {0: _Y, 1: _X}),
    ([("leaf", _X), ("leaf", _Y), ("bin", "-", 0, 1)], _X - _Y, {0: 1.0, 1: -1.0}),
    ([("leaf", _X), ("leaf", _Y), ("bin", "/", 0, 1)], _X / _Y, {0: 1 / _Y, 1: -_X / _Y**2}),
    ([("leaf", _X), ("bin", "*", 0, 0)], _X * _X, {0: 2 * _X}),
    ([("leaf", _X), ("bin", "+", 0, 0)], 2 * _X, {0: 2.0}),
    ([("leaf", _X), ("pow", 0, 3)], _X**3, {0: 3 * _X**2}),
    ([("leaf", _X), ("pow", 0, 0.5)], math.sqrt(_X), {0: 0.5 / math.sqrt(_X)}),
    ([("leaf", _X), ("pow", 0, -2)], _X**-2, {0: -2 * _X**-3}),
    ([("leaf", _X), ("fn", "exp", 0)], math.exp(_X), {0: math.exp(_X)}),
    ([("leaf", _X), ("fn", "log", 0)], math.log(_X), {0: 1 / _X}),
    ([("leaf", _Y), ("fn", "tanh", 0)], math.tanh(_Y), {0: 1 - math.tanh(_Y) ** 2}),
    ([("leaf", _X), ("fn", "relu", 0)], _X, {0: 1.0}),
    ([("leaf", _Y), ("fn", "relu", 0)], 0.0, {0: 0.0}),
    ([("leaf", _X), ("neg", 0)], -_X, {0: -1.0}),
    ([("leaf", _X), ("right", "+", 2.0, 0)], 2 + _X, {0: 1.0}),
    ([("leaf", _X), ("left", "+", 0, 2.0)], _X + 2, {0: 1.0}),
    ([("leaf", _X), ("right", "*", 2.0, 0)], 2 * _X, {0: 2.0}),
    ([("leaf", _X), ("left", "*", 0, 2.0)], _X * 2, {0: 2.0}),
    ([("leaf", _X), ("right", "-", 2.0, 0)], 2 - _X, {0: -1.0}),
    ([("leaf", _X), ("left", "-", 0, 2.0)], _X - 2, {0: 1.0}),
    ([("leaf", _X), ("right", "/", 2.0, 0)], 2 / _X, {0: -2 / _X**2}),
    ([("leaf", _X), ("left", "/", 0, 2.0)], _X / 2, {0: 0.5}),
]


@OPS.check(N_("each operation alone gives the right value and derivative"), oracle="known")
def each_operation_alone_gives_the_right_value_and_derivative(ctx: Context) -> None:
    for program, value, grads in _SINGLE:
        got = _run(ctx, program, "ops", 1)
        expr = render(program).split("; ")[-2].split(" = ", 1)[1]
        if not math.isclose(got["data"][-1], value, rel_tol=1e-12, abs_tol=1e-15):
            ctx.fail(
                _("{expr} has the wrong value").format(expr=expr),
                input=render(program),
                expected=repr(value),
                got=repr(got["data"][-1]),
            )
        for leaf, grad in grads.items():
            if not math.isclose(got["grads"][leaf], grad, rel_tol=1e-12, abs_tol=1e-15):
                ctx.fail(
                    _("{expr}: v{leaf}.grad is wrong").format(expr=expr, leaf=leaf),
                    input=render(program),
                    expected=repr(grad),
                    got=repr(got["grads"][leaf]),
                    hint=N_("grad += out.grad × ∂out/∂input for each input, even when both inputs are the same Value")
                    if len(program) == 2 and program[1][0] == "bin"
                    else "",
                )


@BACKWARD.check(N_("backward matches torch autograd on random graphs"), oracle="torch", points=2, twin=True)
@plans.answered
def backward_matches_torch_autograd_on_random_graphs(ctx: Context) -> None:
    _graph_check(ctx, "engine", N_("call _backward in reverse topological order, each node once, after all its users"))


@BACKWARD.check(N_("the output's grad is 1 after backward"), oracle="invariant", points=0.5)
def the_output_s_grad_is_1_after_backward(ctx: Context) -> None:
    def prop(program: Program) -> None:
        got = _run(ctx, program, "engine", 1)["out_grads"][0]
        if got != 1.0:
            ctx.fail(
                _("after out.backward(), out.grad should be 1 (∂out/∂out)"),
                input=render(program),
                expected="1.0",
                got=repr(got),
            )

    ctx.for_all(programs(max_steps=6), prop, examples=ctx.few_examples)


@BACKWARD.check(N_("leaf gradients accumulate over backward passes"), oracle="invariant", points=0.5)
def leaf_gradients_accumulate_over_backward_passes(ctx: Context) -> None:
    def prop(program: Program) -> None:
        got = _run(ctx, program, "engine", 2)
        once, twice = np.asarray(got["leaf_grads"][0]), np.asarray(got["leaf_grads"][1])
        try:
            assert_close(
                twice,
                2 * once,
                what=_("the leaves' grads after two passes"),
                rtol=1e-12,
                atol=1e-12 * max(1.0, float(np.max(np.abs(once)))),
                hint=N_(
                    "backward() must not reset grads: build the graph twice on the same leaves "
                    "and each leaf's grad doubles (reset it to 0 yourself between steps)"
                ),
            )
        except CheckFailed as exc:
            raise exc.with_input(
                _("{program} — then the same graph rebuilt on the same leaves and backward() again").format(
                    program=render(program)
                )
            ) from None

    ctx.for_all(programs(max_steps=8), prop, examples=ctx.few_examples)
