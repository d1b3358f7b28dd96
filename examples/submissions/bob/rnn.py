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
    # YOUR CODE HERE (rnn.step)
    raise NotImplementedError("rnn.step: write rnn_step_forward")


def rnn_step_backward(dh, cache):
    """Exercise rnn.step — gradients of one RNN step.

    da = dh ⊙ (1 − h²) (the derivative of tanh at its *output*); dx = da·Wxᵀ, dh_prev = da·Whᵀ,
    dWx = xᵀ·da, dWh = h_prevᵀ·da, db = Σₙ da.  Returns (dx, dh_prev, dWx, dWh, db).
    """
    # YOUR CODE HERE (rnn.step)
    raise NotImplementedError("rnn.step: write rnn_step_backward")


def rnn_forward(x, h0, Wx, Wh, b):
    """Exercise rnn.sequence — run the RNN over a whole sequence: hₜ = tanh(xₜ·Wx + hₜ₋₁·Wh + b).

    x: (N, T, D), h0: (N, H).  Returns (h, cache) with h of shape (N, T, H) holding h₁ … h_T.
    """
    # YOUR CODE HERE (rnn.sequence)
    raise NotImplementedError("rnn.sequence: write rnn_forward")


def rnn_backward(dh, cache):
    """Exercise rnn.sequence — backpropagation through time.

    dh: (N, T, H), the gradient of the loss with respect to every hₜ *from above*.  Walking t = T … 1, the
    gradient reaching hₜ is dh[:, t] plus the dh_prev coming back from step t + 1; the weight gradients are
    summed over all steps.  Returns (dx, dh0, dWx, dWh, db).
    """
    # YOUR CODE HERE (rnn.sequence)
    raise NotImplementedError("rnn.sequence: write rnn_backward")


def _sigmoid(x):
    """σ(x) without overflow (given)."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """Exercise rnn.lstm — one LSTM step, gates in the order i, f, o, g.

    a = x·Wx + h_prev·Wh + b; i, f, o = σ(a[:, :H]), σ(a[:, H:2H]), σ(a[:, 2H:3H]); g = tanh(a[:, 3H:]);
    c = f ⊙ c_prev + i ⊙ g;  h = o ⊙ tanh(c).
    x: (N, D), h_prev and c_prev: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,).  Returns (h, c, cache).
    """
    # YOUR CODE HERE (rnn.lstm)
    raise NotImplementedError("rnn.lstm: write lstm_step_forward")


def lstm_step_backward(dh, dc, cache):
    """Exercise rnn.lstm — gradients of one LSTM step.

    dh, dc: gradients with respect to h and c from above.  The total gradient on c is
    dc + dh ⊙ o ⊙ (1 − tanh(c)²); then di = dc·g, df = dc·c_prev, do = dh·tanh(c), dg = dc·i, pushed through
    σ' = σ(1 − σ) and tanh' = 1 − tanh² into da = [di, df, do, dg] (same order as the gates).
    Returns (dx, dh_prev, dc_prev, dWx, dWh, db).
    """
    # YOUR CODE HERE (rnn.lstm)
    raise NotImplementedError("rnn.lstm: write lstm_step_backward")


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
    # YOUR CODE HERE (rnn.model)
    raise NotImplementedError("rnn.model: write rnn_classifier_loss")


def train_rnn(X, y, classes, hidden=16, epochs=30, lr=0.5, batch_size=32, seed=0):
    """Exercise rnn.model — train the sequence classifier by minibatch gradient descent.

    Initialise Wx ~ N(0, 1/D), Wh ~ N(0, 1/H), Wy ~ N(0, 1/H), biases 0, with np.random.default_rng(seed);
    each epoch, shuffle, then for each minibatch: loss, grads = rnn_classifier_loss(...); p ← p − lr·grad.
    Returns (params, losses) with one loss per step.
    """
    # YOUR CODE HERE (rnn.model)
    raise NotImplementedError("rnn.model: write train_rnn")
