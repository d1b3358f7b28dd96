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


def _counting(forward):
    seen = []

    def counted(lists):
        seen.append(len(lists))
        return forward(lists)

    return counted, seen


def test_true_gradients_cost_two_forwards_a_direction_whatever_the_number_of_inputs():
    rng = np.random.default_rng(3)
    x, w, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    forward, seen = _counting(_forward)
    check_vjp(forward, [x, w], dout, _grads(x, w, dout), ["dx", "dw"], directions=2)
    assert seen == [4]  # one round trip, every input moved at once along 2 directions


@pytest.mark.parametrize("scale", [1.0, 1e-3])
def test_a_wrong_gradient_of_a_small_input_is_not_hidden_by_the_others(scale):
    # y = W @ x + b: b has 4 entries against W's 400, and a gradient small beside dW's; a db off by
    # ``scale`` of its value must still fail, and the per-input pass must name db.
    rng = np.random.default_rng(4)
    W, x, b = rng.standard_normal((4, 100)) * 10, rng.standard_normal((100, 3)) * 10, rng.standard_normal((4, 1))
    dout = rng.standard_normal((4, 3))
    dW, dx, db = dout @ x.T, W.T @ dout, dout.sum(axis=1, keepdims=True)
    forward, seen = _counting(lambda lists: [w @ xx + bb for w, xx, bb in lists])
    with pytest.raises(CheckFailed) as info:
        check_vjp(forward, [W, x, b], dout, [dW, dx, db * (1 + scale)], ["dW", "dx", "db"])
    assert info.value.details.worst_index.startswith("db[")
    assert seen[0] == 4 and len(seen) > 1  # the joint pass disagreed, then one input at a time
