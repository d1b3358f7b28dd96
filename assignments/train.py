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
    """Exercise train.scale — scale every feature with the *training* statistics.

    μ = mean of X_train over the examples (axis 0), σ = its standard deviation, with σ = 1 for a constant
    feature.  Do not test σ == 0: the computed σ of a constant column of 0.1 is about 1e-17, not 0.  Test
    max = min (np.ptp(X_train, axis=0) == 0) instead, or treat σ below a small tolerance (say 1e-8) as 0.
    Returns ((X_train − μ) / σ, (X_test − μ) / σ).  The test set never influences μ or σ.
    """
    # YOUR CODE HERE (train.scale)
    raise NotImplementedError("train.scale: write standardize")


def stratified_split(y, test_fraction, seed):
    """Exercise train.split — indices of a train/test split that keeps the class proportions.

    For every class c with n_c examples, round(test_fraction · n_c) of them, chosen at random with
    np.random.default_rng(seed), go to the test set and the rest to the training set.
    Returns (train_idx, test_idx): sorted int arrays that together hold every index exactly once.
    """
    # YOUR CODE HERE (train.split)
    raise NotImplementedError("train.split: write stratified_split")


def one_hot(y, num_classes):
    """Exercise train.one_hot — labels (N,) → float matrix (N, num_classes) with a 1 at [n, y[n]]."""
    # YOUR CODE HERE (train.one_hot)
    raise NotImplementedError("train.one_hot: write one_hot")


def minibatches(n, batch_size, seed):
    """Exercise train.batches — shuffled minibatches of the indices 0 … n−1.

    Shuffle with np.random.default_rng(seed).permutation(n), then cut into consecutive batches of batch_size;
    the last batch holds what is left (it may be smaller).  Returns a list of int arrays.
    """
    # YOUR CODE HERE (train.batches)
    raise NotImplementedError("train.batches: write minibatches")


_MLP_KEYS = ("W1", "b1", "W2", "b2")


def fit(X, y, classes, hidden=32, epochs=10, lr=0.1, momentum=0.9, batch_size=32, seed=0):
    """Exercise train.loop — the training loop of a two-layer network (steps 2–5).

    Initialise W1 ~ N(0, 2/D), W2 ~ N(0, 2/hidden), biases 0 (np.random.default_rng(seed)); build
    optim.SGD over the list [W1, b1, W2, b2] (it updates those arrays in place); for each epoch e and each
    index batch from minibatches(N, batch_size, seed + e), get the loss and gradients of two_layer_loss on
    those rows of X and y, then step the optimizer with the gradients in the order W1, b1, W2, b2.
    Returns (params, losses), one loss per step.
    """
    # YOUR CODE HERE (train.loop)
    raise NotImplementedError("train.loop: write fit")


def mlp_predict(params, X):
    """Predicted classes of the two-layer network (given, not an exercise): argmax of ReLU(X·W1 + b1)·W2 + b2."""
    return np.argmax(np.maximum(X @ params["W1"] + params["b1"], 0.0) @ params["W2"] + params["b2"], axis=1)


def accuracy(scores, y):
    """Exercise train.evaluate — the fraction of examples whose highest score is the true class.

    scores: (N, C), y: (N,) integer labels.  Returns a float in [0, 1]: mean(argmax(scores, axis=1) == y).
    """
    # YOUR CODE HERE (train.evaluate)
    raise NotImplementedError("train.evaluate: write accuracy")


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_idx(path):
    """Exercise train.idx — read an IDX file (the format of MNIST), gzip-compressed or not.

    Layout: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
    0x0E float64), a byte with the number of dimensions d, then d big-endian uint32 sizes, then the data
    in big-endian, row-major.  A gzip file starts with the bytes 1f 8b: decide by those bytes, not by the
    file name (a file named .gz may hold plain IDX, and a compressed one may lack .gz).  Returns the array.
    """
    # YOUR CODE HERE (train.idx)
    raise NotImplementedError("train.idx: write load_idx")
