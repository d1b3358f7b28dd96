"""Realistic wrong implementations of part 2 (losses)."""

from tests.corpus import Mutant

MUTANTS = [
    Mutant(
        "losses.mse",
        "sum instead of mean",
        """
        def mse_loss(pred, target):
            diff = pred - target
            return float(np.sum(diff ** 2)), 2.0 * diff
    """,
        catches="mse_loss matches the reference",
    ),
    Mutant(
        "losses.mse",
        "mean over the batch axis only",
        """
        def mse_loss(pred, target):
            diff = pred - target
            n = pred.shape[0]
            return float(np.sum(diff ** 2) / n), 2.0 * diff / n
    """,
        catches="mse_loss matches torch",
    ),
    Mutant(
        "losses.mse",
        "gradient without the factor 2",
        """
        def mse_loss(pred, target):
            diff = pred - target
            return float(np.mean(diff ** 2)), diff / diff.size
    """,
        catches="mse_loss gradient passes the gradient check",
    ),
    Mutant(
        "losses.mse",
        "sign slip in the gradient",
        """
        def mse_loss(pred, target):
            diff = pred - target
            return float(np.mean(diff ** 2)), 2.0 * (target - pred) / diff.size
    """,
        catches="mse_loss gradient matches torch autograd",
    ),
    Mutant(
        "losses.mse",
        "gradient not divided by the number of elements",
        """
        def mse_loss(pred, target):
            diff = pred - target
            return float(np.mean(diff ** 2)), 2.0 * diff
    """,
        catches="mse_loss gradient passes the gradient check",
    ),
    Mutant(
        "losses.softmax_cross_entropy",
        "softmax without max-subtraction",
        """
        def softmax_cross_entropy(logits, labels):
            n = logits.shape[0]
            e = np.exp(logits)
            p = e / e.sum(axis=1, keepdims=True)
            loss = float(-np.mean(np.log(p[np.arange(n), labels])))
            d = p.copy()
            d[np.arange(n), labels] -= 1
            return loss, d / n
    """,
        catches="softmax_cross_entropy is finite on extreme inputs",
    ),
    Mutant(
        "losses.softmax_cross_entropy",
        "log of a clipped probability",
        """
        def softmax_cross_entropy(logits, labels):
            n = logits.shape[0]
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            loss = float(-np.mean(np.log(np.clip(p[np.arange(n), labels], 1e-12, None))))
            d = p.copy()
            d[np.arange(n), labels] -= 1
            return loss, d / n
    """,
        catches="softmax_cross_entropy is finite on extreme inputs",
    ),
    Mutant(
        "losses.softmax_cross_entropy",
        "gradient not divided by the batch",
        """
        def softmax_cross_entropy(logits, labels):
            n = logits.shape[0]
            s = logits - logits.max(axis=1, keepdims=True)
            logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
            d = np.exp(logp)
            d[np.arange(n), labels] -= 1
            return float(-np.mean(logp[np.arange(n), labels])), d
    """,
        catches="softmax_cross_entropy gradient passes the gradient check",
    ),
    Mutant(
        "losses.softmax_cross_entropy",
        "loss summed over the batch",
        """
        def softmax_cross_entropy(logits, labels):
            n = logits.shape[0]
            s = logits - logits.max(axis=1, keepdims=True)
            logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
            d = np.exp(logp)
            d[np.arange(n), labels] -= 1
            return float(-np.sum(logp[np.arange(n), labels])), d / n
    """,
        catches="softmax_cross_entropy matches torch",
    ),
    Mutant(
        "losses.softmax_cross_entropy",
        "gradient forgets the one-hot",
        """
        def softmax_cross_entropy(logits, labels):
            n = logits.shape[0]
            s = logits - logits.max(axis=1, keepdims=True)
            logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
            return float(-np.mean(logp[np.arange(n), labels])), np.exp(logp) / n
    """,
        catches="softmax_cross_entropy gradient matches torch autograd",
    ),
    Mutant(
        "losses.bce_with_logits",
        "-log(sigmoid) computed naively",
        """
        def bce_with_logits(logits, targets):
            s = 1.0 / (1.0 + np.exp(-logits))
            loss = float(np.mean(-targets * np.log(s) - (1 - targets) * np.log(1 - s)))
            return loss, (s - targets) / logits.size
    """,
        catches="bce_with_logits is finite on extreme inputs",
    ),
    Mutant(
        "losses.bce_with_logits",
        "sign slip in the gradient",
        """
        def bce_with_logits(logits, targets):
            e = np.exp(-np.abs(logits))
            loss = float(np.mean(np.maximum(logits, 0) - logits * targets + np.log1p(e)))
            s = np.where(logits >= 0, 1 / (1 + e), e / (1 + e))
            return loss, (targets - s) / logits.size
    """,
        catches="bce_with_logits gradient passes the gradient check",
    ),
    Mutant(
        "losses.bce_with_logits",
        "gradient not divided by the number of elements",
        """
        def bce_with_logits(logits, targets):
            e = np.exp(-np.abs(logits))
            loss = float(np.mean(np.maximum(logits, 0) - logits * targets + np.log1p(e)))
            s = np.where(logits >= 0, 1 / (1 + e), e / (1 + e))
            return loss, s - targets
    """,
        catches="bce_with_logits gradient matches torch autograd",
    ),
    Mutant(
        "losses.bce_with_logits",
        "mean over the batch axis only",
        """
        def bce_with_logits(logits, targets):
            e = np.exp(-np.abs(logits))
            n = logits.shape[0]
            loss = float(np.sum(np.maximum(logits, 0) - logits * targets + np.log1p(e)) / n)
            s = np.where(logits >= 0, 1 / (1 + e), e / (1 + e))
            return loss, (s - targets) / n
    """,
        catches="bce_with_logits matches the reference",
    ),
    Mutant(
        "losses.bce_with_logits",
        "gradient overflows (1/(1+exp(-z)))",
        """
        def bce_with_logits(logits, targets):
            e = np.exp(-np.abs(logits))
            loss = float(np.mean(np.maximum(logits, 0) - logits * targets + np.log1p(e)))
            s = 1.0 / (1.0 + np.exp(-logits))
            s = np.where(np.isfinite(np.exp(-logits)), s, np.nan)
            return loss, (s - targets) / logits.size
    """,
        catches="bce_with_logits gradient is finite and correct on extreme inputs",
    ),
]
