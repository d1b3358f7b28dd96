"""The numpy parts of the second half (train, cnn, rnn): IDX files, the grader-side digits split, the
training checks' boundary (only the training split reaches the worker; curves are recorded)."""

from __future__ import annotations

import numpy as np
import pytest

from grader import reference, registry
from grader.checks import training as T
from grader.checks.failure import CheckFailed
from grader.exercises.train import _IDX_TYPES, idx_bytes
from grader.runner import grade


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("code", sorted(_IDX_TYPES))
def test_load_idx_reads_files_the_test_writes(tmp_path, code, compress):
    load_idx = reference.module("train").load_idx
    dtype = np.dtype(_IDX_TYPES[code]).newbyteorder("=")
    for shape in [(7,), (3, 4), (2, 3, 5)]:  # labels, a matrix, MNIST-like images
        data = (np.arange(np.prod(shape)) * 3 - 20).reshape(shape).astype(dtype)
        path = tmp_path / (f"f{code}-{len(shape)}" + (".gz" if compress else ""))
        path.write_bytes(idx_bytes(data, code, compress))
        got = load_idx(str(path))
        assert got.shape == shape and got.dtype == dtype and np.array_equal(got, data)


def test_load_idx_rejects_a_file_that_is_not_idx(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello, world")
    with pytest.raises(ValueError, match="not an IDX file"):
        reference.module("train").load_idx(str(path))


def test_digits_split_is_stratified_disjoint_and_fixed():
    Xtr, ytr, Xte, yte = T.digits()
    assert len(ytr) + len(yte) == 1797 and Xtr.shape[1] == Xte.shape[1] == 64
    assert 0.0 <= Xtr.min() and Xtr.max() <= 1.0
    train_rows = {r.tobytes() for r in Xtr}
    assert sum(r.tobytes() in train_rows for r in Xte) < 5  # the digits set has a few duplicate images
    for c in range(10):
        assert abs(np.mean(yte == c) - np.mean(ytr == c)) < 0.01
    assert all(np.array_equal(a, b) for a, b in zip(T.digits(), (Xtr, ytr, Xte, yte)))


def test_expect_params_names_what_is_wrong():
    shapes = {"W": (2, 3), "b": (3,)}
    assert set(T.expect_params({"W": np.zeros((2, 3)), "b": np.zeros(3)}, shapes, "fit")) == {"W", "b"}
    for bad, words in [
        ({"W": np.zeros((2, 3))}, "lack b"),
        ({"W": np.zeros((3, 2)), "b": np.zeros(3)}, "shape"),
        ({"W": np.full((2, 3), np.nan), "b": np.zeros(3)}, "not finite"),
        ({"W": [[0.0] * 3] * 2, "b": np.zeros(3)}, "float array"),
    ]:
        with pytest.raises(CheckFailed, match=words):
            T.expect_params(bad, shapes, "fit")


def test_only_the_training_split_reaches_the_worker(make_submission):
    sub = make_submission(
        "train.loop",
        """
        def fit(X, y, classes, hidden=32, epochs=10, lr=0.1, momentum=0.9, batch_size=32, seed=0):
            raise ValueError(f"saw {X.shape[0]} examples")
    """,
    )
    ex = registry.get("train.loop")
    result = grade(sub, [ex], only=lambda c: "held-out" in c.name)
    check = result.exercises[0].checks[0]
    assert check.status == "error"
    assert f"saw {len(T.digits()[1])} examples" in check.message


def test_training_checks_record_both_loss_curves():
    ex = registry.get("rnn.model")
    result = grade(reference.SOLUTIONS, [ex], only=lambda c: "held-out" in c.name)
    check = result.exercises[0].checks[0]
    assert check.status == "passed", check.message
    assert set(check.curves) == {"loss", "reference loss"}
    loss = check.curves["loss"]
    assert len(loss) == len(check.curves["reference loss"]) > 10 and loss[-1] < loss[0]


def test_the_mlp_trains_on_mnist_idx_files_when_the_user_points_at_them(tmp_path, monkeypatch, make_submission):
    """A small MNIST look-alike (the digits as 8×8 uint8 images) written as gzip IDX files."""
    from grader.checks.digits import load

    images, y = load()
    images = images * 15
    files = {
        "train-images-idx3-ubyte.gz": (images[:1400], 0x08),
        "train-labels-idx1-ubyte.gz": (y[:1400], 0x08),
        "t10k-images-idx3-ubyte": (images[1400:], 0x08),
        "t10k-labels-idx1-ubyte": (y[1400:], 0x08),
    }
    for name, (data, code) in files.items():
        (tmp_path / name).write_bytes(idx_bytes(data, code, compress=name.endswith(".gz")))
    monkeypatch.setenv(T.MNIST_ENV, str(tmp_path))
    held_out = lambda c: "held-out" in c.name  # noqa: E731
    check = grade(reference.SOLUTIONS, [registry.get("train.loop")], only=held_out).exercises[0].checks[0]
    assert check.status == "passed", check.message
    spy = make_submission(
        "train.loop",
        """
        def fit(X, y, classes, hidden=32, epochs=10, lr=0.1, momentum=0.9, batch_size=32, seed=0):
            raise ValueError(f"saw {X.shape} examples")
    """,
    )
    check = grade(spy, [registry.get("train.loop")], only=held_out).exercises[0].checks[0]
    assert "saw (1400, 64) examples" in check.message
    monkeypatch.setenv(T.MNIST_ENV, str(tmp_path / "nowhere"))
    check = grade(reference.SOLUTIONS, [registry.get("train.loop")], only=held_out).exercises[0].checks[0]
    assert check.status == "failed" and "train-images-idx3-ubyte[.gz] is missing" in check.message
