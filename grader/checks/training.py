"""Training smoke tests where the grader decides.

The worker trains on the training split only and returns the trained weights as plain arrays; the grader
checks their shapes, loads them into the *reference* architecture (in the grader's process) and measures
accuracy on held-out data the worker never receives.  Loss curves are recorded for reports to plot.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from grader.checks.compare import short
from grader.checks.context import Context, NoReference
from grader.checks.failure import CheckFailed


@lru_cache(maxsize=None)
def digits(test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 8×8 digits (sklearn, bundled offline) scaled to [0, 1], split stratified by class in the grader.

    Returns (X_train, y_train, X_test, y_test) with X of shape (N, 64).
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float64) / 16.0
    y = y.astype(np.int64)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test[idx[:int(round(test_fraction * len(idx)))]] = True
    return X[~test], y[~test], X[test], y[test]


#: Point this at a folder with MNIST's four IDX files (gzip or not) to train the MLP on MNIST instead of the digits.
MNIST_ENV = "DEEPGRADE_MNIST"
MNIST_FILES = {"X_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
               "X_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def mnist_problem(folder: str | None = None) -> str:
    """Why ``$DEEPGRADE_MNIST`` (or ``folder``) cannot be used, in one line ("" when it is unset or usable).

    The commands ask this before grading: a wrong path is the user's setting, not a wrong ``train.loop``."""
    folder = os.environ.get(MNIST_ENV, "") if folder is None else folder
    if not folder:
        return ""
    if not Path(folder).is_dir():
        return f"{MNIST_ENV}={folder} is not a folder; point it at MNIST's four IDX files or unset it"
    missing = [name for name in MNIST_FILES.values()
               if not any((Path(folder) / n).is_file() for n in (name, name + ".gz"))]
    if missing:
        return (f"{MNIST_ENV}={folder} lacks {', '.join(missing)} (or .gz); point it at MNIST's four IDX files "
                "or unset it")
    return ""


def mnist(folder: str, load_idx: Callable[[str], np.ndarray], train_limit: int = 6000
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST from its IDX files (read in the grader by the reference ``load_idx``), pixels scaled to [0, 1].

    Only the first ``train_limit`` training images are used, to keep the smoke test's budget.
    """
    arrays = {}
    for key, name in MNIST_FILES.items():
        path = next((p for p in (Path(folder) / name, Path(folder) / (name + ".gz")) if p.is_file()), None)
        if path is None:
            raise CheckFailed(f"{MNIST_ENV}={folder}: {name}[.gz] is missing",
                              hint=f"unset {MNIST_ENV} to use the bundled digits")
        arrays[key] = load_idx(str(path))
    flat = {k: arrays[k].reshape(len(arrays[k]), -1).astype(np.float64) / 255.0 for k in ("X_train", "X_test")}
    return (flat["X_train"][:train_limit], arrays["y_train"][:train_limit].astype(np.int64),
            flat["X_test"], arrays["y_test"].astype(np.int64))


def classification_data(ctx: Context) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], str]:
    """(X_train, y_train, X_test, y_test) and its name: MNIST when the user points at it, else the digits."""
    folder = os.environ.get(MNIST_ENV)
    if folder:
        return mnist(folder, ctx.reference("train").load_idx), "MNIST"
    return digits(), "digits"


def expect_pair(returned: Any, what: str) -> tuple[Any, Any]:
    """A training function's ``(params, losses)``."""
    if not (isinstance(returned, tuple) and len(returned) == 2):
        raise CheckFailed(f"{what} should return (params, losses)", got=type(returned).__name__)
    return returned


def expect_params(params: Any, shapes: Mapping[str, tuple[int, ...]], what: str) -> dict[str, np.ndarray]:
    """The trained weights as a dict of finite float arrays with the expected keys and shapes."""
    if not isinstance(params, dict):
        raise CheckFailed(f"{what} should return a dict of arrays as its parameters, got {type(params).__name__}")
    missing = [k for k in shapes if k not in params]
    if missing:
        raise CheckFailed(f"the parameters returned by {what} lack {', '.join(missing)}",
                          expected=", ".join(shapes), got=short(list(params)))
    out = {}
    for key, shape in shapes.items():
        value = params[key]
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise CheckFailed(f"parameter {key} returned by {what} should be a float array",
                              got=type(value).__name__)
        if value.shape != tuple(shape):
            raise CheckFailed(f"parameter {key} returned by {what} has the wrong shape", got=str(value.shape),
                              expected=str(tuple(shape)))
        if not np.all(np.isfinite(value)):
            raise CheckFailed(f"parameter {key} returned by {what} is not finite (training diverged?)",
                              hint="lower the learning rate or check the gradients")
        out[key] = value
    return out


def expect_losses(losses: Any, what: str) -> np.ndarray:
    """The loss curve: a non-empty sequence of finite numbers."""
    try:
        curve = np.asarray(losses, dtype=np.float64).ravel()
    except (TypeError, ValueError, OverflowError):
        raise CheckFailed(f"{what} should return its losses as a list of numbers") from None
    if curve.size < 2 or not np.all(np.isfinite(curve)):
        raise CheckFailed(f"{what} should return a finite loss for every step", got=f"{curve.size} values")
    return curve


def assert_loss_goes_down(curve: np.ndarray, what: str, *, factor: float = 0.7) -> None:
    """The mean of the last tenth of the steps is below ``factor`` times the mean of the first tenth."""
    k = max(1, curve.size // 10)
    first, last = float(curve[:k].mean()), float(curve[-k:].mean())
    if not last < factor * first:
        raise CheckFailed(f"the training loss of {what} does not go down enough",
                          expected=f"last steps < {factor:g} × first steps ({factor * first:.4g})",
                          got=f"{first:.4g} → {last:.4g}",
                          hint="check the sign of the update and that every parameter is updated in place")


def assert_accuracy(ctx: Context, predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray,
                    threshold: float, what: str) -> float:
    """Accuracy of the reference architecture with the student's weights on held-out data."""
    acc = float(np.mean(np.asarray(predict(X)) == y))
    if acc < threshold:
        raise CheckFailed(f"{what} reaches only {acc:.1%} accuracy on held-out data",
                          expected=f">= {threshold:.0%}", got=f"{acc:.1%}",
                          hint="check the gradients first (the gradient check), then the learning rate and epochs")
    return acc


def record(ctx: Context, curve: Sequence[float], reference: Callable[[], Sequence[float]] | None) -> None:
    """Keep the student's loss curve and, when the reference is available, the reference's."""
    ctx.record_curve("loss", curve)
    if reference is not None:
        try:
            ctx.record_curve("reference loss", reference())
        except NoReference:  # a student release: the reference curve is optional
            pass
