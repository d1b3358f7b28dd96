"""Realistic wrong implementations of the training part."""

from tests.corpus import Mutant, fill

_FIT = """
        def fit(X, y, classes, hidden=32, epochs=10, lr=0.1, momentum=0.9, batch_size=32, seed=0):
            rng = np.random.default_rng(seed)
            D = X.shape[1]
            params = {"W1": rng.standard_normal((D, hidden)) * np.sqrt(2.0 / D), "b1": np.zeros(hidden),
                      "W2": rng.standard_normal((hidden, classes)) * np.sqrt(2.0 / hidden), "b2": np.zeros(classes)}
            <opt>
            losses = []
            for epoch in range(<epochs>):
                for idx in minibatches(len(y), batch_size, seed + epoch):
                    <inner>
                    loss, grads = two_layer_loss(params, <rows>)
                    optimizer.step(<grads>)
                    losses.append(float(loss))
            return params, losses
"""
_FIT_OK = dict(
    opt="optimizer = SGD([params[k] for k in _MLP_KEYS], lr, momentum=momentum)",
    epochs="epochs",
    inner="pass",
    rows="X[idx], y[idx]",
    grads="[grads[k] for k in _MLP_KEYS]",
)
_PROCESS = "one loss per minibatch step, stepping one optimizer"


def _fit(**change: str) -> str:
    """The reference's training loop with the pieces in ``change`` swapped."""
    return fill(_FIT, _FIT_OK, change)


MUTANTS = [
    Mutant(
        "train.scale",
        "the test set is scaled with its own statistics",
        """
        def standardize(X_train, X_test):
            def scale(X):
                return (X - X.mean(axis=0)) / np.where(np.ptp(X, axis=0) > 0, X.std(axis=0), 1.0)
            return scale(X_train), scale(X_test)
    """,
        catches="the test set is scaled with the training statistics",
    ),
    Mutant(
        "train.scale",
        "constant features divided by zero",
        """
        def standardize(X_train, X_test):
            mu, sigma = X_train.mean(axis=0), X_train.std(axis=0)
            return (X_train - mu) / sigma, (X_test - mu) / sigma
    """,
        catches="standardize matches the reference",
    ),
    Mutant(
        "train.scale",
        "constant features found by sigma == 0 (a column of 0.1 has sigma 1e-17)",
        """
        def standardize(X_train, X_test):
            mu, sigma = X_train.mean(axis=0), X_train.std(axis=0)
            sigma[sigma == 0] = 1.0
            return (X_train - mu) / sigma, (X_test - mu) / sigma
    """,
        catches="standardize matches the reference",
    ),
    Mutant(
        "train.scale",
        "np.where(sigma == 0, 1, sigma) (found by the invariant check)",
        """
        def standardize(X_train, X_test):
            mu, sigma = X_train.mean(axis=0), X_train.std(axis=0)
            sigma = np.where(sigma == 0, 1.0, sigma)
            return (X_train - mu) / sigma, (X_test - mu) / sigma
    """,
        catches="mean 0 and std 1",
    ),
    Mutant(
        "train.scale",
        "statistics over the rows (axis 1)",
        """
        def standardize(X_train, X_test):
            mu = X_train.mean(axis=1, keepdims=True)
            sigma = X_train.std(axis=1, keepdims=True)
            sigma = np.where(sigma > 0, sigma, 1.0)
            return (X_train - mu) / sigma, (X_test - mu.mean()) / sigma.mean()
    """,
        catches="mean 0 and std 1",
    ),
    Mutant(
        "train.scale",
        "divides by the variance",
        """
        def standardize(X_train, X_test):
            mu = X_train.mean(axis=0)
            var = np.where(np.ptp(X_train, axis=0) > 0, X_train.var(axis=0), 1.0)
            return (X_train - mu) / var, (X_test - mu) / var
    """,
        catches="mean 0 and std 1",
    ),
    Mutant(
        "train.scale",
        "scales the caller's array in place",
        """
        def standardize(X_train, X_test):
            mu = X_train.mean(axis=0)
            sigma = np.where(np.ptp(X_train, axis=0) > 0, X_train.std(axis=0), 1.0)
            X_test = (X_test - mu) / sigma
            X_train -= mu
            X_train /= sigma
            return X_train, X_test
    """,
        catches="leaves its inputs unchanged",
    ),
    Mutant(
        "train.split",
        "a plain random split, not stratified",
        """
        def stratified_split(y, test_fraction, seed):
            order = np.random.default_rng(seed).permutation(len(y))
            k = int(round(test_fraction * len(y)))
            return np.sort(order[k:]), np.sort(order[:k])
    """,
        catches="keeps its proportion",
    ),
    Mutant(
        "train.split",
        "test examples drawn with replacement",
        """
        def stratified_split(y, test_fraction, seed):
            rng = np.random.default_rng(seed)
            test = []
            for c in np.unique(y):
                members = np.flatnonzero(y == c)
                test.append(rng.choice(members, int(round(test_fraction * len(members))), replace=True))
            test_idx = np.sort(np.concatenate(test))
            return np.setdiff1d(np.arange(len(y)), test_idx), test_idx
    """,
        catches="every index exactly once",
    ),
    Mutant(
        "train.split",
        "no shuffle: the first examples of each class are the test set",
        """
        def stratified_split(y, test_fraction, seed):
            test = []
            for c in np.unique(y):
                members = np.flatnonzero(y == c)
                test.append(members[:int(round(test_fraction * len(members)))])
            test_idx = np.sort(np.concatenate(test))
            return np.setdiff1d(np.arange(len(y)), test_idx), test_idx
    """,
        catches="random and reproducible",
    ),
    Mutant(
        "train.one_hot",
        "width taken from the labels present",
        """
        def one_hot(y, num_classes):
            out = np.zeros((len(y), int(y.max()) + 1))
            out[np.arange(len(y)), y] = 1.0
            return out
    """,
        catches="one_hot matches torch",
    ),
    Mutant(
        "train.one_hot",
        "transposed (classes × examples)",
        """
        def one_hot(y, num_classes):
            out = np.zeros((num_classes, len(y)))
            out[y, np.arange(len(y))] = 1.0
            return out
    """,
        catches="one_hot matches the reference",
    ),
    Mutant(
        "train.one_hot",
        "integer matrix",
        """
        def one_hot(y, num_classes):
            return np.eye(num_classes, dtype=np.int64)[y]
    """,
        catches="one_hot matches the reference",
    ),
    Mutant(
        "train.batches",
        "the last partial batch is dropped",
        """
        def minibatches(n, batch_size, seed):
            order = np.random.default_rng(seed).permutation(n)
            return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
    """,
        catches="visits every index once",
    ),
    Mutant(
        "train.batches",
        "not shuffled",
        """
        def minibatches(n, batch_size, seed):
            order = np.arange(n)
            return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    """,
        catches="shuffled and reproducible",
    ),
    Mutant(
        "train.batches",
        "indices sampled with replacement",
        """
        def minibatches(n, batch_size, seed):
            order = np.random.default_rng(seed).integers(0, n, n)
            return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    """,
        catches="visits every index once",
    ),
    Mutant(
        "train.loop",
        "the optimizer updates copies of the parameters",
        """
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
    """,
        catches="held-out digits",
    ),
    Mutant(
        "train.loop",
        "one loss per epoch",
        """
        def fit(X, y, classes, hidden=32, epochs=10, lr=0.1, momentum=0.9, batch_size=32, seed=0):
            rng = np.random.default_rng(seed)
            D = X.shape[1]
            params = {"W1": rng.standard_normal((D, hidden)) * np.sqrt(2.0 / D), "b1": np.zeros(hidden),
                      "W2": rng.standard_normal((hidden, classes)) * np.sqrt(2.0 / hidden), "b2": np.zeros(classes)}
            optimizer = SGD([params[k] for k in _MLP_KEYS], lr, momentum=momentum)
            losses = []
            for epoch in range(epochs):
                epoch_losses = []
                for idx in minibatches(len(y), batch_size, seed + epoch):
                    loss, grads = two_layer_loss(params, X[idx], y[idx])
                    optimizer.step([grads[k] for k in _MLP_KEYS])
                    epoch_losses.append(float(loss))
                losses.append(np.mean(epoch_losses))
            return params, losses
    """,
        catches="one loss per minibatch step, stepping one optimizer",
    ),
    Mutant(
        "train.loop",
        "the gradient is added (ascent)",
        """
        def fit(X, y, classes, hidden=32, epochs=10, lr=0.1, momentum=0.9, batch_size=32, seed=0):
            rng = np.random.default_rng(seed)
            D = X.shape[1]
            params = {"W1": rng.standard_normal((D, hidden)) * np.sqrt(2.0 / D), "b1": np.zeros(hidden),
                      "W2": rng.standard_normal((hidden, classes)) * np.sqrt(2.0 / hidden), "b2": np.zeros(classes)}
            optimizer = SGD([params[k] for k in _MLP_KEYS], lr, momentum=momentum)
            losses = []
            for epoch in range(epochs):
                for idx in minibatches(len(y), batch_size, seed + epoch):
                    loss, grads = two_layer_loss(params, X[idx], y[idx])
                    optimizer.step([-grads[k] for k in _MLP_KEYS])
                    losses.append(float(loss))
            return params, losses
    """,
        catches="held-out digits",
    ),
    Mutant(
        "train.evaluate",
        "argmax over the batch axis",
        """
        def accuracy(scores, y):
            return float(np.mean(np.argmax(scores, axis=0)[:len(y)] == y[:scores.shape[1]]))
    """,
        catches="accuracy matches torch",
    ),
    Mutant(
        "train.evaluate",
        "a count instead of a fraction",
        """
        def accuracy(scores, y):
            return float(np.sum(np.argmax(scores, axis=1) == y))
    """,
        catches="accuracy matches the reference",
    ),
    Mutant(
        "train.evaluate",
        "argmin instead of argmax",
        """
        def accuracy(scores, y):
            return float(np.mean(np.argmin(scores, axis=1) == y))
    """,
        catches="accuracy matches the reference",
    ),
    Mutant(
        "train.idx",
        "gzip files are not decompressed",
        """
        def load_idx(path):
            with open(path, "rb") as fh:
                raw = fh.read()
            ndim = raw[3]
            shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
            dtype = np.dtype(_IDX_TYPES[raw[2]])
            return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=4 + 4 * ndim).reshape(shape)
    """,
        catches="gzip-compressed",
    ),
    Mutant(
        "train.idx",
        "always read as uint8 (MNIST's type)",
        """
        def load_idx(path):
            with open(path, "rb") as fh:
                raw = fh.read()
            if raw[:2] == b"\\x1f\\x8b":
                raw = gzip.decompress(raw)
            ndim = raw[3]
            shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
            return np.frombuffer(raw, dtype=np.uint8, count=int(np.prod(shape)), offset=4 + 4 * ndim).reshape(shape)
    """,
        catches="every type and rank",
    ),
    Mutant(
        "train.idx",
        "data read little-endian",
        """
        def load_idx(path):
            with open(path, "rb") as fh:
                raw = fh.read()
            if raw[:2] == b"\\x1f\\x8b":
                raw = gzip.decompress(raw)
            ndim = raw[3]
            shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
            dtype = np.dtype(_IDX_TYPES[raw[2]]).newbyteorder("<")
            return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=4 + 4 * ndim).reshape(shape)
    """,
        catches="every type and rank",
    ),
    Mutant(
        "train.idx",
        "a fixed 16-byte header (only right for 3-D image files)",
        """
        def load_idx(path):
            with open(path, "rb") as fh:
                raw = fh.read()
            if raw[:2] == b"\\x1f\\x8b":
                raw = gzip.decompress(raw)
            ndim = raw[3]
            shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
            dtype = np.dtype(_IDX_TYPES[raw[2]])
            return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=16).reshape(shape)
    """,
        catches="every type and rank",
    ),
    Mutant(
        "train.idx",
        "gzip detected by the .gz name (gzip content named without .gz)",
        """
        def load_idx(path):
            opener = gzip.open if str(path).endswith(".gz") else open
            with opener(path, "rb") as fh:
                raw = fh.read()
            ndim = raw[3]
            shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
            dtype = np.dtype(_IDX_TYPES[raw[2]])
            return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=4 + 4 * ndim).reshape(shape)
    """,
        catches="gzip named without .gz",
    ),
    Mutant(
        "train.idx",
        "gzip detected by the .gz name (plain file named .gz)",
        """
        def load_idx(path):
            with open(path, "rb") as fh:
                raw = fh.read()
            if path.endswith(".gz"):
                raw = gzip.decompress(raw)
            ndim = raw[3]
            shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
            dtype = np.dtype(_IDX_TYPES[raw[2]])
            return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=4 + 4 * ndim).reshape(shape)
    """,
        catches="plain file named .gz",
    ),
    Mutant(
        "train.loop",
        "the optimizer is re-created every step (momentum lost)",
        _fit(opt="pass", inner="optimizer = SGD([params[k] for k in _MLP_KEYS], lr, momentum=momentum)"),
        catches=_PROCESS,
    ),
    Mutant(
        "train.loop",
        "the biases are never handed to the optimizer",
        _fit(
            opt='optimizer = SGD([params["W1"], params["W2"]], lr, momentum=momentum)',
            grads='[grads["W1"], grads["W2"]]',
        ),
        catches=_PROCESS,
    ),
    Mutant("train.loop", "every step on the whole training set", _fit(rows="X, y"), catches=_PROCESS),
    Mutant("train.loop", "epochs ignored (one pass over the data)", _fit(epochs="1"), catches=_PROCESS),
    Mutant(
        "train.loop",
        "momentum not passed to the optimizer",
        _fit(opt="optimizer = SGD([params[k] for k in _MLP_KEYS], lr)"),
        catches=_PROCESS,
    ),
]
