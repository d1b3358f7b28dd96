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
    # YOUR CODE HERE (cnn.conv)
    raise NotImplementedError("cnn.conv: write conv_forward")


def conv_backward(dout, cache):
    """Exercise cnn.conv — gradients of the convolution.

    dout: (N, F, H', W').  Returns (dx, dw, db) with the shapes of x, w and b:
    db[f] = Σ_{n,i,j} dout[n, f, i, j];  dw[f, c, p, q] = Σ_{n,i,j} dout[n, f, i, j] · x_pad[n, c, i·s + p, j·s + q];
    dx_pad[n, c, i·s + p, j·s + q] += Σ_f dout[n, f, i, j] · w[f, c, p, q], then dx = dx_pad without the padding.
    """
    # YOUR CODE HERE (cnn.conv)
    raise NotImplementedError("cnn.conv: write conv_backward")


def maxpool_forward(x, pool=2, stride=2):
    """Exercise cnn.maxpool — max pooling over pool×pool windows moved by `stride`.

    x: (N, C, H, W).  out[n, c, i, j] = max_{0≤p,q<pool} x[n, c, i·stride + p, j·stride + q],
    with H' = 1 + (H − pool) // stride and W' = 1 + (W − pool) // stride.  Returns (out, cache).
    """
    # YOUR CODE HERE (cnn.maxpool)
    raise NotImplementedError("cnn.maxpool: write maxpool_forward")


def maxpool_backward(dout, cache):
    """Exercise cnn.maxpool — the gradient goes only to the maximum of each window.

    dx[n, c, i·stride + p, j·stride + q] += dout[n, c, i, j] where that entry is the window's maximum
    (windows may overlap when stride < pool).  On a tie (several entries equal to the maximum) only the
    first of them in row-major order (smallest p, then smallest q) gets dout, as in torch; the others get 0.
    Returns dx with the shape of x.
    """
    # YOUR CODE HERE (cnn.maxpool)
    raise NotImplementedError("cnn.maxpool: write maxpool_backward")


def flatten_forward(x):
    """Exercise cnn.flatten — (N, C, H, W) → (N, C·H·W), row-major (C order), one row per example.

    Returns (out, cache).
    """
    # YOUR CODE HERE (cnn.flatten)
    raise NotImplementedError("cnn.flatten: write flatten_forward")


def flatten_backward(dout, cache):
    """Exercise cnn.flatten — reshape the gradient back to the input's shape (N, C, H, W)."""
    # YOUR CODE HERE (cnn.flatten)
    raise NotImplementedError("cnn.flatten: write flatten_backward")


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
    # YOUR CODE HERE (cnn.model)
    raise NotImplementedError("cnn.model: write cnn_loss")


def train_cnn(X, y, epochs=8, lr=0.05, momentum=0.9, batch_size=32, filters=8, seed=0):
    """Exercise cnn.model — train the small CNN by minibatch gradient descent with momentum (optim.SGD).

    Initialise W1 ~ N(0, 2/9) (He), W2 ~ N(0, 1/(16·filters)), biases 0, with np.random.default_rng(seed);
    optimizer = SGD([W1, b1, W2, b2], lr, momentum) over the parameter arrays themselves (it updates them in
    place); each epoch, shuffle, then for each minibatch: loss, grads = cnn_loss(...); optimizer.step(...).
    Returns (params, losses) with one loss per minibatch step.
    """
    # YOUR CODE HERE (cnn.model)
    raise NotImplementedError("cnn.model: write train_cnn")
