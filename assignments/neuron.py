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
    # YOUR CODE HERE (neuron.sigmoid)
    raise NotImplementedError("neuron.sigmoid: write sigmoid_forward")


def sigmoid_backward(dout, cache):
    """Exercise neuron.sigmoid — dL/dx = dout · σ(x) · (1 − σ(x))."""
    # YOUR CODE HERE (neuron.sigmoid)
    raise NotImplementedError("neuron.sigmoid: write sigmoid_backward")


def relu_forward(x):
    """Exercise neuron.relu — ReLU(x) = max(0, x), elementwise.  Returns (out, cache)."""
    # YOUR CODE HERE (neuron.relu)
    raise NotImplementedError("neuron.relu: write relu_forward")


def relu_backward(dout, cache):
    """Exercise neuron.relu — dL/dx = dout where x > 0, else 0.

    At x = 0 exactly (a blank pixel, a dead unit) ReLU has no derivative; take relu'(0) = 0, as torch does:
    the mask is x > 0, strictly.
    """
    # YOUR CODE HERE (neuron.relu)
    raise NotImplementedError("neuron.relu: write relu_backward")


def tanh_forward(x):
    """Exercise neuron.tanh — tanh(x) = (e^x − e^(−x)) / (e^x + e^(−x)), elementwise.  Returns (out, cache)."""
    # YOUR CODE HERE (neuron.tanh)
    raise NotImplementedError("neuron.tanh: write tanh_forward")


def tanh_backward(dout, cache):
    """Exercise neuron.tanh — dL/dx = dout · (1 − tanh(x)²)."""
    # YOUR CODE HERE (neuron.tanh)
    raise NotImplementedError("neuron.tanh: write tanh_backward")


def softmax_forward(x):
    """Exercise neuron.softmax — softmax over the last axis: e^(xᵢ) / Σⱼ e^(xⱼ).

    Numerically stable: subtract the row maximum first, so logits of ±1000 give finite results.
    Returns (out, cache).
    """
    # YOUR CODE HERE (neuron.softmax)
    raise NotImplementedError("neuron.softmax: write softmax_forward")


def softmax_backward(dout, cache):
    """Exercise neuron.softmax — dL/dxᵢ = sᵢ (doutᵢ − Σⱼ doutⱼ sⱼ), with s = softmax(x)."""
    # YOUR CODE HERE (neuron.softmax)
    raise NotImplementedError("neuron.softmax: write softmax_backward")


ACTIVATIONS = ("sigmoid", "relu", "tanh")


def neuron_forward(x, w, b, activation="sigmoid"):
    """Exercise neuron.neuron — y = f(x · w + b) for a batch.

    x: (N, D) inputs, w: (D,) weights, b: scalar bias (a 0-d array), activation: one of ACTIVATIONS.
    Returns (y, cache) with y of shape (N,).
    """
    # YOUR CODE HERE (neuron.neuron)
    raise NotImplementedError("neuron.neuron: write neuron_forward")


def neuron_backward(dout, cache):
    """Exercise neuron.neuron — gradients of the loss with respect to x, w and b.

    dout: (N,).  Returns (dx, dw, db) with the shapes of x, w and b.
    """
    # YOUR CODE HERE (neuron.neuron)
    raise NotImplementedError("neuron.neuron: write neuron_backward")
