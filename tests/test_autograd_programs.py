"""The random graphs of part 4: the printed program is the graph that was graded, and stays in its domain."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from grader import reference
from grader.exercises.autograd import programs, render, torch_program
from tests.corpus import replace_definitions


@settings(max_examples=30, deadline=None, database=None)
@given(programs())
def test_rendered_program_runs_and_matches_torch(program):
    ns = {"Value": reference.module("autograd").Value}
    exec(render(program), ns)  # the line a student pastes: builds the graph and runs backward()
    data, grads = torch_program(program)
    nodes = [ns[f"v{k}"] for k in range(len(program))]
    assert np.all(np.isfinite(data)) and np.all(np.isfinite(grads))
    # an atol too: a value that cancels to 0 in torch can be 1e-17 in Python's order of operations (CI found
    # (v4 - v7) + 0.1 = 1.4e-17 against 0.0)
    np.testing.assert_allclose([v.data for v in nodes], data, rtol=1e-12, atol=1e-12 * max(1, np.abs(data).max()))
    np.testing.assert_allclose([v.grad for v in nodes], grads, rtol=1e-7, atol=1e-9 * max(1, np.abs(grads).max()))


def test_merge_replaces_only_the_given_methods():
    module = "class A:\n    x = 1\n\n    def f(self):\n        return 1\n\n    def g(self):\n        return 2\n"
    merged = replace_definitions(module, "class A:\n    def g(self):\n        return 3\n", merge=True)
    ns: dict = {}
    exec(merged, ns)
    assert (ns["A"].x, ns["A"]().f(), ns["A"]().g()) == (1, 1, 3)
    whole = replace_definitions(module, "class A:\n    def g(self):\n        return 3\n")
    exec(whole, ns)
    assert not hasattr(ns["A"], "f")
