"""The 8×8 handwritten digits shipped with the grader (``grader/data/digits.npz``, offline), and the same
upsampled to 28×28 so the seed's 784 inputs hold."""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

import numpy as np

#: UCI's optical digits in scikit-learn's ``load_digits()`` order; its source and licence: grader/data/README.md
DIGITS = Path(__file__).resolve().parent.parent / "data" / "digits.npz"


@lru_cache(maxsize=1)
def load() -> tuple[np.ndarray, np.ndarray]:
    """(images, target): 1797 images of shape (8, 8) with pixels in 0..16 (uint8) and their digits (int64).

    >>> images, target = load()
    >>> images.shape, int(images.max()), sorted(set(target.tolist())) == list(range(10))
    ((1797, 8, 8), 16, True)
    """
    with np.load(DIGITS, allow_pickle=False) as data:
        images, target = data["images"], data["target"].astype(np.int64)
    for a in (images, target):
        a.flags.writeable = False  # shared by every caller (cached)
    return images, target


def upsample_28(images: np.ndarray) -> np.ndarray:
    """(N, 8, 8) pixels in 0..16 → (N, 784) float32 in [0, 1]: each pixel repeated 3×3, a 2-pixel border."""
    big = np.kron(images.astype(np.float32) / 16.0, np.ones((3, 3), dtype=np.float32))
    return np.pad(big, ((0, 0), (2, 2), (2, 2))).reshape(len(images), 784)


@cache
def digits_784(test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test): a fixed shuffled split; the worker only ever gets the training part."""
    images, target = load()
    order = np.random.default_rng(seed).permutation(len(target))
    X, y = upsample_28(images[order]), target[order]
    cut = int(round(len(y) * (1 - test_fraction)))
    return X[:cut], y[:cut], X[cut:], y[cut:]
