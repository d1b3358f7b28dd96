"""The digits of scikit-learn (bundled, offline), upsampled from 8×8 to 28×28 so the seed's 784 inputs hold."""
from __future__ import annotations

from functools import lru_cache

import numpy as np


def upsample_28(images: np.ndarray) -> np.ndarray:
    """(N, 8, 8) pixels in 0..16 → (N, 784) float32 in [0, 1]: each pixel repeated 3×3, a 2-pixel border."""
    big = np.kron(images.astype(np.float32) / 16.0, np.ones((3, 3), dtype=np.float32))
    return np.pad(big, ((0, 0), (2, 2), (2, 2))).reshape(len(images), 784)


@lru_cache(maxsize=None)
def digits_784(test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test): a fixed shuffled split; the worker only ever gets the training part."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    X, y = upsample_28(digits.images[order]), digits.target[order].astype(np.int64)
    cut = int(round(len(y) * (1 - test_fraction)))
    return X[:cut], y[:cut], X[cut:], y[cut:]
