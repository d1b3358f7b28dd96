"""Correct implementations of part 2 that differ from the reference: they must get full marks."""

from tests.corpus import Alternative

ALTERNATIVES = [
    Alternative(
        "losses.mse",
        "np.square and np.average",
        """
        def mse_loss(pred, target):
            d = np.subtract(pred, target)
            return np.average(np.square(d)), d * (2.0 / np.prod(d.shape))
    """,
    ),
    Alternative(
        "losses.softmax_cross_entropy",
        "softmax then log, stable form, one-hot matrix",
        """
        def softmax_cross_entropy(logits, labels):
            n, c = logits.shape
            z = logits - logits.max(axis=1, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
            onehot = np.eye(c)[labels]
            log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            return -(onehot * log_p).sum() / n, (p - onehot) / n
    """,
    ),
    Alternative(
        "losses.softmax_cross_entropy",
        "loop over the batch with logaddexp",
        """
        def softmax_cross_entropy(logits, labels):
            n = logits.shape[0]
            loss = 0.0
            grad = np.zeros_like(logits)
            for i in range(n):
                lse = np.logaddexp.reduce(logits[i])
                loss += lse - logits[i, labels[i]]
                grad[i] = np.exp(logits[i] - lse)
                grad[i, labels[i]] -= 1.0
            return loss / n, grad / n
    """,
    ),
    Alternative(
        "losses.bce_with_logits",
        "logaddexp and a tanh sigmoid",
        """
        def bce_with_logits(logits, targets):
            loss = targets * np.logaddexp(0.0, -logits) + (1 - targets) * np.logaddexp(0.0, logits)
            sig = 0.5 * (1.0 + np.tanh(0.5 * logits))
            return np.mean(loss), (sig - targets) / logits.size
    """,
    ),
]
