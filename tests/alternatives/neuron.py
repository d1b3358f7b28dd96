"""Correct implementations of part 1 that differ from the reference: they must get full marks."""

from tests.corpus import Alternative

ALTERNATIVES = [
    Alternative(
        "neuron.sigmoid",
        "via tanh, caching x",
        """
        def sigmoid_forward(x):
            return 0.5 * (1.0 + np.tanh(0.5 * x)), x.copy()
        def sigmoid_backward(dout, cache):
            s = 0.5 * (1.0 + np.tanh(0.5 * cache))
            return dout * s * (1 - s)
    """,
    ),
    Alternative(
        "neuron.relu",
        "np.where and a boolean mask cache",
        """
        def relu_forward(x):
            mask = x > 0
            return np.where(mask, x, 0.0), mask
        def relu_backward(dout, cache):
            return np.where(cache, dout, 0.0)
    """,
    ),
    Alternative(
        "neuron.relu",
        "np.heaviside(x, 0) and the output as the cache",
        """
        def relu_forward(x):
            out = np.maximum(x, 0.0)
            return out, out
        def relu_backward(dout, cache):
            return dout * np.heaviside(cache, 0.0)
    """,
    ),
    Alternative(
        "neuron.softmax",
        "log-sum-exp and an explicit Jacobian per row",
        """
        def softmax_forward(x):
            m = x.max(axis=-1, keepdims=True)
            lse = m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True))
            out = np.exp(x - lse)
            return out, out
        def softmax_backward(dout, cache):
            s2 = cache.reshape(-1, cache.shape[-1])
            d2 = dout.reshape(-1, cache.shape[-1])
            dx = np.empty_like(s2)
            for i in range(s2.shape[0]):
                J = np.diag(s2[i]) - np.outer(s2[i], s2[i])
                dx[i] = J @ d2[i]
            return dx.reshape(cache.shape)
    """,
    ),
    Alternative(
        "neuron.neuron",
        "loops over the batch",
        """
        def neuron_forward(x, w, b, activation="sigmoid"):
            z = np.array([sum(x[n, d] * w[d] for d in range(x.shape[1])) + b for n in range(x.shape[0])],
                         dtype=np.float64)
            fwd = {"sigmoid": sigmoid_forward, "relu": relu_forward, "tanh": tanh_forward}[activation]
            y, act_cache = fwd(z)
            return y, (x, w, activation, act_cache)
    """,
    ),
]
