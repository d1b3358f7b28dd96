"""Correct implementations of the training part that differ from the reference: they must get full marks."""

from tests.corpus import Alternative

ALTERNATIVES = [
    Alternative(
        "train.scale",
        "explicit formulas, sample statistics kept out",
        """
        def standardize(X_train, X_test):
            n = X_train.shape[0]
            mu = X_train.sum(axis=0) / n
            sigma = np.sqrt(((X_train - mu) ** 2).sum(axis=0) / n)
            sigma[X_train.max(axis=0) == X_train.min(axis=0)] = 1.0
            return (X_train - mu) / sigma, (X_test - mu) / sigma
    """,
    ),
    Alternative(
        "train.scale",
        "sigma below a tolerance treated as 0",
        """
        def standardize(X_train, X_test):
            mu, sigma = X_train.mean(axis=0), X_train.std(axis=0)
            sigma = np.where(sigma < 1e-8, 1.0, sigma)
            return (X_train - mu) / sigma, (X_test - mu) / sigma
    """,
    ),
    Alternative(
        "train.split",
        "boolean mask, other shuffle and floor-or-ceil counts",
        """
        def stratified_split(y, test_fraction, seed):
            rng = np.random.default_rng(seed)
            is_test = np.zeros(len(y), dtype=bool)
            for c in np.unique(y):
                members = np.flatnonzero(y == c)
                rng.shuffle(members)
                is_test[members[:int(np.ceil(test_fraction * len(members) - 0.5))]] = True
            return np.flatnonzero(~is_test), np.flatnonzero(is_test)
    """,
    ),
    Alternative(
        "train.one_hot",
        "rows of the identity matrix",
        """
        def one_hot(y, num_classes):
            return np.eye(num_classes)[np.asarray(y)]
    """,
    ),
    Alternative(
        "train.batches",
        "np.array_split-free loop with shuffle in place",
        """
        def minibatches(n, batch_size, seed):
            order = np.arange(n)
            np.random.default_rng(seed).shuffle(order)
            batches, start = [], 0
            while start < n:
                batches.append(order[start:start + batch_size])
                start += batch_size
            return batches
    """,
    ),
    Alternative(
        "train.loop",
        "Xavier initialisation and a dict view of the parameters",
        """
        def fit(X, y, classes, hidden=32, epochs=10, lr=0.1, momentum=0.9, batch_size=32, seed=0):
            rng = np.random.default_rng(seed + 3)
            D = X.shape[1]
            limit1, limit2 = np.sqrt(6.0 / (D + hidden)), np.sqrt(6.0 / (hidden + classes))
            params = {"W1": rng.uniform(-limit1, limit1, (D, hidden)), "b1": np.zeros(hidden),
                      "W2": rng.uniform(-limit2, limit2, (hidden, classes)), "b2": np.zeros(classes)}
            keys = list(params)
            optimizer = SGD(list(params.values()), lr, momentum)
            losses = []
            for epoch in range(epochs):
                for idx in minibatches(X.shape[0], batch_size, 1000 * seed + epoch):
                    loss, grads = two_layer_loss(params, X[idx], y[idx])
                    optimizer.step([grads[k] for k in keys])
                    losses.append(loss)
            return params, losses
    """,
    ),
    Alternative(
        "train.evaluate",
        "counts correct rows in a loop",
        """
        def accuracy(scores, y):
            correct = sum(int(np.argmax(row) == label) for row, label in zip(scores, y))
            return correct / len(y)
    """,
    ),
    Alternative(
        "train.idx",
        "struct for the header, magic-byte sniffing via gzip.open",
        """
        import struct
        def load_idx(path):
            with open(path, "rb") as fh:
                magic = fh.read(2)
            opener = gzip.open if magic == b"\\x1f\\x8b" else open
            with opener(path, "rb") as fh:
                zero, code, ndim = struct.unpack(">HBB", fh.read(4))
                shape = struct.unpack(">" + "I" * ndim, fh.read(4 * ndim))
                kinds = {8: "B", 9: "b", 11: "h", 12: "i", 13: "f", 14: "d"}
                data = np.frombuffer(fh.read(), dtype=np.dtype(kinds[code]).newbyteorder(">"))
            return data.reshape(shape)
    """,
    ),
    Alternative(
        "train.idx",
        "gzip.open tried first, plain read when it is not gzip",
        """
        def load_idx(path):
            try:
                with gzip.open(path, "rb") as fh:
                    raw = fh.read()
            except gzip.BadGzipFile:
                with open(path, "rb") as fh:
                    raw = fh.read()
            ndim = raw[3]
            shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
            dtype = np.dtype(_IDX_TYPES[raw[2]])
            return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=4 + 4 * ndim).reshape(shape)
    """,
    ),
]
