"""Part 1 — the neuron (seed 2.1, 4.1).

A neuron computes  y = f(Σᵢ wᵢ xᵢ + b)  = f(x · w + b)  for an activation f.

Every layer follows the cache-passing convention of CS231n: ``forward(...)`` returns ``(out, cache)``
and ``backward(dout, cache)`` returns the gradient(s) of the loss with respect to the inputs, where
``dout`` is the gradient of the loss with respect to ``out``.  Inputs are float64 arrays; never change
them in place.
"""
import numpy as np


def sigmoid_forward(x):
    """Exercise neuron.sigmoid — σ(x) = 1 / (1 + e^(−x)), elementwise, without overflow for large |x|.

    Returns (out, cache).
    """
    ### BEGIN SOLUTION
    out = np.empty_like(x, dtype=np.float64)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out, out
    ### END SOLUTION


def sigmoid_backward(dout, cache):
    """Exercise neuron.sigmoid — dL/dx = dout · σ(x) · (1 − σ(x))."""
    ### BEGIN SOLUTION
    s = cache
    return dout * s * (1.0 - s)
    ### END SOLUTION


def relu_forward(x):
    """Exercise neuron.relu — ReLU(x) = max(0, x), elementwise.  Returns (out, cache)."""
    ### BEGIN SOLUTION
    return np.maximum(x, 0.0), x
    ### END SOLUTION


def relu_backward(dout, cache):
    """Exercise neuron.relu — dL/dx = dout where x > 0, else 0.

    At x = 0 exactly (a blank pixel, a dead unit) ReLU has no derivative; take relu'(0) = 0, as torch does:
    the mask is x > 0, strictly.
    """
    ### BEGIN SOLUTION
    x = cache
    return dout * (x > 0)
    ### END SOLUTION


def tanh_forward(x):
    """Exercise neuron.tanh — tanh(x) = (e^x − e^(−x)) / (e^x + e^(−x)), elementwise.  Returns (out, cache)."""
    ### BEGIN SOLUTION
    out = np.tanh(x)
    return out, out
    ### END SOLUTION


def tanh_backward(dout, cache):
    """Exercise neuron.tanh — dL/dx = dout · (1 − tanh(x)²)."""
    ### BEGIN SOLUTION
    t = cache
    return dout * (1.0 - t * t)
    ### END SOLUTION


def softmax_forward(x):
    """Exercise neuron.softmax — softmax over the last axis: e^(xᵢ) / Σⱼ e^(xⱼ).

    Numerically stable: subtract the row maximum first, so logits of ±1000 give finite results.
    Returns (out, cache).
    """
    ### BEGIN SOLUTION
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted)
    out = e / np.sum(e, axis=-1, keepdims=True)
    return out, out
    ### END SOLUTION


def softmax_backward(dout, cache):
    """Exercise neuron.softmax — dL/dxᵢ = sᵢ (doutᵢ − Σⱼ doutⱼ sⱼ), with s = softmax(x)."""
    ### BEGIN SOLUTION
    s = cache
    return s * (dout - np.sum(dout * s, axis=-1, keepdims=True))
    ### END SOLUTION


ACTIVATIONS = ("sigmoid", "relu", "tanh")


def neuron_forward(x, w, b, activation="sigmoid"):
    """Exercise neuron.neuron — y = f(x · w + b) for a batch.

    x: (N, D) inputs, w: (D,) weights, b: scalar bias (a 0-d array), activation: one of ACTIVATIONS.
    Returns (y, cache) with y of shape (N,).
    """
    ### BEGIN SOLUTION
    z = x @ w + b
    fwd = {"sigmoid": sigmoid_forward, "relu": relu_forward, "tanh": tanh_forward}[activation]
    y, act_cache = fwd(z)
    return y, (x, w, activation, act_cache)
    ### END SOLUTION


def neuron_backward(dout, cache):
    """Exercise neuron.neuron — gradients of the loss with respect to x, w and b.

    dout: (N,).  Returns (dx, dw, db) with the shapes of x, w and b.
    """
    ### BEGIN SOLUTION
    x, w, activation, act_cache = cache
    bwd = {"sigmoid": sigmoid_backward, "relu": relu_backward, "tanh": tanh_backward}[activation]
    dz = bwd(dout, act_cache)
    dx = np.outer(dz, w)
    dw = x.T @ dz
    db = np.sum(dz)
    return dx, dw, np.asarray(db)
    ### END SOLUTION
