"""Realistic wrong optimizers (part 5)."""

from tests.corpus import Mutant

_ADAM_INIT = """
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.t = 0
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
"""


def _adam(step: str) -> str:
    return "class Adam:" + _ADAM_INIT + step


MUTANTS = [
    Mutant(
        "optim.gd",
        "gradient ascent (+ sign)",
        """
        class GD:
            def step(self, grads):
                for p, g in zip(self.params, grads):
                    p += self.lr * g
    """,
        catches="GD matches torch.optim",
        merge=True,
    ),
    Mutant(
        "optim.gd",
        "scales the gradients in place",
        """
        class GD:
            def step(self, grads):
                for p, g in zip(self.params, grads):
                    g *= self.lr
                    p -= g
    """,
        catches="GD.step leaves the gradients unchanged",
        merge=True,
    ),
    Mutant(
        "optim.gd",
        "rebinds the parameters instead of updating them",
        """
        class GD:
            def step(self, grads):
                self.params = [p - self.lr * g for p, g in zip(self.params, grads)]
    """,
        catches="GD.step updates the parameters in place",
        merge=True,
    ),
    Mutant(
        "optim.gd",
        "learning rate applied twice",
        """
        class GD:
            def step(self, grads):
                for p, g in zip(self.params, grads):
                    p -= self.lr * self.lr * g
    """,
        catches="GD matches torch.optim",
        merge=True,
    ),
    Mutant(
        "optim.sgd_momentum",
        "momentum forgets the previous velocity",
        """
        class SGD:
            def step(self, grads):
                for i, (p, g) in enumerate(zip(self.params, grads)):
                    self.velocity[i] = g.copy()
                    p -= self.lr * self.velocity[i]
    """,
        catches="SGD matches torch.optim",
        merge=True,
    ),
    Mutant(
        "optim.sgd_momentum",
        "dampened momentum v = mu v + (1 - mu) g",
        """
        class SGD:
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.velocity):
                    v *= self.momentum
                    v += (1 - self.momentum) * g
                    p -= self.lr * v
    """,
        catches="SGD matches torch.optim",
        merge=True,
    ),
    Mutant(
        "optim.sgd_momentum",
        "parameters stepped with the old velocity",
        """
        class SGD:
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.velocity):
                    p -= self.lr * v
                    v *= self.momentum
                    v += g
    """,
        catches="SGD matches torch.optim",
        merge=True,
    ),
    Mutant(
        "optim.sgd_momentum",
        "velocity built in the gradient array",
        """
        class SGD:
            def step(self, grads):
                for i, (p, g) in enumerate(zip(self.params, grads)):
                    g += self.momentum * self.velocity[i]
                    self.velocity[i] = g
                    p -= self.lr * g
    """,
        catches="SGD.step leaves the gradients unchanged",
        merge=True,
    ),
    Mutant(
        "optim.sgd_momentum",
        "rebinds the parameters",
        """
        class SGD:
            def step(self, grads):
                for i, (g, v) in enumerate(zip(grads, self.velocity)):
                    v *= self.momentum
                    v += g
                    self.params[i] = self.params[i] - self.lr * v
    """,
        catches="SGD.step updates the parameters in place",
        merge=True,
    ),
    Mutant(
        "optim.adam",
        "no bias correction",
        _adam("""
    def step(self, grads):
        b1, b2 = self.betas
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            p -= self.lr * m / (np.sqrt(v) + self.eps)
    """),
        catches="the first Adam step",
    ),
    Mutant(
        "optim.adam",
        "eps inside the square root",
        _adam("""
    def step(self, grads):
        b1, b2 = self.betas
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            p -= self.lr * (m / (1 - b1 ** self.t)) / np.sqrt(v / (1 - b2 ** self.t) + self.eps)
    """),
        catches="Adam matches torch.optim",
    ),
    Mutant(
        "optim.adam",
        "bias correction with t counted from 0",
        _adam("""
    def step(self, grads):
        b1, b2 = self.betas
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            p -= self.lr * (m / (1 - b1 ** (self.t + 2))) / (np.sqrt(v / (1 - b2 ** (self.t + 2))) + self.eps)
        self.t += 1
    """),
        catches="Adam matches torch.optim",
    ),
    Mutant(
        "optim.adam",
        "paper's folded step size with eps not rescaled",
        _adam("""
    def step(self, grads):
        b1, b2 = self.betas
        self.t += 1
        alpha = self.lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            p -= alpha * m / (np.sqrt(v) + self.eps)
    """),
        catches="Adam matches torch.optim",
    ),
    Mutant(
        "optim.adam",
        "squares the gradient in place",
        _adam("""
    def step(self, grads):
        b1, b2 = self.betas
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m[...] = b1 * m + (1 - b1) * g
            g **= 2
            v[...] = b2 * v + (1 - b2) * g
            p -= self.lr * (m / (1 - b1 ** self.t)) / (np.sqrt(v / (1 - b2 ** self.t)) + self.eps)
    """),
        catches="Adam.step leaves the gradients unchanged",
    ),
    Mutant(
        "optim.sgd_momentum",
        "velocity aliases the caller's gradient arrays",
        """
        class SGD:
            def step(self, grads):
                if self.velocity is None:
                    self.velocity = list(grads)
                else:
                    for v, g in zip(self.velocity, grads):
                        v *= self.momentum
                        v += g
                for p, v in zip(self.params, self.velocity):
                    p -= self.lr * v
            def __init__(self, params, lr, momentum=0.0):
                self.params = list(params)
                self.lr, self.momentum = lr, momentum
                self.velocity = None
    """,
        catches="SGD matches torch.optim",
        merge=True,
    ),
]
