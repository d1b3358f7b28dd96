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
from grader.checks.replies import FLOAT_ARRAY, INT, NONE, NUMBER, STR, fields, list_of, one_of, returns
from grader.registry import exercise

LAYERS = [["Dense", 128, "relu"], ["Dense", 10, "softmax"]]
COMPILED = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy"}
MIN_ACCURACY = 0.90
EPOCHS = 5


# ------------------------------------------------------------------ worker-side drivers (sent as source)
@returns(fields(layers=list_of(list_of(one_of(STR, INT))), input=list_of(one_of(NONE, INT)), optimizer=STR,
                loss=STR, metrics=list_of(STR)))
def _describe_model(student: Callable[[str], Any]) -> dict:
    model = student("keras_model").build_model()
    layers = [[type(layer).__name__, int(getattr(layer, "units", 0)),
               getattr(getattr(layer, "activation", None), "__name__", "")] for layer in model.layers]
    # a model never compiled has no loss or optimizer attribute: that is the student's answer, not an error
    loss = getattr(model, "loss", None)
    loss = "" if loss is None else loss if isinstance(loss, str) else getattr(loss, "name", type(loss).__name__)
    optimizer = getattr(model, "optimizer", None)
    metrics = [m if isinstance(m, str) else getattr(m, "name", "") for m in (model._compile_config.config.get(
        "metrics") or [])] if getattr(model, "_compile_config", None) else []
    return {"layers": layers, "input": [d if d is None else int(d) for d in model.input_shape] if model.built else [],
            "optimizer": type(optimizer).__name__.lower() if optimizer else "",
            "loss": str(loss), "metrics": [str(m) for m in metrics]}


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


@MODEL.check("build_model has the seed's layers and compile settings", oracle="known")
def _(ctx: Context) -> None:
    got = ctx.drive(_describe_model, timeout=60)
    if got["layers"] != LAYERS:
        raise CheckFailed("the layers are not the seed's", expected=repr(LAYERS), got=repr(got["layers"]),
                          hint="Dense(128, activation='relu') then Dense(10, activation='softmax')")
    if got["input"] != [None, 784]:
        raise CheckFailed("the model does not take 784 inputs", expected="(None, 784)", got=repr(got["input"]),
                          hint="start with keras.Input(shape=(784,)) (the seed's input_shape=(784,))")
    if not got["optimizer"] and not got["loss"]:
        raise CheckFailed("build_model returns a model that was never compiled", hint=_COMPILE_HINT)
    for key, want in COMPILED.items():
        if got[key] != want:
            raise CheckFailed(f"compiled with the wrong {key}", expected=want, got=got[key] or "(none)",
                              hint=_COMPILE_HINT)
    if "accuracy" not in got["metrics"]:
        raise CheckFailed("compile without metrics=['accuracy']", got=repr(got["metrics"]))


@MODEL.check("model output is softmax(relu(x W1 + b1) W2 + b2)", oracle="known", points=2)
def _(ctx: Context) -> None:
    rng = ctx.rng
    weights = [rng.standard_normal((784, 128)).astype(np.float32) / 28, rng.standard_normal(128).astype(np.float32),
               rng.standard_normal((128, 10)).astype(np.float32) / 11, rng.standard_normal(10).astype(np.float32)]
    X = rng.random((9, 784), dtype=np.float32)
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
