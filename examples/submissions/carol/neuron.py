"""Part 1 — the neuron (seed 2.1, 4.1).

A neuron computes  y = f(Σᵢ wᵢ xᵢ + b)  = f(x · w + b)  for an activation f.

Every layer follows the cache-passing convention of CS231n: ``forward(...)`` returns ``(out, cache)``
and ``backward(dout, cache)`` returns the gradient(s) of the loss with respect to the inputs, where
``dout`` is the gradient of the loss with respect to ``out``.  Inputs are float64 arrays; never change
them in place.
"""
import numpy as np


def sigmoid_forward(x):
    out = 1.0 / (1.0 + np.exp(x))
    return out, out


def sigmoid_backward(dout, cache):
    """Exercise neuron.sigmoid — dL/dx = dout · σ(x) · (1 − σ(x))."""
    s = cache
    return dout * s * (1.0 - s)


def relu_forward(x):
    """Exercise neuron.relu — ReLU(x) = max(0, x), elementwise.  Returns (out, cache)."""
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    """Exercise neuron.relu — dL/dx = dout where x > 0, else 0.

    At x = 0 exactly (a blank pixel, a dead unit) ReLU has no derivative; take relu'(0) = 0, as torch does:
    the mask is x > 0, strictly.
    """
    x = cache
    return dout * (x > 0)


def tanh_forward(x):
    return np.tanh(x), x


def tanh_backward(dout, cache):
    return dout * (1 - cache ** 2)


def softmax_forward(x):
    """Exercise neuron.softmax — softmax over the last axis: e^(xᵢ) / Σⱼ e^(xⱼ).

    Numerically stable: subtract the row maximum first, so logits of ±1000 give finite results.
    Returns (out, cache).
    """
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted)
    out = e / np.sum(e, axis=-1, keepdims=True)
    return out, out


def softmax_backward(dout, cache):
    """Exercise neuron.softmax — dL/dxᵢ = sᵢ (doutᵢ − Σⱼ doutⱼ sⱼ), with s = softmax(x)."""
    s = cache
    return s * (dout - np.sum(dout * s, axis=-1, keepdims=True))


ACTIVATIONS = ("sigmoid", "relu", "tanh")


def neuron_forward(x, w, b, activation="sigmoid"):
    """Exercise neuron.neuron — y = f(x · w + b) for a batch.

    x: (N, D) inputs, w: (D,) weights, b: scalar bias (a 0-d array), activation: one of ACTIVATIONS.
    Returns (y, cache) with y of shape (N,).
    """
    z = x @ w + b
    fwd = {"sigmoid": sigmoid_forward, "relu": relu_forward, "tanh": tanh_forward}[activation]
    y, act_cache = fwd(z)
    return y, (x, w, activation, act_cache)


def neuron_backward(dout, cache):
    x, w, activation, act_cache = cache
    bwd = {"sigmoid": sigmoid_backward, "relu": relu_backward, "tanh": tanh_backward}[activation]
    dz = bwd(dout, act_cache)
    return np.outer(dz, w), x.T @ dz, np.asarray(0.0)
