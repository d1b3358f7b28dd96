"""Correct implementations of the RNN part that differ from the reference: they must get full marks."""

from tests.corpus import Alternative

ALTERNATIVES = [
    Alternative(
        "rnn.step",
        "caches the pre-activation and recomputes tanh",
        """
        def rnn_step_forward(x, h_prev, Wx, Wh, b):
            a = np.dot(x, Wx) + np.dot(h_prev, Wh) + b[None, :]
            return np.tanh(a), {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "a": a}
        def rnn_step_backward(dh, cache):
            da = dh / np.cosh(cache["a"]) ** 2
            return (da @ cache["Wx"].T, da @ cache["Wh"].T, cache["x"].T @ da, cache["h_prev"].T @ da,
                    np.einsum("nh->h", da))
    """,
    ),
    Alternative(
        "rnn.sequence",
        "time-major arrays and a list of states",
        """
        def rnn_forward(x, h0, Wx, Wh, b):
            states, caches = [h0], []
            for xt in np.swapaxes(x, 0, 1):
                h, c = rnn_step_forward(xt, states[-1], Wx, Wh, b)
                states.append(h)
                caches.append(c)
            return np.stack(states[1:], axis=1), (caches, x.shape)
        def rnn_backward(dh, cache):
            caches, shape = cache
            grads = None
            dnext = np.zeros_like(dh[:, 0])
            dxs = []
            for t in range(len(caches) - 1, -1, -1):
                dx, dnext, *dparams = rnn_step_backward(dh[:, t] + dnext, caches[t])
                dxs.append(dx)
                grads = dparams if grads is None else [g + d for g, d in zip(grads, dparams)]
            return (np.stack(dxs[::-1], axis=1), dnext, *grads)
    """,
    ),
    Alternative(
        "rnn.lstm",
        "one sigmoid over three gates and explicit derivatives",
        """
        def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
            H = h_prev.shape[1]
            a = x @ Wx + h_prev @ Wh + b
            s = 1.0 / (1.0 + np.exp(-a[:, :3 * H]))
            i, f, o = np.split(s, 3, axis=1)
            g = np.tanh(a[:, 3 * H:])
            c = f * c_prev + i * g
            h = o * np.tanh(c)
            return h, c, (x, h_prev, c_prev, Wx, Wh, s, g, c)
        def lstm_step_backward(dh, dc, cache):
            x, h_prev, c_prev, Wx, Wh, s, g, c = cache
            i, f, o = np.split(s, 3, axis=1)
            dc = dc + dh * o * (1 - np.tanh(c) ** 2)
            ds = np.concatenate([dc * g, dc * c_prev, dh * np.tanh(c)], axis=1) * s * (1 - s)
            da = np.concatenate([ds, dc * i * (1 - g ** 2)], axis=1)
            return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    """,
    ),
    Alternative(
        "rnn.model",
        "mean-free loss via log-sum-exp and momentum",
        """
        def rnn_classifier_loss(params, X, y):
            scores, (h, cache) = rnn_scores(params, X)
            m = scores.max(axis=1, keepdims=True)
            logp = scores - m - np.log(np.exp(scores - m).sum(axis=1, keepdims=True))
            n = len(y)
            dscores = (np.exp(logp) - np.eye(scores.shape[1])[y]) / n
            dh = np.zeros_like(h)
            dh[:, -1] = dscores @ params["Wy"].T
            _, _, dWx, dWh, db = rnn_backward(dh, cache)
            return -logp[np.arange(n), y].sum() / n, {"Wx": dWx, "Wh": dWh, "b": db,
                                                      "Wy": h[:, -1].T @ dscores, "by": dscores.sum(axis=0)}
        def train_rnn(X, y, classes, hidden=16, epochs=30, lr=0.5, batch_size=32, seed=0):
            rng = np.random.default_rng(seed + 7)
            D = X.shape[2]
            params = {"Wx": rng.uniform(-0.5, 0.5, (D, hidden)), "Wh": np.eye(hidden) * 0.5, "b": np.zeros(hidden),
                      "Wy": rng.uniform(-0.3, 0.3, (hidden, classes)), "by": np.zeros(classes)}
            v = {k: np.zeros_like(p) for k, p in params.items()}
            losses = []
            for _ in range(epochs):
                order = rng.permutation(len(y))
                for start in range(0, len(y), batch_size):
                    idx = order[start:start + batch_size]
                    loss, grads = rnn_classifier_loss(params, X[idx], y[idx])
                    for k in params:
                        v[k] = 0.5 * v[k] - 0.5 * lr * grads[k]
                        params[k] = params[k] + v[k]
                    losses.append(loss)
            return params, losses
    """,
    ),
]
