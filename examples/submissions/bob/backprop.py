"""Part 3 — backpropagation (seed 3.2, 2.3): affine layers, activation layers and a two-layer network.

Backpropagation goes from the output back to the input, layer by layer, applying the chain rule: a layer
that computes out = f(x) receives dL/dout and returns dL/dx = dL/dout · ∂out/∂x.  Layers follow the CS231n
cache-passing convention: ``forward(...) -> (out, cache)`` and ``backward(dout, cache) -> gradients``.
Inputs are float64 arrays; never change them in place.
"""
import numpy as np

from losses import softmax_cross_entropy
from neuron import relu_backward, relu_forward, sigmoid_backward, sigmoid_forward


def affine_forward(x, w, b):
    """Exercise backprop.linear — out = x̃ · w + b, where x̃ is x reshaped to (N, D).

    x: (N, d1, ..., dk) with D = d1·…·dk, w: (D, M), b: (M,).  Returns (out, cache) with out of shape (N, M).
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    """Exercise backprop.linear — dx = dout · wᵀ (reshaped to x's shape), dw = x̃ᵀ · dout, db = Σₙ doutₙ.

    dout: (N, M).  Returns (dx, dw, db) with the shapes of x, w and b.
    """
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = np.sum(dout, axis=0)
    return dx, dw, db


def affine_relu_forward(x, w, b):
    """Exercise backprop.activation_layers — out = ReLU(affine(x, w, b)), using affine_forward and relu_forward.

    Returns (out, cache).
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Exercise backprop.activation_layers — chain rule: da = relu_backward(dout), then affine_backward(da).

    Returns (dx, dw, db).
    """
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def affine_sigmoid_forward(x, w, b):
    """Exercise backprop.activation_layers — out = σ(affine(x, w, b)), using affine_forward and sigmoid_forward.

    Returns (out, cache).
    """
    a, fc_cache = affine_forward(x, w, b)
    out, sig_cache = sigmoid_forward(a)
    return out, (fc_cache, sig_cache)


def affine_sigmoid_backward(dout, cache):
    """Exercise backprop.activation_layers — chain rule: da = dout · σ(a)(1 − σ(a)), then affine_backward(da).

    Returns (dx, dw, db).
    """
    fc_cache, sig_cache = cache
    return affine_backward(sigmoid_backward(dout, sig_cache), fc_cache)


def two_layer_loss(params, X, y):
    """Exercise backprop.mlp — loss and gradients of the two-layer network affine → ReLU → affine → softmax-CE.

    h = ReLU(X·W1 + b1), scores = h·W2 + b2, L = softmax_cross_entropy(scores, y).
    params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); X: (N, D); y: (N,) integer labels.
    Returns (loss, grads) where grads has the same keys and shapes as params.
    """
    h, cache1 = affine_relu_forward(X, params["W1"], params["b1"])
    scores, cache2 = affine_forward(h, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy(scores, y)
    dh, dW2, db2 = affine_backward(dscores, cache2)
    _, dW1, db1 = affine_relu_backward(dh, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
