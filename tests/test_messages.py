"""Messages that fit the failure (issue 9, section 7): a selection of mutants across parts, each graded on the
check that must reject it, and its message must name the real cause (and not another exercise's cause), be
pasteable where it shows an input, and stay short."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from grader import registry
from grader.checks.failure import CheckFailed, call_literal
from grader.runner import grade
from tests.corpus import mutants

#: No student-facing message is longer than this (a literal of thousands of numbers is read by no one).
MAX_MESSAGE = 1500

#: (exercise, mutant name, check that rejects it, words the message must hold, words it must not hold)
CASES = [
    ("neuron.softmax", "softmax without max-subtraction", "finite on extreme inputs", ["inf or nan"], []),
    (
        "cnn.conv",
        "computed in float32 (the right formula, float32 precision)",
        "conv_forward matches the reference",
        ["float32 precision"],
        ["flip"],
    ),
    ("cnn.conv", "padding applied twice", "conv_forward matches recorded answers", ["np.load("], []),
    (
        "cnn.model",
        "ReLU backward skipped",
        "cnn_loss passes the gradient check",
        ["_cnn_case(", "cnn_loss("],
        ["example = "],
    ),
    ("gan.step", "D's gradients never zeroed", "train_step matches the reference", ["train_step(G, D"], []),
    (
        "pytorch.train",
        "make_loader always shuffles",
        "make_loader batches every sample once",
        ["shuffle=shuffle"],
        ["per batch"],
    ),
    (
        "pytorch.evaluate",
        "divides by the number of batches",
        "evaluate matches the reference",
        ["number of samples"],
        [],
    ),
    (
        "pytorch.evaluate",
        "argmin instead of argmax",
        "evaluate matches the reference",
        ["argmax(dim=1)"],
        ["number of samples"],
    ),
    (
        "keras_model.model",
        "never compiled",
        "build_model has the seed's weights",
        ["never compiled", "compile("],
        ["AttributeError"],
    ),
    ("keras_model.model", "images kept as 28x28 (no flattening)", "build_model has the seed's weights", ["784"], []),
    (
        "train.loop",
        "the optimizer is re-created every step (momentum lost)",
        "stepping one optimizer",
        ["optimizer once"],
        ["minibatch that is not"],
    ),
    ("train.loop", "the biases are never handed to the optimizer", "stepping one optimizer", ["b1", "biases"], []),
    ("train.loop", "epochs ignored (one pass over the data)", "stepping one optimizer", ["over the epochs"], []),
    ("train.loop", "every step on the whole training set", "stepping one optimizer", ["each minibatch"], []),
    (
        "rnn.model",
        "one loss per epoch (the epoch's mean)",
        "records one loss per minibatch step",
        ["not an epoch mean"],
        [],
    ),
    (
        "cnn.model",
        "minibatches of the first rows, never shuffled",
        "records one loss per minibatch step",
        ["same order every epoch"],
        [],
    ),
    (
        "keras_model.model",
        "kernel_initializer='zeros' (the model never learns)",
        "the model build_model returns learns",
        ["does not learn", "kernel_initializer='zeros'"],
        [],
    ),
    (
        "keras_model.fit",
        "returns the accuracy history instead of the loss",
        "returns the History's per-epoch loss",
        ["history.history['loss']", "accuracy"],
        [],
    ),
    (
        "keras_model.fit",
        "re-compiles the model with SGD before fitting",
        "keeps the Adam optimizer",
        ["SGD", "model.compile"],
        [],
    ),
    (
        "keras_model.fit",
        "batch_size ignored (fit's default of 32)",
        "uses the given batch_size",
        ["batch_size=None", "batch_size=batch_size"],
        [],
    ),
]


def _mutant(exercise: str, name: str):
    return next(m for m in mutants() if m.exercise == exercise and m.name == name)


@pytest.mark.parametrize("exercise,name,check,words,not_words", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_message_names_the_real_cause(exercise, name, check, words, not_words, tmp_path):
    if exercise.startswith("keras_model") and importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed")
    ex = registry.get(exercise)
    result = grade(
        _mutant(exercise, name).write(tmp_path / "sub"),
        [ex],
        examples=10,
        only=lambda c: check in c.name and not c.hidden,
    )
    (got,) = result.exercises[0].checks
    assert got.status in ("failed", "error"), got
    for word in words:
        assert word in got.message, (word, got.message)
    for word in not_words:
        assert word not in got.message, (word, got.message)
    assert len(got.message) <= MAX_MESSAGE, got.message


def test_overflowing_softmax_earns_at_most_half(tmp_path):
    """The exercise is titled "numerically stable": stability carries half its points."""
    ex = registry.get("neuron.softmax")
    result = grade(
        _mutant("neuron.softmax", "softmax without max-subtraction").write(tmp_path / "sub"), [ex], examples=5
    )
    e = result.exercises[0]
    assert e.score <= e.max_score / 2 + 1e-9 and e.score > 0, (e.score, e.max_score)


def test_large_arrays_are_written_short_but_pasteable():
    x = np.arange(24 * 24, dtype=np.float64).reshape(4, 6, 24)
    literal = call_literal("f", (x, 2))
    assert len(literal) < 200
    shape = eval(literal, {"np": np, "f": lambda a, b: (a.shape, a.dtype, a.reshape(-1)[:8].tolist())})
    assert shape == ((4, 6, 24), np.float64, list(range(8)))
    report = CheckFailed("wrong", input=literal).report()
    assert "first 8 values" in report
    small = np.arange(6.0)
    assert eval(call_literal("f", (small,)), {"np": np, "f": lambda a: a}).tolist() == small.tolist()
