"""Part — recurrent networks (seed 2.2): a vanilla RNN, backpropagation through time, and an LSTM step.

Shapes: a minibatch of N sequences of T steps with D features, x of shape (N, T, D); hidden size H.
Vanilla RNN (tanh):   hₜ = tanh(xₜ·Wx + hₜ₋₁·Wh + b)      Wx (D, H), Wh (H, H), b (H,).
LSTM (gate order i, f, o, g, as in CS231n; torch's LSTMCell orders them i, f, g, o):
    a = xₜ·Wx + hₜ₋₁·Wh + b   with Wx (D, 4H), Wh (H, 4H), b (4H,), split into four blocks of H columns
    i = σ(a[:, 0:H]),  f = σ(a[:, H:2H]),  o = σ(a[:, 2H:3H]),  g = tanh(a[:, 3H:4H])
    cₜ = f ⊙ cₜ₋₁ + i ⊙ g,   hₜ = o ⊙ tanh(cₜ)

Every layer follows the cache-passing convention: ``forward(...) -> (outputs..., cache)`` and
``backward(upstream gradients..., cache) -> gradients``.  Never change the inputs in place.
"""
import numpy as np

from neuron import softmax_forward


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """Exercise rnn.step — one step of a vanilla RNN: h = tanh(x·Wx + h_prev·Wh + b).

    x: (N, D), h_prev: (N, H), Wx: (D, H), Wh: (H, H), b: (H,).  Returns (h, cache) with h of shape (N, H).
    """
    ### BEGIN SOLUTION
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, h)
    ### END SOLUTION


def rnn_step_backward(dh, cache):
    """Exercise rnn.step — gradients of one RNN step.

    da = dh ⊙ (1 − h²) (the derivative of tanh at its *output*); dx = da·Wxᵀ, dh_prev = da·Whᵀ,
    dWx = xᵀ·da, dWh = h_prevᵀ·da, db = Σₙ da.  Returns (dx, dh_prev, dWx, dWh, db).
    """
    ### BEGIN SOLUTION
    x, h_prev, Wx, Wh, h = cache
    da = dh * (1.0 - h * h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    ### END SOLUTION


def rnn_forward(x, h0, Wx, Wh, b):
    """Exercise rnn.sequence — run the RNN over a whole sequence: hₜ = tanh(xₜ·Wx + hₜ₋₁·Wh + b).

    x: (N, T, D), h0: (N, H).  Returns (h, cache) with h of shape (N, T, H) holding h₁ … h_T.
    """
    ### BEGIN SOLUTION
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    caches = []
    prev = h0
    for t in range(T):
        prev, cache = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        h[:, t] = prev
        caches.append(cache)
    return h, caches
    ### END SOLUTION


def rnn_backward(dh, cache):
    """Exercise rnn.sequence — backpropagation through time.

    dh: (N, T, H), the gradient of the loss with respect to every hₜ *from above*.  Walking t = T … 1, the
    gradient reaching hₜ is dh[:, t] plus the dh_prev coming back from step t + 1; the weight gradients are
    summed over all steps.  Returns (dx, dh0, dWx, dWh, db).
    """
    ### BEGIN SOLUTION
    caches = cache
    N, T, _ = dh.shape
    Wx = caches[0][2]
    dx = np.zeros((N, T, Wx.shape[0]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(caches[0][3]), np.zeros(Wx.shape[1])
    dprev = np.zeros((N, Wx.shape[1]))
    for t in reversed(range(T)):
        dx[:, t], dprev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev, caches[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev, dWx, dWh, db
    ### END SOLUTION


def _sigmoid(x):
    """σ(x) without overflow (given)."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """Exercise rnn.lstm — one LSTM step, gates in the order i, f, o, g.

    a = x·Wx + h_prev·Wh + b; i, f, o = σ(a[:, :H]), σ(a[:, H:2H]), σ(a[:, 2H:3H]); g = tanh(a[:, 3H:]);
    c = f ⊙ c_prev + i ⊙ g;  h = o ⊙ tanh(c).
    x: (N, D), h_prev and c_prev: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,).  Returns (h, c, cache).
    """
    ### BEGIN SOLUTION
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, o, g, tc)
    ### END SOLUTION


def lstm_step_backward(dh, dc, cache):
    """Exercise rnn.lstm — gradients of one LSTM step.

    dh, dc: gradients with respect to h and c from above.  The total gradient on c is
    dc + dh ⊙ o ⊙ (1 − tanh(c)²); then di = dc·g, df = dc·c_prev, do = dh·tanh(c), dg = dc·i, pushed through
    σ' = σ(1 − σ) and tanh' = 1 − tanh² into da = [di, df, do, dg] (same order as the gates).
    Returns (dx, dh_prev, dc_prev, dWx, dWh, db).
    """
    ### BEGIN SOLUTION
    x, h_prev, c_prev, Wx, Wh, i, f, o, g, tc = cache
    dc_total = dc + dh * o * (1.0 - tc * tc)
    da = np.concatenate([dc_total * g * i * (1 - i), dc_total * c_prev * f * (1 - f),
                         dh * tc * o * (1 - o), dc_total * i * (1 - g * g)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc_total * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    ### END SOLUTION


# ----------------------------------------------------------------------------- a sequence classifier
# h = rnn_forward(X, 0, Wx, Wh, b); scores = h_T·Wy + by (the last hidden state); softmax cross-entropy.
# params: Wx (D, H), Wh (H, H), b (H,), Wy (H, C), by (C,).


def rnn_scores(params, X):
    """Class scores (N, C) from the last hidden state, and the caches (given, not an exercise)."""
    h0 = np.zeros((X.shape[0], params["Wh"].shape[0]))
    h, cache = rnn_forward(X, h0, params["Wx"], params["Wh"], params["b"])
    last = h[:, -1]
    return last @ params["Wy"] + params["by"], (h, cache)


def rnn_predict(params, X):
    """Predicted classes (N,) of the sequence classifier (given, not an exercise)."""
    return np.argmax(rnn_scores(params, X)[0], axis=1)


def rnn_classifier_loss(params, X, y):
    """Exercise rnn.model — mean softmax cross-entropy of the sequence classifier and its gradients.

    scores = h_T·Wy + by; dscores = (softmax(scores) − onehot(y)) / N; dWy = h_Tᵀ·dscores; the gradient
    dscores·Wyᵀ reaches only the last step (dh[:, :-1] = 0), then rnn_backward.
    Returns (loss, grads) with the keys and shapes of params.
    """
    ### BEGIN SOLUTION
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
    return float(loss), {"Wx": dWx, "Wh": dWh, "b": db, "Wy": h[:, -1].T @ dscores, "by": dscores.sum(axis=0)}
    ### END SOLUTION


def train_rnn(X, y, classes, hidden=16, epochs=30, lr=0.5, batch_size=32, seed=0):
    """Exercise rnn.model — train the sequence classifier by minibatch gradient descent.

    Initialise Wx ~ N(0, 1/D), Wh ~ N(0, 1/H), Wy ~ N(0, 1/H), biases 0, with np.random.default_rng(seed);
    each epoch, shuffle, then for each minibatch: loss, grads = rnn_classifier_loss(...); p ← p − lr·grad.
    Returns (params, losses) with one loss per step.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    D = X.shape[2]
    params = {"Wx": rng.standard_normal((D, hidden)) / np.sqrt(D),
              "Wh": rng.standard_normal((hidden, hidden)) / np.sqrt(hidden),
              "b": np.zeros(hidden),
              "Wy": rng.standard_normal((hidden, classes)) / np.sqrt(hidden),
              "by": np.zeros(classes)}
    losses = []
    for _ in range(epochs):
        order = rng.permutation(X.shape[0])
        for start in range(0, X.shape[0], batch_size):
            idx = order[start:start + batch_size]
            loss, grads = rnn_classifier_loss(params, X[idx], y[idx])
            for k in params:
                params[k] -= lr * grads[k]
            losses.append(loss)
    return params, losses
    ### END SOLUTION
