"""The gradient check itself: accepts true gradients, rejects wrong ones and names the worst entry."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.failure import CheckFailed
from grader.checks.gradcheck import check_vjp


def _forward(lists):
    return [np.tanh(x) * w for x, w in lists]


def _grads(x, w, dout):
    return [dout * (1 - np.tanh(x) ** 2) * w, dout * np.tanh(x)]


def test_true_gradient_passes():
    rng = np.random.default_rng(0)
    x, w, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    check_vjp(_forward, [x, w], dout, _grads(x, w, dout), ["dx", "dw"])


def test_one_wrong_entry_is_located():
    rng = np.random.default_rng(1)
    x, w, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    dx, dw = _grads(x, w, dout)
    dw = dw.copy()
    dw[2, 1] += 0.5
    with pytest.raises(CheckFailed) as info:
        check_vjp(_forward, [x, w], dout, [dx, dw], ["dx", "dw"])
    assert info.value.details.worst_index == "dw[2, 1]"
    assert "rtol=" in info.value.report()


def test_wrong_shape_is_reported_before_values():
    x = np.ones((2, 3))
    with pytest.raises(CheckFailed, match="wrong shape"):
        check_vjp(lambda ls: [a[0] for a in ls], [x], np.ones((2, 3)), [np.ones(3)], ["dx"])


def test_sampled_localisation_on_a_big_tensor():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((30, 30))
    dout = rng.standard_normal((30, 30))
    wrong = 2 * dout * x  # gradient of x**2 ... but the forward is x**3
    with pytest.raises(CheckFailed, match="checked 64 of 900 entries"):
        check_vjp(lambda ls: [a[0] ** 3 for a in ls], [x], dout, [wrong], ["dx"])
