"""Realistic wrong implementations of the CNN part."""

from tests.corpus import Mutant, fill

_TRAIN_CNN = """
        def train_cnn(X, y, epochs=8, lr=0.05, momentum=0.9, batch_size=32, filters=8, seed=0):
            rng = np.random.default_rng(seed)
            params = {"W1": rng.standard_normal((filters, 1, 3, 3)) * np.sqrt(2.0 / 9), "b1": np.zeros(filters),
                      "W2": rng.standard_normal((filters * 16, 10)) * np.sqrt(1.0 / (filters * 16)),
                      "b2": np.zeros(10)}
            keys = <keys>
            optimizer = SGD([params[k] for k in keys], lr, momentum=momentum)
            losses = []
            for _ in range(epochs):
                <epoch>
                order = rng.permutation(X.shape[0])
                for start in range(0, X.shape[0], batch_size):
                    idx = <idx>
                    loss, grads = cnn_loss(params, X[idx], y[idx])
                    optimizer.step([grads[k] for k in keys])
                    losses.append(loss)
            return params, losses
"""
_TRAIN_CNN_OK = dict(keys='("W1", "b1", "W2", "b2")', epoch="pass", idx="order[start:start + batch_size]")
_PROCESS = "train_cnn records one loss per minibatch step"


def _train_cnn(**change: str) -> str:
    """The reference's train_cnn with the pieces in ``change`` swapped."""
    return fill(_TRAIN_CNN, _TRAIN_CNN_OK, change)


MUTANTS = [
    Mutant(
        "cnn.conv",
        "true convolution: the kernel is flipped",
        """
        def conv_forward(x, w, b, stride=1, pad=0):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            Ho = 1 + (H + 2 * pad - HH) // stride
            Wo = 1 + (W + 2 * pad - WW) // stride
            wf = w[:, :, ::-1, ::-1]
            out = np.zeros((N, F, Ho, Wo))
            for p in range(HH):
                for q in range(WW):
                    patch = xp[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride]
                    out += np.einsum("nchw,fc->nfhw", patch, wf[:, :, p, q])
            out += b[None, :, None, None]
            return out, (x, w, stride, pad)
    """,
        catches="conv_forward matches torch",
    ),
    Mutant(
        "cnn.conv",
        "computed in float32 (the right formula, float32 precision)",
        """
        def conv_forward(x, w, b, stride=1, pad=0):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            x32, w32 = x.astype(np.float32), w.astype(np.float32)
            xp = np.pad(x32, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            Ho = 1 + (H + 2 * pad - HH) // stride
            Wo = 1 + (W + 2 * pad - WW) // stride
            out = np.zeros((N, F, Ho, Wo), dtype=np.float32)
            for p in range(HH):
                for q in range(WW):
                    patch = xp[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride]
                    out += np.einsum("nchw,fc->nfhw", patch, w32[:, :, p, q])
            out += b.astype(np.float32)[None, :, None, None]
            return out.astype(np.float64), (x, w, stride, pad)
    """,
        catches="conv_forward matches the reference",
    ),
    Mutant(
        "cnn.conv",
        "padding applied twice",
        """
        def conv_forward(x, w, b, stride=1, pad=0):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            xp = np.pad(x, ((0, 0), (0, 0), (2 * pad, 2 * pad), (2 * pad, 2 * pad)))
            Ho = 1 + (H + 4 * pad - HH) // stride
            Wo = 1 + (W + 4 * pad - WW) // stride
            out = np.zeros((N, F, Ho, Wo))
            for p in range(HH):
                for q in range(WW):
                    patch = xp[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride]
                    out += np.einsum("nchw,fc->nfhw", patch, w[:, :, p, q])
            out += b[None, :, None, None]
            return out, (x, w, stride, pad)
    """,
        catches="conv_forward matches the reference",
    ),
    Mutant(
        "cnn.conv",
        "bias gradient summed over the wrong axes",
        """
        def conv_backward(dout, cache):
            x, w, stride, pad = cache
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            _, _, Ho, Wo = dout.shape
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            dxp = np.zeros_like(xp)
            dw = np.zeros_like(w)
            for p in range(HH):
                for q in range(WW):
                    window = (slice(None), slice(None), slice(p, p + stride * Ho, stride),
                              slice(q, q + stride * Wo, stride))
                    dw[:, :, p, q] = np.einsum("nfhw,nchw->fc", dout, xp[window])
                    dxp[window] += np.einsum("nfhw,fc->nchw", dout, w[:, :, p, q])
            db = dout.sum(axis=(1, 2, 3))
            return dxp[:, :, pad:pad + H, pad:pad + W], dw, db
    """,
        catches="conv_backward passes the gradient check",
    ),
    Mutant(
        "cnn.conv",
        "stride ignored in the backward pass",
        """
        def conv_backward(dout, cache):
            x, w, stride, pad = cache
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            _, _, Ho, Wo = dout.shape
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            dxp = np.zeros_like(xp)
            dw = np.zeros_like(w)
            for p in range(HH):
                for q in range(WW):
                    window = (slice(None), slice(None), slice(p, p + Ho), slice(q, q + Wo))
                    dw[:, :, p, q] = np.einsum("nfhw,nchw->fc", dout, xp[window])
                    dxp[window] += np.einsum("nfhw,fc->nchw", dout, w[:, :, p, q])
            return dxp[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
    """,
        catches="conv_backward matches torch autograd",
    ),
    Mutant(
        "cnn.maxpool",
        "gradient sent to every element of the window",
        """
        def maxpool_backward(dout, cache):
            x, out, pool, stride = cache
            _, _, Ho, Wo = out.shape
            dx = np.zeros_like(x)
            for p in range(pool):
                for q in range(pool):
                    dx[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride] += dout
            return dx
    """,
        catches="maxpool_backward passes the gradient check",
    ),
    Mutant(
        "cnn.maxpool",
        "stride ignored in the backward pass",
        """
        def maxpool_backward(dout, cache):
            x, out, pool, stride = cache
            _, _, Ho, Wo = out.shape
            dx = np.zeros_like(x)
            taken = np.zeros(out.shape, dtype=bool)
            for p in range(pool):
                for q in range(pool):
                    window = (slice(None), slice(None), slice(p, p + Ho), slice(q, q + Wo))
                    hit = (x[window] == out) & ~taken
                    dx[window] += dout * hit
                    taken |= hit
            return dx
    """,
        catches="maxpool_backward passes the gradient check",
    ),
    Mutant(
        "cnn.maxpool",
        "average pooling instead of max",
        """
        def maxpool_forward(x, pool=2, stride=2):
            N, C, H, W = x.shape
            Ho, Wo = 1 + (H - pool) // stride, 1 + (W - pool) // stride
            out = np.zeros((N, C, Ho, Wo))
            for p in range(pool):
                for q in range(pool):
                    out += x[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride] / pool ** 2
            return out, (x, out, pool, stride)
    """,
        catches="maxpool_forward matches torch",
    ),
    Mutant(
        "cnn.maxpool",
        "a tie's gradient goes to every maximum of the window",
        """
        def maxpool_backward(dout, cache):
            x, out, pool, stride = cache
            _, _, Ho, Wo = out.shape
            dx = np.zeros_like(x)
            for p in range(pool):
                for q in range(pool):
                    window = np.s_[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride]
                    dx[window] += dout * (x[window] == out)
            return dx
    """,
        catches="tie's gradient to the first maximum",
    ),
    Mutant(
        "cnn.maxpool",
        "a tie's gradient goes to the last maximum of the window",
        """
        def maxpool_backward(dout, cache):
            x, out, pool, stride = cache
            _, _, Ho, Wo = out.shape
            dx = np.zeros_like(x)
            taken = np.zeros(out.shape, dtype=bool)
            for p in reversed(range(pool)):
                for q in reversed(range(pool)):
                    window = np.s_[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride]
                    hit = (x[window] == out) & ~taken
                    dx[window] += dout * hit
                    taken |= hit
            return dx
    """,
        catches="tie's gradient to the first maximum",
    ),
    Mutant(
        "cnn.maxpool",
        "a tie's gradient shared equally among the maxima",
        """
        def maxpool_backward(dout, cache):
            x, out, pool, stride = cache
            _, _, Ho, Wo = out.shape
            dx = np.zeros_like(x)
            count = np.zeros(out.shape)
            for p in range(pool):
                for q in range(pool):
                    count += x[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride] == out
            for p in range(pool):
                for q in range(pool):
                    window = np.s_[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride]
                    dx[window] += dout * (x[window] == out) / count
            return dx
    """,
        catches="tie's gradient to the first maximum",
    ),
    Mutant(
        "cnn.flatten",
        "the batch axis is flattened too",
        """
        def flatten_forward(x):
            return x.reshape(-1), x.shape
    """,
        catches="flatten_forward matches the reference",
    ),
    Mutant(
        "cnn.flatten",
        "column-major (Fortran) order",
        """
        def flatten_forward(x):
            return x.reshape(x.shape[0], -1, order="F"), x.shape
        def flatten_backward(dout, cache):
            return dout.reshape(cache, order="F")
    """,
        catches="flatten_forward matches torch",
    ),
    Mutant(
        "cnn.flatten",
        "backward transposes instead of reshaping",
        """
        def flatten_backward(dout, cache):
            return dout.T.reshape(cache)
    """,
        catches="flatten_backward passes the gradient check",
    ),
    Mutant(
        "cnn.model",
        "softmax gradient not divided by the batch size",
        """
        def cnn_loss(params, X, y):
            scores, (conv_cache, relu_cache, pool_cache, flat_cache, f) = cnn_scores(params, X)
            probs, _ = softmax_forward(scores)
            n = X.shape[0]
            loss = -np.mean(np.log(probs[np.arange(n), y]))
            dscores = probs.copy()
            dscores[np.arange(n), y] -= 1.0
            grads = {"W2": f.T @ dscores, "b2": dscores.sum(axis=0)}
            da = relu_backward(maxpool_backward(flatten_backward(dscores @ params["W2"].T, flat_cache),
                                                pool_cache), relu_cache)
            _, grads["W1"], grads["b1"] = conv_backward(da, conv_cache)
            return float(loss), grads
    """,
        catches="cnn_loss passes the gradient check",
    ),
    Mutant(
        "cnn.model",
        "ReLU backward skipped",
        """
        def cnn_loss(params, X, y):
            scores, (conv_cache, relu_cache, pool_cache, flat_cache, f) = cnn_scores(params, X)
            probs, _ = softmax_forward(scores)
            n = X.shape[0]
            loss = -np.mean(np.log(probs[np.arange(n), y]))
            dscores = probs.copy()
            dscores[np.arange(n), y] -= 1.0
            dscores /= n
            grads = {"W2": f.T @ dscores, "b2": dscores.sum(axis=0)}
            da = maxpool_backward(flatten_backward(dscores @ params["W2"].T, flat_cache), pool_cache)
            _, grads["W1"], grads["b1"] = conv_backward(da, conv_cache)
            return float(loss), grads
    """,
        catches="cnn_loss matches the reference",
    ),
    Mutant(
        "cnn.model",
        "gradient ascent (the update has the wrong sign)",
        """
        def train_cnn(X, y, epochs=8, lr=0.05, momentum=0.9, batch_size=32, filters=8, seed=0):
            rng = np.random.default_rng(seed)
            params = {"W1": rng.standard_normal((filters, 1, 3, 3)) * np.sqrt(2.0 / 9), "b1": np.zeros(filters),
                      "W2": rng.standard_normal((filters * 16, 10)) * np.sqrt(2.0 / (filters * 16)),
                      "b2": np.zeros(10)}
            losses = []
            for _ in range(epochs):
                order = rng.permutation(X.shape[0])
                for start in range(0, X.shape[0], batch_size):
                    idx = order[start:start + batch_size]
                    loss, grads = cnn_loss(params, X[idx], y[idx])
                    for k in params:
                        params[k] += lr * grads[k]
                    losses.append(loss)
            return params, losses
    """,
        catches="held-out digits",
    ),
    Mutant(
        "cnn.model",
        "only the last layer is trained",
        """
        def train_cnn(X, y, epochs=8, lr=0.05, momentum=0.9, batch_size=32, filters=8, seed=0):
            rng = np.random.default_rng(seed)
            params = {"W1": rng.standard_normal((filters, 1, 3, 3)) * 0.01, "b1": np.zeros(filters),
                      "W2": rng.standard_normal((filters * 16, 10)) * 0.01, "b2": np.zeros(10)}
            losses = []
            for _ in range(1):
                order = rng.permutation(X.shape[0])
                for start in range(0, X.shape[0], batch_size):
                    idx = order[start:start + batch_size]
                    loss, grads = cnn_loss(params, X[idx], y[idx])
                    params["b2"] -= lr * grads["b2"]
                    losses.append(loss)
            return params, losses
    """,
        catches="held-out digits",
    ),
    Mutant(
        "cnn.model",
        "the optimizer is re-created every epoch",
        _train_cnn(epoch="optimizer = SGD([params[k] for k in keys], lr, momentum=momentum)"),
        catches=_PROCESS,
    ),
    Mutant("cnn.model", "the biases are not trained", _train_cnn(keys='("W1", "W2")'), catches=_PROCESS),
    Mutant(
        "cnn.model",
        "minibatches of the first rows, never shuffled",
        _train_cnn(idx="np.arange(start, min(start + batch_size, X.shape[0]))"),
        catches=_PROCESS,
    ),
]
