"""Part 11 — the seed's Keras program (seed 5.1), run by Keras 3 on the torch backend (KERAS_BACKEND=torch
is set for every worker).  Keras is an optional extra: without it these exercises are reported as skipped.

The part is called ``keras_model`` because a submission file named ``keras.py`` would shadow the real
``keras`` package in the student's own ``import keras``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from grader.checks.compare import assert_close, short
from grader.checks.context import Context
from grader.checks.digits import digits_784
from grader.checks.failure import CheckFailed
from grader.checks.replies import FLOAT_ARRAY, INT, NONE, NUMBER, STR, dict_of, fields, list_of, one_of, returns
from grader.registry import exercise

#: the seed's model as its weights: Dense(128) then Dense(10); the activations are judged by what the model computes
WEIGHT_SHAPES = [[784, 128], [128], [128, 10], [10]]
OPTIMIZER = "adam"
MIN_ACCURACY = 0.90
EPOCHS = 5


# ------------------------------------------------------------------ worker-side drivers (sent as source)
@returns(fields(weights=list_of(list_of(INT)), input=list_of(one_of(NONE, INT)), optimizer=STR))
def _describe_model(student: Callable[[str], Any]) -> dict:
    """What build_model made, as behaviour-neutral facts: its weight shapes, input shape and optimizer.  How a
    layer is spelled (Dense(128, activation='relu') or Dense(128) then ReLU()) is not reported: the
    output check compares the function the model computes."""
    model = student("keras_model").build_model()
    return {"weights": [[int(d) for d in w.shape] for w in model.get_weights()],
            "input": [d if d is None else int(d) for d in model.input_shape] if model.built else [],
            "optimizer": type(model.optimizer).__name__.lower() if getattr(model, "optimizer", None) else ""}


@returns(fields(error=STR, results=dict_of(NUMBER)))
def _evaluate(student: Callable[[str], Any], weights: list, X: Any, y: Any) -> dict:
    """model.evaluate of the student's compiled model with the given weights, on one batch: the compiled loss
    and metrics as numbers (or why they cannot be computed on integer labels)."""
    model = student("keras_model").build_model()
    model.set_weights(weights)
    try:
        results = model.evaluate(X, y, batch_size=len(X), return_dict=True, verbose=0)
    except (ValueError, TypeError) as exc:  # e.g. categorical_crossentropy on integer labels
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}", "results": {}}
    return {"error": "", "results": {str(k): float(v) for k, v in results.items()}}


@returns(FLOAT_ARRAY)
def _predict(student: Callable[[str], Any], weights: list, X: Any) -> Any:
    import numpy as np

    model = student("keras_model").build_model()
    model.set_weights(weights)
    return np.asarray(model.predict(X, verbose=0), dtype=np.float64)


@returns(fields(before=list_of(FLOAT_ARRAY), after=list_of(FLOAT_ARRAY), losses=list_of(NUMBER)))
def _fit(student: Callable[[str], Any], X: Any, y: Any, epochs: int, seed: int) -> dict:
    """The seed's model, built here from its public specification (the hint of keras_model.model), trained by
    the student's train_model; the weights before and after, and the losses."""
    import keras
    import numpy as np
    import torch

    torch.set_num_threads(1)
    keras.utils.set_random_seed(seed)
    mod = student("keras_model")
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy())
    before = [np.asarray(w) for w in model.get_weights()]
    losses = mod.train_model(model, X, y, epochs=epochs)
    if not isinstance(losses, list):
        raise TypeError(f"train_model should return a list of floats, got {type(losses).__name__}")
    return {"before": before, "after": [np.asarray(w) for w in model.get_weights()],
            "losses": [float(v) for v in losses]}


# ------------------------------------------------------------------ grader side
def _probabilities(weights: list[np.ndarray], X: np.ndarray) -> np.ndarray:
    """The seed's model in numpy: softmax(relu(X W1 + b1) W2 + b2)."""
    W1, b1, W2, b2 = (np.asarray(w, dtype=np.float64) for w in weights)
    z = np.maximum(X @ W1 + b1, 0.0) @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


MODEL = exercise(
    "keras_model.model", "The seed's Sequential model (Keras 3)", points=3, seed="5.1", functions=["build_model"],
    requires=["keras"],
    hint="keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation='relu'), "
         "keras.layers.Dense(10, activation='softmax')]); model.compile(optimizer='adam', "
         "loss='sparse_categorical_crossentropy', metrics=['accuracy']).")


_COMPILE_HINT = ("call model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
                 "metrics=['accuracy']) before returning the model")


@MODEL.check("build_model has the seed's weights, input and optimizer", oracle="known")
def _(ctx: Context) -> None:
    got = ctx.drive(_describe_model, timeout=60)
    if got["weights"] != WEIGHT_SHAPES:
        raise CheckFailed("the model's weights are not those of the seed's two Dense layers",
                          expected=repr(WEIGHT_SHAPES), got=repr(got["weights"])[:200],
                          hint="Dense(128, activation='relu') then Dense(10, activation='softmax')")
    if got["input"] != [None, 784]:
        raise CheckFailed("the model does not take 784 inputs", expected="(None, 784)", got=repr(got["input"]),
                          hint="start with keras.Input(shape=(784,)) (the seed's input_shape=(784,))")
    if not got["optimizer"]:
        raise CheckFailed("build_model returns a model that was never compiled", hint=_COMPILE_HINT)
    if got["optimizer"] != OPTIMIZER:
        raise CheckFailed("the model is compiled with the wrong optimizer", expected=OPTIMIZER,
                          got=got["optimizer"] or "(not compiled)", hint="model.compile(optimizer='adam', ...)")


def _seed_weights(rng: np.random.Generator) -> list[np.ndarray]:
    """Random weights of the seed's model, scaled so that the hidden layer is neither saturated nor dead."""
    return [rng.standard_normal((784, 128)).astype(np.float32) / 28, rng.standard_normal(128).astype(np.float32),
            rng.standard_normal((128, 10)).astype(np.float32) / 11, rng.standard_normal(10).astype(np.float32)]


@MODEL.check("compiled loss and accuracy metric compute the seed's values", oracle="known")
def _(ctx: Context) -> None:
    rng = ctx.rng
    weights, X = _seed_weights(rng), rng.random((24, 784), dtype=np.float32)
    p = _probabilities(weights, X)
    y = np.where(rng.random(len(X)) < 0.6, p.argmax(axis=1), rng.integers(0, 10, len(X)))  # accuracy far from 0
    got = ctx.drive(_evaluate, weights, X, y, timeout=60)
    if got["error"]:
        raise CheckFailed("the compiled loss cannot be computed on integer labels 0–9", got=got["error"],
                          hint="the labels are integers: loss='sparse_categorical_crossentropy'")
    results = got["results"]
    expected_loss = float(np.mean(-np.log(p[np.arange(len(y)), y])))
    if "loss" not in results:
        raise CheckFailed("model.evaluate reports no loss", got=repr(sorted(results))[:200])
    assert_close(results["loss"], expected_loss, what="the compiled loss on a batch", rtol=1e-3, atol=1e-4,
                 hint="sparse categorical cross-entropy of the softmax output (not from_logits: the model "
                      "ends in a softmax)")
    accuracy = float(np.mean(p.argmax(axis=1) == y))
    if not any(abs(v - accuracy) <= 1e-6 for k, v in results.items() if k != "loss"):
        raise CheckFailed("no compiled metric reports the accuracy", expected=f"a metric equal to {accuracy:.4f}",
                          got=repr({k: round(v, 4) for k, v in results.items() if k != "loss"})[:200],
                          hint="model.compile(..., metrics=['accuracy'])")


@MODEL.check("model output is softmax(relu(x W1 + b1) W2 + b2)", oracle="known", points=2)
def _(ctx: Context) -> None:
    rng = ctx.rng
    weights, X = _seed_weights(rng), rng.random((9, 784), dtype=np.float32)
    assert_close(ctx.drive(_predict, weights, X, timeout=60), _probabilities(weights, X),
                 what="the model's output", rtol=1e-4, atol=1e-5,
                 hint="the last layer is Dense(10, activation='softmax'): probabilities that sum to 1")


FIT = exercise(
    "keras_model.fit", "model.fit as in the seed", points=3, seed="5.1", functions=["train_model"],
    requires=["keras"],
    hint="Call fit on the model you are given, with the training arrays, the requested number of epochs and "
         "batch size (verbose=0), then return the list of per-epoch losses that the History object keeps.")


@FIT.check("train_model trains the given model for the given epochs", oracle="invariant")
def _(ctx: Context) -> None:
    rng = ctx.rng
    X, y = rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64)
    got = ctx.drive(_fit, X, y, 2, 0, timeout=60)
    if len(got["losses"]) != 2:
        raise CheckFailed("train_model(..., epochs=2) should return 2 losses", got=short(got["losses"]),
                          hint="return history.history['loss'] of model.fit(..., epochs=epochs)")
    if all(np.array_equal(a, b) for a, b in zip(got["before"], got["after"])):
        raise CheckFailed("train_model did not change the weights of the model it was given",
                          hint="call fit on the model passed in; do not build a new one")


@FIT.check("trained model reaches 90% on held-out digits", oracle="training", points=2, timeout=120)
def _(ctx: Context) -> None:
    X_train, y_train, X_test, y_test = digits_784()
    got = ctx.drive(_fit, X_train, y_train, EPOCHS, 0)
    ctx.record_curve("loss", got["losses"])
    weights = got["after"]
    if [np.shape(w) for w in weights] != [(784, 128), (128,), (128, 10), (10,)]:
        raise CheckFailed("the trained weights are not the seed's model",
                          got=repr([np.shape(w) for w in weights])[:200])
    acc = float(np.mean(_probabilities(weights, X_test).argmax(axis=1) == y_test))
    if not acc >= MIN_ACCURACY:
        raise CheckFailed(f"after {EPOCHS} epochs the model is right on {acc:.1%} of held-out digits",
                          expected=f">= {MIN_ACCURACY:.0%}", got=f"{acc:.1%}")
