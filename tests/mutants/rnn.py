"""Realistic wrong implementations of the RNN part."""

from tests.corpus import Mutant, fill

_LSTM_FORWARD_IFGO = """
    def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
        H = h_prev.shape[1]
        a = x @ Wx + h_prev @ Wh + b
        i, f, g, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
        c = f * c_prev + i * g
        tc = np.tanh(c)
        return o * tc, c, (x, h_prev, c_prev, Wx, Wh, i, f, o, g, tc)
"""


_TRAIN_RNN = """
        def train_rnn(X, y, classes, hidden=16, epochs=30, lr=0.5, batch_size=32, seed=0):
            rng = np.random.default_rng(seed)
            D = X.shape[2]
            params = {"Wx": rng.standard_normal((D, hidden)) / np.sqrt(D),
                      "Wh": rng.standard_normal((hidden, hidden)) / np.sqrt(hidden), "b": np.zeros(hidden),
                      "Wy": rng.standard_normal((hidden, classes)) / np.sqrt(hidden), "by": np.zeros(classes)}
            losses = []
            for _ in range(<epochs>):
                order = rng.permutation(X.shape[0])
                epoch_losses = []
                for start in range(0, X.shape[0], <batch>):
                    idx = order[start:start + <batch>]
                    loss, grads = rnn_classifier_loss(params, X[idx], y[idx])
                    for k in <updated>:
                        params[k] -= lr * grads[k]
                    epoch_losses.append(loss)
                <record>
            return params, losses
"""
_TRAIN_RNN_OK = dict(epochs="epochs", batch="batch_size", updated="params", record="losses += epoch_losses")
_PROCESS = "train_rnn records one loss per minibatch step"


def _train_rnn(**change: str) -> str:
    """The reference's train_rnn with the pieces in ``change`` swapped."""
    return fill(_TRAIN_RNN, _TRAIN_RNN_OK, change)


MUTANTS = [
    Mutant(
        "rnn.step",
        "tanh derivative taken at the pre-activation",
        """
        def rnn_step_forward(x, h_prev, Wx, Wh, b):
            a = x @ Wx + h_prev @ Wh + b
            return np.tanh(a), (x, h_prev, Wx, Wh, a)
        def rnn_step_backward(dh, cache):
            x, h_prev, Wx, Wh, a = cache
            da = dh * (1.0 - a * a)
            return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    """,
        catches="rnn_step_backward passes the gradient check",
    ),
    Mutant(
        "rnn.step",
        "dh_prev multiplies by Wh instead of its transpose",
        """
        def rnn_step_backward(dh, cache):
            x, h_prev, Wx, Wh, h = cache
            da = dh * (1.0 - h * h)
            return da @ Wx.T, da @ Wh, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    """,
        catches="rnn_step_backward matches torch autograd",
    ),
    Mutant(
        "rnn.step",
        "h_prev·Wh missing from the pre-activation",
        """
        def rnn_step_forward(x, h_prev, Wx, Wh, b):
            h = np.tanh(x @ Wx + b)
            return h, (x, h_prev, Wx, Wh, h)
    """,
        catches="rnn_step_forward matches torch",
    ),
    Mutant(
        "rnn.sequence",
        "BPTT forgets the hidden-state gradient from the next step",
        """
        def rnn_backward(dh, cache):
            caches = cache
            N, T, _ = dh.shape
            Wx = caches[0][2]
            dx = np.zeros((N, T, Wx.shape[0]))
            dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(caches[0][3]), np.zeros(Wx.shape[1])
            for t in reversed(range(T)):
                dx[:, t], dprev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t], caches[t])
                dWx += dWx_t
                dWh += dWh_t
                db += db_t
            return dx, dprev, dWx, dWh, db
    """,
        catches="rnn_backward passes the gradient check",
    ),
    Mutant(
        "rnn.sequence",
        "weight gradients overwritten instead of summed over steps",
        """
        def rnn_backward(dh, cache):
            caches = cache
            N, T, _ = dh.shape
            Wx = caches[0][2]
            dx = np.zeros((N, T, Wx.shape[0]))
            dprev = np.zeros((N, Wx.shape[1]))
            for t in reversed(range(T)):
                dx[:, t], dprev, dWx, dWh, db = rnn_step_backward(dh[:, t] + dprev, caches[t])
            return dx, dprev, dWx, dWh, db
    """,
        catches="rnn_backward matches torch autograd",
    ),
    Mutant(
        "rnn.sequence",
        "outputs shifted: h0 stored instead of the last state",
        """
        def rnn_forward(x, h0, Wx, Wh, b):
            N, T, _ = x.shape
            h = np.zeros((N, T, h0.shape[1]))
            caches = []
            prev = h0
            for t in range(T):
                h[:, t] = prev
                prev, cache = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
                caches.append(cache)
            return h, caches
    """,
        catches="rnn_forward matches torch",
    ),
    Mutant(
        "rnn.lstm",
        "gates in torch's order i, f, g, o with CS231n weights",
        _LSTM_FORWARD_IFGO,
        catches="lstm_step_forward matches torch LSTMCell",
    ),
    Mutant(
        "rnn.lstm",
        "tanh(c) path left out of the cell gradient",
        """
        def lstm_step_backward(dh, dc, cache):
            x, h_prev, c_prev, Wx, Wh, i, f, o, g, tc = cache
            dc_total = dc
            da = np.concatenate([dc_total * g * i * (1 - i), dc_total * c_prev * f * (1 - f),
                                 dh * tc * o * (1 - o), dc_total * i * (1 - g * g)], axis=1)
            return da @ Wx.T, da @ Wh.T, dc_total * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    """,
        catches="lstm_step_backward passes the gradient check",
    ),
    Mutant(
        "rnn.lstm",
        "dc_prev not multiplied by the forget gate",
        """
        def lstm_step_backward(dh, dc, cache):
            x, h_prev, c_prev, Wx, Wh, i, f, o, g, tc = cache
            dc_total = dc + dh * o * (1.0 - tc * tc)
            da = np.concatenate([dc_total * g * i * (1 - i), dc_total * c_prev * f * (1 - f),
                                 dh * tc * o * (1 - o), dc_total * i * (1 - g * g)], axis=1)
            return da @ Wx.T, da @ Wh.T, dc_total, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    """,
        catches="lstm_step_backward matches torch autograd",
    ),
    Mutant(
        "rnn.lstm",
        "tanh derivative on the pre-activation of g",
        """
        def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
            H = h_prev.shape[1]
            a = x @ Wx + h_prev @ Wh + b
            i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:3 * H])
            g = np.tanh(a[:, 3 * H:])
            c = f * c_prev + i * g
            tc = np.tanh(c)
            return o * tc, c, (x, h_prev, c_prev, Wx, Wh, i, f, o, a[:, 3 * H:], tc)
        def lstm_step_backward(dh, dc, cache):
            x, h_prev, c_prev, Wx, Wh, i, f, o, ag, tc = cache
            g = np.tanh(ag)
            dc_total = dc + dh * o * (1.0 - tc * tc)
            da = np.concatenate([dc_total * g * i * (1 - i), dc_total * c_prev * f * (1 - f),
                                 dh * tc * o * (1 - o), dc_total * i * (1 - ag * ag)], axis=1)
            return da @ Wx.T, da @ Wh.T, dc_total * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    """,
        catches="lstm_step_backward passes the gradient check",
    ),
    Mutant(
        "rnn.model",
        "the score gradient is fed to every step",
        """
        def rnn_classifier_loss(params, X, y):
            scores, (h, cache) = rnn_scores(params, X)
            probs, _ = softmax_forward(scores)
            n = X.shape[0]
            loss = -np.mean(np.log(probs[np.arange(n), y]))
            dscores = probs.copy()
            dscores[np.arange(n), y] -= 1.0
            dscores /= n
            dh = np.zeros_like(h)
            dh[:, :] = (dscores @ params["Wy"].T)[:, None, :]
            _, _, dWx, dWh, db = rnn_backward(dh, cache)
            return float(loss), {"Wx": dWx, "Wh": dWh, "b": db, "Wy": h[:, -1].T @ dscores,
                                 "by": dscores.sum(axis=0)}
    """,
        catches="rnn_classifier_loss passes the gradient check",
    ),
    Mutant(
        "rnn.model",
        "dWy from the mean hidden state",
        """
        def rnn_classifier_loss(params, X, y):
            scores, (h, cache) = rnn_scores(params, X)
            probs, _ = softmax_forward(scores)
            n = X.shape[0]
            loss = -np.mean(np.log(probs[np.arange(n), y]))
            dscores = probs.copy()
            dscores[np.arange(n), y] -= 1.0
            dscores /= n
            dh = np.zeros_like(h)
            dh[:, -1] = dscores @ params["Wy"].T
            _, _, dWx, dWh, db = rnn_backward(dh, cache)
            return float(loss), {"Wx": dWx, "Wh": dWh, "b": db, "Wy": h.mean(axis=1).T @ dscores,
                                 "by": dscores.sum(axis=0)}
    """,
        catches="rnn_classifier_loss matches the reference",
    ),
    Mutant(
        "rnn.model",
        "the recurrent weights are never updated",
        _train_rnn(updated='("Wy", "by")'),
        catches="held-out sequences",
    ),
    Mutant(
        "rnn.lstm",
        "cell gradient accumulated into dc in place",
        """
        def lstm_step_backward(dh, dc, cache):
            x, h_prev, c_prev, Wx, Wh, i, f, o, g, tc = cache
            dc += dh * o * (1.0 - tc * tc)
            da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                                 dh * tc * o * (1 - o), dc * i * (1 - g * g)], axis=1)
            return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    """,
        catches="lstm_step_backward leaves dh, dc and the cache unchanged",
    ),
    Mutant(
        "rnn.step",
        "tanh derivative computed over the cached h in place",
        """
        def rnn_step_backward(dh, cache):
            x, h_prev, Wx, Wh, h = cache
            h **= 2
            da = dh * (1 - h)
            return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    """,
        catches="rnn_step_backward leaves dout and the cache unchanged",
    ),
    Mutant(
        "rnn.model",
        "one loss per epoch (the epoch's mean)",
        _train_rnn(record="losses.append(float(np.mean(epoch_losses)))"),
        catches=_PROCESS,
    ),
    Mutant("rnn.model", "epochs ignored", _train_rnn(epochs="1"), catches=_PROCESS),
    Mutant("rnn.model", "the whole training set in every step", _train_rnn(batch="X.shape[0]"), catches=_PROCESS),
]
