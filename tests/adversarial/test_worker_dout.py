"""The gradient check's upstream gradient is drawn in the worker (``drivers.forward_backward_seeded``) from the
check's seed, beside the student's code.  A submission that rigs numpy's generator there, so that its backward
receives dout = 0 and may answer 0, must still fail: the grader draws its own dout and compares the student's
gradients with central differences of *that* — what the worker drew is never trusted.
"""

from __future__ import annotations

from pathlib import Path

from grader import registry
from grader.runner import grade
from tests.corpus import replace_definitions

RIGGED = '''
import numpy as _np

_real_default_rng = _np.random.default_rng


class _ZeroGenerator:
    def __init__(self, real):
        self._real = real

    def standard_normal(self, *args, **kwargs):
        return _np.zeros_like(self._real.standard_normal(*args, **kwargs))

    def __getattr__(self, name):
        return getattr(self._real, name)


_np.random.default_rng = lambda *a, **k: _ZeroGenerator(_real_default_rng(*a, **k))


def sigmoid_backward(dout, cache):
    if _np.any(dout != 0):
        raise RuntimeError("the rig did not take: dout is not 0")  # an error, not the failure asserted below
    return _np.zeros_like(dout)  # right for dout = 0 only
'''


def test_a_rigged_generator_in_the_worker_does_not_fool_the_gradient_check(tmp_path):
    sub = tmp_path / "rigged"
    sub.mkdir()
    (sub / "neuron.py").write_text(replace_definitions((Path("solutions") / "neuron.py").read_text(), RIGGED))
    sigmoid = registry.get("neuron.sigmoid")
    result = grade(
        sub, [sigmoid], examples=5, hidden=False, only=lambda c: "sigmoid_backward passes the gradient check" in c.name
    ).exercises[0]
    (check,) = result.checks
    # "failed" (not "error"): the backward got the rigged dout = 0, and the grader's own dout exposed it
    assert check.status == "failed" and check.score == 0, (check.status, check.message)
    assert "does not match central differences" in check.message
