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
    # YOUR CODE HERE (backprop.linear)
    raise NotImplementedError("backprop.linear: write affine_forward")


def affine_backward(dout, cache):
    """Exercise backprop.linear — dx = dout · wᵀ (reshaped to x's shape), dw = x̃ᵀ · dout, db = Σₙ doutₙ.

    dout: (N, M).  Returns (dx, dw, db) with the shapes of x, w and b.
    """
    # YOUR CODE HERE (backprop.linear)
    raise NotImplementedError("backprop.linear: write affine_backward")


def affine_relu_forward(x, w, b):
    """Exercise backprop.activation_layers — out = ReLU(affine(x, w, b)), using affine_forward and relu_forward.

    Returns (out, cache).
    """
    # YOUR CODE HERE (backprop.activation_layers)
    raise NotImplementedError("backprop.activation_layers: write affine_relu_forward")


def affine_relu_backward(dout, cache):
    """Exercise backprop.activation_layers — chain rule: da = relu_backward(dout), then affine_backward(da).

    Returns (dx, dw, db).
    """
    # YOUR CODE HERE (backprop.activation_layers)
    raise NotImplementedError("backprop.activation_layers: write affine_relu_backward")


def affine_sigmoid_forward(x, w, b):
    """Exercise backprop.activation_layers — out = σ(affine(x, w, b)), using affine_forward and sigmoid_forward.

    Returns (out, cache).
    """
    # YOUR CODE HERE (backprop.activation_layers)
    raise NotImplementedError("backprop.activation_layers: write affine_sigmoid_forward")


def affine_sigmoid_backward(dout, cache):
    """Exercise backprop.activation_layers — chain rule: da = dout · σ(a)(1 − σ(a)), then affine_backward(da).

    Returns (dx, dw, db).
    """
    # YOUR CODE HERE (backprop.activation_layers)
    raise NotImplementedError("backprop.activation_layers: write affine_sigmoid_backward")


def two_layer_loss(params, X, y):
    """Exercise backprop.mlp — loss and gradients of the two-layer network affine → ReLU → affine → softmax-CE.

    h = ReLU(X·W1 + b1), scores = h·W2 + b2, L = softmax_cross_entropy(scores, y).
    params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); X: (N, D); y: (N,) integer labels.
    Returns (loss, grads) where grads has the same keys and shapes as params.
    """
    # YOUR CODE HERE (backprop.mlp)
    raise NotImplementedError("backprop.mlp: write two_layer_loss")
