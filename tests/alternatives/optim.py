"""Correct optimizers written differently from the reference: they must get full marks."""

from tests.corpus import Alternative

ALTERNATIVES = [
    Alternative(
        "optim.gd",
        "np.subtract with out=",
        """
        class GD:
            def step(self, grads):
                for p, g in zip(self.params, grads):
                    np.subtract(p, self.lr * g, out=p)
    """,
        merge=True,
    ),
    Alternative(
        "optim.sgd_momentum",
        "CS231n convention v = mu v - lr g; w += v (same for a fixed lr)",
        """
        class SGD:
            def __init__(self, params, lr, momentum=0.0):
                self.params = list(params)
                self.lr = lr
                self.momentum = momentum
                self.velocity = {}
            def step(self, grads):
                for i, (p, g) in enumerate(zip(self.params, grads)):
                    v = self.momentum * self.velocity.get(i, 0.0) - self.lr * g
                    self.velocity[i] = v
                    p[...] = p + v
    """,
    ),
    Alternative(
        "optim.adam",
        "folded step size with eps rescaled by sqrt(1 - b2^t) (torch's algebra)",
        """
        class Adam:
            def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
                self.params = list(params)
                self.lr, self.betas, self.eps = lr, betas, eps
                self.state = [None] * len(self.params)
                self.t = 0
            def step(self, grads):
                b1, b2 = self.betas
                self.t += 1
                bc1, bc2 = 1 - b1 ** self.t, 1 - b2 ** self.t
                alpha = self.lr * np.sqrt(bc2) / bc1
                for i, (p, g) in enumerate(zip(self.params, grads)):
                    m, v = self.state[i] if self.state[i] is not None else (0.0, 0.0)
                    m = b1 * m + (1 - b1) * g
                    v = b2 * v + (1 - b2) * np.square(g)
                    self.state[i] = (m, v)
                    p -= alpha * m / (np.sqrt(v) + self.eps * np.sqrt(bc2))
    """,
    ),
]
