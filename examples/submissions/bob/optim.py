"""Part 5 — optimizers (seed 3.1, 3.3, 4.3): gradient descent, momentum and Adam.

An optimizer holds a list of numpy parameter arrays ``params``.  ``step(grads)`` takes one gradient
array per parameter (same shapes, same order) and updates every parameter **in place**
(``p -= ...`` or ``p[...] = ...``): the caller's arrays are the model, so rebinding a name to a new
array updates nothing.  ``grads`` belong to the caller and must not be changed.  Optimizers with
state (velocities, moments, a step counter) keep it from one ``step`` to the next, one entry per
parameter.  The formulas are torch.optim's, so results match ``torch.optim.SGD`` / ``Adam``.
"""
import numpy as np


class GD:
    """Exercise optim.gd — plain gradient descent:  w ← w − α · ∂L/∂w  (seed 3.1, 4.3)."""

    def __init__(self, params, lr):
        self.params = list(params)
        self.lr = lr

    def step(self, grads):
        """Exercise optim.gd — one update of every parameter, in place."""
        for p, g in zip(self.params, grads):
            p -= self.lr * g

    """Exercise optim.gd — plain gradient descent:  w ← w − α · ∂L/∂w  (seed 3.1, 4.3)."""



class SGD:
    """Exercise optim.sgd_momentum — gradient descent with momentum μ (torch's convention, seed 3.3):

        v ← μ · v + g        (v starts at 0, one velocity per parameter)
        w ← w − lr · v

    With ``momentum=0`` this is plain gradient descent.
    """

    def __init__(self, params, lr, momentum=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.velocity = [np.zeros_like(p) for p in self.params]

    def step(self, grads):
        """Exercise optim.sgd_momentum — update the velocities, then the parameters in place."""
        for p, g, v in zip(self.params, grads, self.velocity):
            v *= self.momentum
            v += g
            p -= self.lr * v

    """Exercise optim.sgd_momentum — gradient descent with momentum μ (torch's convention, seed 3.3):

        v ← μ · v + g        (v starts at 0, one velocity per parameter)
        w ← w − lr · v

    With ``momentum=0`` this is plain gradient descent.
    """



class Adam:
    """Exercise optim.adam — Adam with bias correction (seed 3.3), exactly as torch.optim.Adam:

        t ← t + 1                       (t counts steps from 1)
        m ← β₁ · m + (1 − β₁) · g       (first moment, starts at 0)
        v ← β₂ · v + (1 − β₂) · g²      (second moment, starts at 0)
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
        w ← w − lr · m̂ / (√v̂ + ε)       (ε is added *outside* the square root)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.t = 0
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]

    def step(self, grads):
        """Exercise optim.adam — one Adam update of every parameter, in place."""
        b1, b2 = self.betas
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / (1 - b1 ** self.t)
            v_hat = v / (1 - b2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    """Exercise optim.adam — Adam with bias correction (seed 3.3), exactly as torch.optim.Adam:

        t ← t + 1                       (t counts steps from 1)
        m ← β₁ · m + (1 − β₁) · g       (first moment, starts at 0)
        v ← β₂ · v + (1 − β₂) · g²      (second moment, starts at 0)
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
        w ← w − lr · m̂ / (√v̂ + ε)       (ε is added *outside* the square root)
    """

