"""Realistic wrong implementations of part 1 (the neuron)."""

from tests.corpus import Mutant

MUTANTS = [
    Mutant(
        "neuron.sigmoid",
        "sign slip in the exponent",
        """
        def sigmoid_forward(x):
            out = 1.0 / (1.0 + np.exp(x))
            return out, out
    """,
        catches="sigmoid_forward matches the reference",
    ),
    Mutant(
        "neuron.sigmoid",
        "backward uses x instead of sigma(x)",
        """
        def sigmoid_forward(x):
            return 0.5 * (1 + np.tanh(x / 2)), x
        def sigmoid_backward(dout, cache):
            return dout * cache * (1 - cache)
    """,
        catches="sigmoid_backward passes the gradient check",
    ),
    Mutant(
        "neuron.sigmoid",
        "backward forgets dout",
        """
        def sigmoid_backward(dout, cache):
            return cache * (1 - cache)
    """,
        catches="sigmoid_backward passes the gradient check",
    ),
    Mutant(
        "neuron.sigmoid",
        "forward changes its input in place",
        """
        def sigmoid_forward(x):
            np.negative(x, out=x)
            np.exp(x, out=x)
            out = 1.0 / (1.0 + x)
            return out, out
    """,
        catches="leaves its inputs unchanged",
    ),
    Mutant(
        "neuron.relu",
        "gradient masked on dout instead of x",
        """
        def relu_backward(dout, cache):
            return dout * (dout > 0)
    """,
        catches="relu_backward passes the gradient check",
    ),
    Mutant(
        "neuron.relu",
        "leaky by mistake",
        """
        def relu_forward(x):
            return np.where(x > 0, x, 0.01 * x), x
    """,
        catches="relu_forward matches torch",
    ),
    Mutant(
        "neuron.relu",
        "returns the mask instead of the gradient",
        """
        def relu_backward(dout, cache):
            return (cache > 0).astype(float)
    """,
        catches="relu_backward matches torch autograd",
    ),
    Mutant(
        "neuron.relu",
        "relu'(0) = 1: the mask is x >= 0",
        """
        def relu_backward(dout, cache):
            return dout * (cache >= 0)
    """,
        catches="blocks the gradient where x is exactly 0",
    ),
    Mutant(
        "neuron.relu",
        "relu'(0) = 1/2 (np.heaviside with 0.5)",
        """
        def relu_backward(dout, cache):
            return dout * np.heaviside(cache, 0.5)
    """,
        catches="blocks the gradient where x is exactly 0",
    ),
    Mutant(
        "neuron.tanh",
        "derivative 1 - x**2 on the input",
        """
        def tanh_forward(x):
            return np.tanh(x), x
        def tanh_backward(dout, cache):
            return dout * (1 - cache ** 2)
    """,
        catches="tanh_backward passes the gradient check",
    ),
    Mutant(
        "neuron.tanh",
        "naive formula overflows",
        """
        def tanh_forward(x):
            out = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
            return out, out
    """,
        catches="finite on extreme inputs",
    ),
    Mutant(
        "neuron.tanh",
        "float32 output",
        """
        def tanh_forward(x):
            out = np.tanh(x).astype(np.float32)
            return out, out
    """,
        catches="tanh_forward matches the reference",
    ),
    Mutant(
        "neuron.softmax",
        "softmax without max-subtraction",
        """
        def softmax_forward(x):
            e = np.exp(x)
            out = e / np.sum(e, axis=-1, keepdims=True)
            return out, out
    """,
        catches="finite on extreme inputs",
    ),
    Mutant(
        "neuron.softmax",
        "normalised over the wrong axis",
        """
        def softmax_forward(x):
            e = np.exp(x - np.max(x, axis=0, keepdims=True))
            out = e / np.sum(e, axis=0, keepdims=True)
            return out, out
    """,
        catches="softmax_forward matches torch",
    ),
    Mutant(
        "neuron.softmax",
        "backward keeps only the diagonal of the Jacobian",
        """
        def softmax_backward(dout, cache):
            return dout * cache * (1 - cache)
    """,
        catches="softmax_backward passes the gradient check",
    ),
    Mutant(
        "neuron.neuron",
        "missing bias gradient (db = 0)",
        """
        def neuron_backward(dout, cache):
            x, w, activation, act_cache = cache
            bwd = {"sigmoid": sigmoid_backward, "relu": relu_backward, "tanh": tanh_backward}[activation]
            dz = bwd(dout, act_cache)
            return np.outer(dz, w), x.T @ dz, np.asarray(0.0)
    """,
        catches="neuron_backward passes the gradient check (sigmoid)",
    ),
    Mutant(
        "neuron.neuron",
        "bias added after the activation",
        """
        def neuron_forward(x, w, b, activation="sigmoid"):
            fwd = {"sigmoid": sigmoid_forward, "relu": relu_forward, "tanh": tanh_forward}[activation]
            y, act_cache = fwd(x @ w)
            return y + b, (x, w, activation, act_cache)
    """,
        catches="neuron_forward matches the reference (tanh)",
    ),
    Mutant(
        "neuron.neuron",
        "dw averaged over the batch",
        """
        def neuron_backward(dout, cache):
            x, w, activation, act_cache = cache
            bwd = {"sigmoid": sigmoid_backward, "relu": relu_backward, "tanh": tanh_backward}[activation]
            dz = bwd(dout, act_cache)
            return np.outer(dz, w), x.T @ dz / x.shape[0], np.asarray(np.sum(dz))
    """,
        catches="neuron_backward passes the gradient check (relu)",
    ),
    Mutant(
        "neuron.relu",
        "backward masks dout in place",
        """
        def relu_backward(dout, cache):
            dout[cache <= 0] = 0
            return dout
    """,
        catches="relu_backward leaves dout and the cache unchanged",
    ),
    Mutant(
        "neuron.sigmoid",
        "backward overwrites the cached sigma",
        """
        def sigmoid_backward(dout, cache):
            cache *= 1 - cache
            return dout * cache
    """,
        catches="sigmoid_backward leaves dout and the cache unchanged",
    ),
]
