"""Correct implementations of the CNN part that differ from the reference: they must get full marks."""

from tests.corpus import Alternative

ALTERNATIVES = [
    Alternative(
        "cnn.conv",
        "im2col and one matrix product",
        """
        def _im2col(xp, HH, WW, stride, Ho, Wo):
            N, C = xp.shape[:2]
            cols = np.empty((N, C, HH, WW, Ho, Wo))
            for p in range(HH):
                for q in range(WW):
                    cols[:, :, p, q] = xp[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride]
            return cols.transpose(1, 2, 3, 0, 4, 5).reshape(C * HH * WW, N * Ho * Wo)
        def conv_forward(x, w, b, stride=1, pad=0):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            Ho, Wo = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            cols = _im2col(xp, HH, WW, stride, Ho, Wo)
            out = (w.reshape(F, -1) @ cols + b[:, None]).reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)
            return out, (x, w, stride, pad, cols)
        def conv_backward(dout, cache):
            x, w, stride, pad, cols = cache
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            _, _, Ho, Wo = dout.shape
            d2 = dout.transpose(1, 0, 2, 3).reshape(F, -1)
            dw = (d2 @ cols.T).reshape(w.shape)
            dcols = (w.reshape(F, -1).T @ d2).reshape(C, HH, WW, N, Ho, Wo).transpose(3, 0, 1, 2, 4, 5)
            dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
            for p in range(HH):
                for q in range(WW):
                    dxp[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride] += dcols[:, :, p, q]
            return dxp[:, :, pad:pad + H, pad:pad + W], dw, d2.sum(axis=1)
    """,
    ),
    Alternative(
        "cnn.conv",
        "naive loops over every output position",
        """
        def conv_forward(x, w, b, stride=1, pad=0):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            Ho, Wo = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            out = np.zeros((N, F, Ho, Wo))
            for n in range(N):
                for f in range(F):
                    for i in range(Ho):
                        for j in range(Wo):
                            window = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                            out[n, f, i, j] = np.sum(window * w[f]) + b[f]
            return out, (x, w, b, stride, pad)
        def conv_backward(dout, cache):
            x, w, b, stride, pad = cache
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            _, _, Ho, Wo = dout.shape
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros_like(b)
            for n in range(N):
                for f in range(F):
                    db[f] += dout[n, f].sum()
                    for i in range(Ho):
                        for j in range(Wo):
                            hs, ws = i * stride, j * stride
                            dw[f] += dout[n, f, i, j] * xp[n, :, hs:hs + HH, ws:ws + WW]
                            dxp[n, :, hs:hs + HH, ws:ws + WW] += dout[n, f, i, j] * w[f]
            return dxp[:, :, pad:pad + H, pad:pad + W], dw, db
    """,
    ),
    Alternative(
        "cnn.maxpool",
        "loops with argmax per window",
        """
        def maxpool_forward(x, pool=2, stride=2):
            N, C, H, W = x.shape
            Ho, Wo = 1 + (H - pool) // stride, 1 + (W - pool) // stride
            out = np.zeros((N, C, Ho, Wo))
            for i in range(Ho):
                for j in range(Wo):
                    win = x[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool]
                    out[:, :, i, j] = win.max(axis=(2, 3))
            return out, (x, pool, stride)
        def maxpool_backward(dout, cache):
            x, pool, stride = cache
            N, C, Ho, Wo = dout.shape
            dx = np.zeros_like(x)
            for n in range(N):
                for c in range(C):
                    for i in range(Ho):
                        for j in range(Wo):
                            win = x[n, c, i * stride:i * stride + pool, j * stride:j * stride + pool]
                            p, q = np.unravel_index(np.argmax(win), win.shape)
                            dx[n, c, i * stride + p, j * stride + q] += dout[n, c, i, j]
            return dx
    """,
    ),
    Alternative(
        "cnn.flatten",
        "written for (N, C, H, W) as the docstring describes",
        """
        def flatten_forward(x):
            N, C, H, W = x.shape
            return x.reshape(N, C * H * W), (N, C, H, W)
        def flatten_backward(dout, cache):
            N, C, H, W = cache
            return dout.reshape(N, C, H, W)
    """,
    ),
    Alternative(
        "cnn.model",
        "its own momentum loop and initialisation, without optim.SGD",
        """
        def train_cnn(X, y, epochs=8, lr=0.05, momentum=0.9, batch_size=32, filters=8, seed=0):
            rng = np.random.default_rng(seed + 1)
            params = {"W1": rng.uniform(-0.5, 0.5, (filters, 1, 3, 3)), "b1": np.full(filters, 0.01),
                      "W2": rng.uniform(-0.1, 0.1, (filters * 16, 10)), "b2": np.zeros(10)}
            velocity = {k: np.zeros_like(v) for k, v in params.items()}
            losses = []
            for _ in range(epochs):
                order = rng.permutation(len(y))
                for start in range(0, len(y), batch_size):
                    idx = order[start:start + batch_size]
                    loss, grads = cnn_loss(params, X[idx], y[idx])
                    for k in params:
                        velocity[k] = momentum * velocity[k] - lr * grads[k]
                        params[k] = params[k] + velocity[k]
                    losses.append(loss)
            return params, losses
    """,
    ),
]
