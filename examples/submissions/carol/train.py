"""Part — the six steps of training (seed 2.3), in numpy.

1. prepare the data: scale the features, split train/test by class, one-hot labels, shuffled minibatches;
2. the model (backprop.two_layer_loss);  3. the loss (inside it);  4. the optimizer (optim.SGD);
5. the training loop;  6. evaluation (accuracy).
Also a reader for the IDX files of the real MNIST (train-images-idx3-ubyte[.gz] …).

Never change the inputs in place.
"""
import gzip

import numpy as np

from backprop import two_layer_loss
from optim import SGD


def standardize(X_train, X_test):
    def scale(X):
        return (X - X.mean(axis=0)) / np.where(np.ptp(X, axis=0) > 0, X.std(axis=0), 1.0)
    return scale(X_train), scale(X_test)


def stratified_split(y, test_fraction, seed):
    """Exercise train.split — indices of a train/test split that keeps the class proportions.

    For every class c with n_c examples, round(test_fraction · n_c) of them, chosen at random with
    np.random.default_rng(seed), go to the test set and the rest to the training set.
    Returns (train_idx, test_idx): sorted int arrays that together hold every index exactly once.
    """
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        test.append(members[:int(round(test_fraction * len(members)))])
    test_idx = np.sort(np.concatenate(test)).astype(np.int64)
    train_idx = np.setdiff1d(np.arange(len(y)), test_idx).astype(np.int64)
    return train_idx, test_idx


def one_hot(y, num_classes):
    out = np.zeros((len(y), int(y.max()) + 1))
    out[np.arange(len(y)), y] = 1.0
    return out


def minibatches(n, batch_size, seed):
    """Exercise train.batches — shuffled minibatches of the indices 0 … n−1.

    Shuffle with np.random.default_rng(seed).permutation(n), then cut into consecutive batches of batch_size;
    the last batch holds what is left (it may be smaller).  Returns a list of int arrays.
    """
    order = np.random.default_rng(seed).permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


_MLP_KEYS = ("W1", "b1", "W2", "b2")


def fit(X, y, classes, hidden=32, epochs=10, lr=0.1, momentum=0.9, batch_size=32, seed=0):
    rng = np.random.default_rng(seed)
    D = X.shape[1]
    params = {"W1": rng.standard_normal((D, hidden)) * np.sqrt(2.0 / D), "b1": np.zeros(hidden),
              "W2": rng.standard_normal((hidden, classes)) * np.sqrt(2.0 / hidden), "b2": np.zeros(classes)}
    optimizer = SGD([params[k].copy() for k in _MLP_KEYS], lr, momentum=momentum)
    losses = []
    for epoch in range(epochs):
        for idx in minibatches(len(y), batch_size, seed + epoch):
            loss, grads = two_layer_loss(params, X[idx], y[idx])
            optimizer.step([grads[k] for k in _MLP_KEYS])
            losses.append(float(loss))
    return params, losses


def mlp_predict(params, X):
    """Predicted classes of the two-layer network (given, not an exercise): argmax of ReLU(X·W1 + b1)·W2 + b2."""
    return np.argmax(np.maximum(X @ params["W1"] + params["b1"], 0.0) @ params["W2"] + params["b2"], axis=1)


def accuracy(scores, y):
    """Exercise train.evaluate — the fraction of examples whose highest score is the true class.

    scores: (N, C), y: (N,) integer labels.  Returns a float in [0, 1]: mean(argmax(scores, axis=1) == y).
    """
    return float(np.mean(np.argmax(scores, axis=1) == y))


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_idx(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=4 + 4 * ndim).reshape(shape)
