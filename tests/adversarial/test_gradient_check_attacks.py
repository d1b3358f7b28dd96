"""A student who wants the gradient-check points with a wrong backward: the joint pass of the gradient check
(every input moved at once, grader/checks/gradcheck.py) must reject whatever one input at a time rejects."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.failure import CheckFailed
from grader.checks.gradcheck import check_vjp


@pytest.mark.parametrize("seed", range(40))
def test_the_joint_pass_hides_no_error_that_one_input_at_a_time_finds(seed):
    # found by a red-team review of the joint pass: a wrong gradient of a small input beside a large one
    # (x of 1e6: dx = 0 hid under the tolerance of the sum), and swapped gradients of two scalars (directions
    # of ±1: the errors cancelled for half the seeds)
    x, w = np.full(3, 1e6), np.ones(3)
    with pytest.raises(CheckFailed):
        check_vjp(lambda ls: [np.sum(a * b) for a, b in ls], [x, w], np.asarray(1.0), [np.zeros(3), x], ["dx", "dw"],
                  seed=seed)  # fmt: skip
    a, b = np.asarray(2.0), np.asarray(-3.0)
    with pytest.raises(CheckFailed):
        check_vjp(lambda ls: [p * q for p, q in ls], [a, b], np.asarray(1.0), [a, b], ["da", "db"], seed=seed)
