"""Part 2 — loss functions (seed 4.2): mean squared error for regression, cross-entropy for classification.

Each loss returns ``(loss, grad)``: the scalar loss and its gradient with respect to the first argument
(the predictions or logits), so that a network's backward pass can start from ``grad``.  Inputs are
float64 arrays (labels are int64); never change them in place.  Logits as large as ±1000 must give a
finite loss and gradient.
"""
import numpy as np


def mse_loss(pred, target):
    """Exercise losses.mse — L = (1/n) Σᵢ (predᵢ − targetᵢ)², the mean over all n elements.

    pred, target: arrays of the same shape.  Returns (loss, dpred) with dpred = 2 (pred − target) / n.
    """
    ### BEGIN SOLUTION
    diff = pred - target
    loss = float(np.mean(diff * diff))
    return loss, 2.0 * diff / diff.size
    ### END SOLUTION


def softmax_cross_entropy(logits, labels):
    """Exercise losses.softmax_cross_entropy — L = −(1/N) Σₙ log softmax(logitsₙ)[labelsₙ].

    logits: (N, C) scores, labels: (N,) integers in [0, C).  Use log-sum-exp with the row maximum
    subtracted: log softmax(z)ⱼ = zⱼ − m − log Σₖ e^(zₖ − m), m = maxₖ zₖ.
    Returns (loss, dlogits) with dlogits = (softmax(logits) − onehot(labels)) / N.
    """
    ### BEGIN SOLUTION
    n = logits.shape[0]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = float(-np.mean(log_probs[np.arange(n), labels]))
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), labels] -= 1.0
    return loss, dlogits / n
    ### END SOLUTION


def bce_with_logits(logits, targets):
    """Exercise losses.bce_with_logits — binary cross-entropy on logits z with targets t in [0, 1]:

    L = −(1/n) Σᵢ [tᵢ log σ(zᵢ) + (1 − tᵢ) log(1 − σ(zᵢ))], the mean over all n elements, computed stably as
    max(z, 0) − z·t + log(1 + e^(−|z|)).  Returns (loss, dlogits) with dlogits = (σ(z) − t) / n.
    """
    ### BEGIN SOLUTION
    e = np.exp(-np.abs(logits))  # in (0, 1]: never overflows
    loss = float(np.mean(np.maximum(logits, 0.0) - logits * targets + np.log1p(e)))
    sig = np.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return loss, (sig - targets) / logits.size
    ### END SOLUTION
