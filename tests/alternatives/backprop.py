"""Correct implementations of part 3 that differ from the reference: they must get full marks."""

from tests.corpus import Alternative

ALTERNATIVES = [
    Alternative(
        "backprop.linear",
        "loop-based affine with einsum backward",
        """
        def affine_forward(x, w, b):
            n = x.shape[0]
            xf = x.reshape(n, -1)
            out = np.zeros((n, w.shape[1]))
            for i in range(n):
                for j in range(w.shape[1]):
                    out[i, j] = sum(xf[i, k] * w[k, j] for k in range(w.shape[0])) + b[j]
            return out, (x.shape, xf, w)
        def affine_backward(dout, cache):
            shape, xf, w = cache
            return np.einsum("nm,dm->nd", dout, w).reshape(shape), np.einsum("nd,nm->dm", xf, dout), \\
                np.einsum("nm->m", dout)
    """,
    ),
    Alternative(
        "backprop.activation_layers",
        "inlined ReLU mask and sigmoid caching the pre-activation",
        """
        def affine_relu_forward(x, w, b):
            a, fc_cache = affine_forward(x, w, b)
            return np.where(a > 0, a, 0.0), (fc_cache, a > 0)
        def affine_relu_backward(dout, cache):
            fc_cache, mask = cache
            return affine_backward(np.where(mask, dout, 0.0), fc_cache)
        def affine_sigmoid_forward(x, w, b):
            a, fc_cache = affine_forward(x, w, b)
            return sigmoid_forward(a)[0], (fc_cache, a)
        def affine_sigmoid_backward(dout, cache):
            fc_cache, a = cache
            s = sigmoid_forward(a)[0]
            return affine_backward(dout * s * (1 - s), fc_cache)
    """,
    ),
    Alternative(
        "backprop.mlp",
        "written out in numpy without the layer functions",
        """
        def two_layer_loss(params, X, y):
            W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
            n = X.shape[0]
            z = X @ W1 + b1
            h = np.maximum(z, 0)
            s = h @ W2 + b2
            s = s - s.max(axis=1, keepdims=True)
            log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
            loss = -log_p[np.arange(n), y].mean()
            p = np.exp(log_p)
            p[np.arange(n), y] -= 1
            ds = p / n
            dz = (ds @ W2.T) * (z > 0)
            return loss, {"W2": h.T @ ds, "b2": ds.sum(0), "W1": X.T @ dz, "b1": dz.sum(0)}
    """,
    ),
]
