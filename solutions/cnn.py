"""Part — convolutional networks (seed 2.2).

Images are batches of shape (N, C, H, W).  A convolution layer has F filters w of shape (F, C, HH, WW) and a
bias b of shape (F,); like every deep-learning library (and torch's F.conv2d) it computes a *cross-correlation*:

    out[n, f, i, j] = b[f] + Σ_c Σ_p Σ_q  x_pad[n, c, i·stride + p, j·stride + q] · w[f, c, p, q]

where x_pad is x with `pad` zeros added on each side of H and W.  The output size is
H' = 1 + (H + 2·pad − HH) // stride (and likewise W'), rounded down like torch.

Every layer follows the cache-passing convention: ``forward(...) -> (out, cache)`` and
``backward(dout, cache) -> gradients``.  Never change the inputs in place.
"""
import numpy as np

from neuron import relu_backward, relu_forward, softmax_forward
from optim import SGD


def conv_forward(x, w, b, stride=1, pad=0):
    """Exercise cnn.conv — 2-D convolution (cross-correlation) with stride and zero padding.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,).
    out[n, f, i, j] = b[f] + Σ_{c,p,q} x_pad[n, c, i·stride + p, j·stride + q] · w[f, c, p, q],
    with H' = 1 + (H + 2·pad − HH) // stride and W' = 1 + (W + 2·pad − WW) // stride.
    Returns (out, cache) with out of shape (N, F, H', W').
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho = 1 + (H + 2 * pad - HH) // stride
    Wo = 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, Ho, Wo))
    for p in range(HH):
        for q in range(WW):
            patch = xp[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, p, q])
    out += b[None, :, None, None]
    return out, (x, w, stride, pad)
    ### END SOLUTION


def conv_backward(dout, cache):
    """Exercise cnn.conv — gradients of the convolution.

    dout: (N, F, H', W').  Returns (dx, dw, db) with the shapes of x, w and b:
    db[f] = Σ_{n,i,j} dout[n, f, i, j];  dw[f, c, p, q] = Σ_{n,i,j} dout[n, f, i, j] · x_pad[n, c, i·s + p, j·s + q];
    dx_pad[n, c, i·s + p, j·s + q] += Σ_f dout[n, f, i, j] · w[f, c, p, q], then dx = dx_pad without the padding.
    """
    ### BEGIN SOLUTION
    x, w, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for p in range(HH):
        for q in range(WW):
            window = (slice(None), slice(None), slice(p, p + stride * Ho, stride), slice(q, q + stride * Wo, stride))
            dw[:, :, p, q] = np.einsum("nfhw,nchw->fc", dout, xp[window])
            dxp[window] += np.einsum("nfhw,fc->nchw", dout, w[:, :, p, q])
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db
    ### END SOLUTION


def maxpool_forward(x, pool=2, stride=2):
    """Exercise cnn.maxpool — max pooling over pool×pool windows moved by `stride`.

    x: (N, C, H, W).  out[n, c, i, j] = max_{0≤p,q<pool} x[n, c, i·stride + p, j·stride + q],
    with H' = 1 + (H − pool) // stride and W' = 1 + (W − pool) // stride.  Returns (out, cache).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - pool) // stride, 1 + (W - pool) // stride
    out = np.full((N, C, Ho, Wo), -np.inf)
    for p in range(pool):
        for q in range(pool):
            out = np.maximum(out, x[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride])
    return out, (x, out, pool, stride)
    ### END SOLUTION


def maxpool_backward(dout, cache):
    """Exercise cnn.maxpool — the gradient goes only to the maximum of each window.

    dx[n, c, i·stride + p, j·stride + q] += dout[n, c, i, j] where that entry is the window's maximum
    (windows may overlap when stride < pool).  On a tie (several entries equal to the maximum) only the
    first of them in row-major order (smallest p, then smallest q) gets dout, as in torch; the others get 0.
    Returns dx with the shape of x.
    """
    ### BEGIN SOLUTION
    x, out, pool, stride = cache
    _, _, Ho, Wo = out.shape
    dx = np.zeros_like(x)
    taken = np.zeros(out.shape, dtype=bool)  # the first maximum of a window takes the gradient
    for p in range(pool):
        for q in range(pool):
            window = (slice(None), slice(None), slice(p, p + stride * Ho, stride), slice(q, q + stride * Wo, stride))
            hit = (x[window] == out) & ~taken
            dx[window] += dout * hit
            taken |= hit
    return dx
    ### END SOLUTION


def flatten_forward(x):
    """Exercise cnn.flatten — (N, C, H, W) → (N, C·H·W), row-major (C order), one row per example.

    Returns (out, cache).
    """
    ### BEGIN SOLUTION
    return x.reshape(x.shape[0], -1), x.shape
    ### END SOLUTION


def flatten_backward(dout, cache):
    """Exercise cnn.flatten — reshape the gradient back to the input's shape (N, C, H, W)."""
    ### BEGIN SOLUTION
    return dout.reshape(cache)
    ### END SOLUTION


# ----------------------------------------------------------------------------- the small CNN
# conv 3×3 (pad 1, stride 1, F filters) → ReLU → max-pool 2×2 (stride 2) → flatten → affine → softmax,
# on 1×8×8 images (the digits of sklearn.datasets.load_digits).  params: W1 (F, 1, 3, 3), b1 (F,),
# W2 (F·4·4, 10), b2 (10,).


def cnn_scores(params, X):
    """Class scores (N, 10) of the small CNN, and the caches of its layers (given, not an exercise)."""
    a, conv_cache = conv_forward(X, params["W1"], params["b1"], 1, 1)
    r, relu_cache = relu_forward(a)
    p, pool_cache = maxpool_forward(r, 2, 2)
    f, flat_cache = flatten_forward(p)
    scores = f @ params["W2"] + params["b2"]
    return scores, (conv_cache, relu_cache, pool_cache, flat_cache, f)


def cnn_predict(params, X):
    """Predicted classes (N,) of the small CNN (given, not an exercise)."""
    return np.argmax(cnn_scores(params, X)[0], axis=1)


def cnn_loss(params, X, y):
    """Exercise cnn.model — mean softmax cross-entropy of the small CNN and its gradients.

    loss = −(1/N) Σₙ log softmax(scores)[n, yₙ], with scores from cnn_scores(params, X);
    dscores = (softmax(scores) − onehot(y)) / N, then back through affine, flatten, pool, ReLU and conv.
    Returns (loss, grads) where grads has the keys and shapes of params.
    """
    ### BEGIN SOLUTION
    scores, (conv_cache, relu_cache, pool_cache, flat_cache, f) = cnn_scores(params, X)
    probs, _ = softmax_forward(scores)
    n = X.shape[0]
    loss = -np.mean(np.log(probs[np.arange(n), y]))
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1.0
    dscores /= n
    grads = {"W2": f.T @ dscores, "b2": dscores.sum(axis=0)}
    df = dscores @ params["W2"].T
    dp = flatten_backward(df, flat_cache)
    dr = maxpool_backward(dp, pool_cache)
    da = relu_backward(dr, relu_cache)
    _, grads["W1"], grads["b1"] = conv_backward(da, conv_cache)
    return float(loss), grads
    ### END SOLUTION


def train_cnn(X, y, epochs=8, lr=0.05, momentum=0.9, batch_size=32, filters=8, seed=0):
    """Exercise cnn.model — train the small CNN by minibatch gradient descent with momentum (optim.SGD).

    Initialise W1 ~ N(0, 2/9) (He), W2 ~ N(0, 1/(16·filters)), biases 0, with np.random.default_rng(seed);
    optimizer = SGD([W1, b1, W2, b2], lr, momentum) over the parameter arrays themselves (it updates them in
    place); each epoch, shuffle, then for each minibatch: loss, grads = cnn_loss(...); optimizer.step(...).
    Returns (params, losses) with one loss per minibatch step.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    params = {"W1": rng.standard_normal((filters, 1, 3, 3)) * np.sqrt(2.0 / 9),
              "b1": np.zeros(filters),
              "W2": rng.standard_normal((filters * 16, 10)) * np.sqrt(1.0 / (filters * 16)),
              "b2": np.zeros(10)}
    keys = ("W1", "b1", "W2", "b2")
    optimizer = SGD([params[k] for k in keys], lr, momentum=momentum)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(X.shape[0])
        for start in range(0, X.shape[0], batch_size):
            idx = order[start:start + batch_size]
            loss, grads = cnn_loss(params, X[idx], y[idx])
            optimizer.step([grads[k] for k in keys])
            losses.append(loss)
    return params, losses
    ### END SOLUTION
