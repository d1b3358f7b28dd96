"""Part 11 — the seed's Keras program (seed 5.1), run by Keras 3 on the torch backend (KERAS_BACKEND=torch
is set for every worker).  Keras is an optional extra: without it these exercises are reported as skipped.

The part is called ``keras_model`` because a submission file named ``keras.py`` would shadow the real
``keras`` package in the student's own ``import keras``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.checks.compare import assert_close, short
from grader.checks.context import Context
from grader.checks.digits import digits_784
from grader.checks.failure import CheckFailed
from grader.checks.replies import BOOL, FLOAT_ARRAY, INT, NONE, NUMBER, STR, dict_of, fields, list_of, one_of, returns
from grader.i18n import N_, _
from grader.registry import exercise

#: the seed's model as its weights: Dense(128) then Dense(10); the activations are judged by what the model computes
WEIGHT_SHAPES = [[784, 128], [128], [128, 10], [10]]
OPTIMIZER = "adam"
MIN_ACCURACY = 0.90
EPOCHS = 5
#: build_model's own model (its initializers, its compile settings) trained in the worker on the digits' training
#: part: epochs, batch size and the held-out accuracy it must reach (the reference: 89.1–94.7% over 100 seeds,
#: benchmarks/calibrate.py --checks keras_model.model)
OWN_EPOCHS, OWN_BATCH, OWN_MIN_ACCURACY = 1, 32, 0.80
#: the logits of the seed weights scaled by this: a batch on which the model is confident (p of the label ~ 1)
CONFIDENT = 10.0
#: train_model watched in the worker: samples, epochs and a batch size that is not fit's default of 32
WATCH_N, WATCH_EPOCHS, WATCH_BATCH = 80, 2, 16


# ------------------------------------------------------------------ worker-side drivers (sent as source)
@returns(fields(weights=list_of(list_of(INT)), input=list_of(one_of(NONE, INT)), optimizer=STR))
def _describe_model(student: Callable[[str], Any]) -> dict:
    """What build_model made, as behaviour-neutral facts: its weight shapes, input shape and optimizer.  How a
    layer is spelled (Dense(128, activation='relu') or Dense(128) then ReLU()) is not reported: the
    output check compares the function the model computes."""
    model = student("keras_model").build_model()
    return {
        "weights": [[int(d) for d in w.shape] for w in model.get_weights()],
        "input": [d if d is None else int(d) for d in model.input_shape] if model.built else [],
        "optimizer": type(model.optimizer).__name__.lower() if getattr(model, "optimizer", None) else "",
    }


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
    # the seed's model, built here so that train_model is judged apart from build_model
    hidden, out = keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")
    model = keras.Sequential([keras.Input(shape=(784,)), hidden, out])
    model.compile(
        optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"]
    )
    before = [np.asarray(w) for w in model.get_weights()]
    losses = mod.train_model(model, X, y, epochs=epochs)
    if not isinstance(losses, list):
        raise TypeError(f"train_model should return a list of floats, got {type(losses).__name__}")
    return {
        "before": before,
        "after": [np.asarray(w) for w in model.get_weights()],
        "losses": [float(v) for v in losses],
    }


@returns(list_of(FLOAT_ARRAY))
def _train_own_model(student: Callable[[str], Any], X: Any, y: Any, epochs: int, batch_size: int, seed: int) -> list:
    """build_model's model as the student made it (initializers, optimizer, loss), trained by model.fit here;
    its weights after training.  The held-out digits stay in the grader."""
    import keras
    import numpy as np
    import torch

    torch.set_num_threads(1)
    keras.utils.set_random_seed(seed)
    model = student("keras_model").build_model()
    model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return [np.asarray(w) for w in model.get_weights()]


@returns(
    fields(
        returned=list_of(NUMBER),
        fits=list_of(fields(loss=list_of(NUMBER), epochs=INT, batch_size=STR)),
        optimizer=STR,
        same_optimizer=BOOL,
        same_settings=BOOL,
        iterations=INT,
    )
)
def _watch_fit(student: Callable[[str], Any], X: Any, y: Any, epochs: int, batch_size: int, seed: int) -> dict:
    """The seed's model (compiled as build_model's hint says, metrics included) trained by the student's
    train_model with model.fit watched on the instance: each call's History loss and its epochs and batch_size;
    then whether the model still has the Adam it was compiled with, and how many steps that optimizer took."""
    import inspect

    import keras
    import torch

    torch.set_num_threads(1)
    keras.utils.set_random_seed(seed)
    hidden, out = keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")
    model = keras.Sequential([keras.Input(shape=(784,)), hidden, out])  # the seed's model
    adam = keras.optimizers.Adam()
    model.compile(optimizer=adam, loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    fit, fits = model.fit, []
    signature = inspect.signature(fit)

    def watched_fit(*args: Any, **kwargs: Any) -> Any:
        history = fit(*args, **kwargs)
        try:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            called = bound.arguments
        except TypeError:
            called = {}
        losses = getattr(history, "history", {}).get("loss", [])
        fits.append(
            {
                "loss": [float(v) for v in losses],
                "epochs": int(called.get("epochs", -1)),
                "batch_size": repr(called.get("batch_size")),
            }
        )
        return history

    model.fit = watched_fit
    returned = student("keras_model").train_model(model, X, y, epochs=epochs, batch_size=batch_size)
    if not isinstance(returned, list):
        raise TypeError(f"train_model should return a list of floats, got {type(returned).__name__}")
    last = getattr(model, "history", None)  # keras.Model.fit(model, ...) passes the wrapper by: its last History
    history = getattr(last, "history", None)
    if not fits and isinstance(history, dict):
        fits.append({"loss": [float(v) for v in history.get("loss", [])], "epochs": -1, "batch_size": "?"})
    now = getattr(model, "optimizer", None)

    def settings(opt: Any) -> dict:
        return {k: v for k, v in opt.get_config().items() if k != "name"}

    same_settings = type(now) is type(adam) and settings(now) == settings(adam)
    iterations = int(keras.ops.convert_to_numpy(now.iterations)) if now is not None else -1
    return {
        "returned": [float(v) for v in returned],
        "fits": fits,
        "optimizer": type(now).__name__,
        "same_optimizer": now is adam,
        "same_settings": bool(same_settings),
        "iterations": iterations,
    }


# ------------------------------------------------------------------ grader side
def _probabilities(weights: list[np.ndarray], X: np.ndarray) -> np.ndarray:
    """The seed's model in numpy: softmax(relu(X W1 + b1) W2 + b2)."""
    W1, b1, W2, b2 = (np.asarray(w, dtype=np.float64) for w in weights)
    z = np.maximum(X @ W1 + b1, 0.0) @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


MODEL = exercise(
    "keras_model.model",
    N_("The seed's Sequential model (Keras 3)"),
    points=3,
    seed="5.1",
    functions=["build_model"],
    requires=["keras"],
    hint=N_(
        "keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation='relu'), "
        "keras.layers.Dense(10, activation='softmax')]); model.compile(optimizer='adam', "
        "loss='sparse_categorical_crossentropy', metrics=['accuracy'])."
    ),
)


_COMPILE_HINT = N_(
    "call model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
    "metrics=['accuracy']) before returning the model"
)


@MODEL.check(N_("build_model has the seed's weights, input and optimizer"), oracle="known")
def build_model_has_the_seed_s_weights_input_and_optimizer(ctx: Context) -> None:
    got = ctx.drive(_describe_model, timeout=60)
    if got["weights"] != WEIGHT_SHAPES:
        raise CheckFailed(
            _("the model's weights are not those of the seed's two Dense layers"),
            expected=repr(WEIGHT_SHAPES),
            got=repr(got["weights"])[:200],
            hint=N_("Dense(128, activation='relu') then Dense(10, activation='softmax')"),
        )
    if got["input"] != [None, 784]:
        raise CheckFailed(
            _("the model does not take 784 inputs"),
            expected="(None, 784)",
            got=repr(got["input"]),
            hint=N_("start with keras.Input(shape=(784,)) (the seed's input_shape=(784,))"),
        )
    if not got["optimizer"]:
        raise CheckFailed(_("build_model returns a model that was never compiled"), hint=_COMPILE_HINT)
    if got["optimizer"] != OPTIMIZER:
        raise CheckFailed(
            _("the model is compiled with the wrong optimizer"),
            expected=OPTIMIZER,
            got=got["optimizer"] or _("(not compiled)"),
            hint=N_("model.compile(optimizer='adam', ...)"),
        )


def _seed_weights(rng: np.random.Generator) -> list[np.ndarray]:
    """Random weights of the seed's model, scaled so that the hidden layer is neither saturated nor dead."""
    return [
        rng.standard_normal((784, 128)).astype(np.float32) / 28,
        rng.standard_normal(128).astype(np.float32),
        rng.standard_normal((128, 10)).astype(np.float32) / 11,
        rng.standard_normal(10).astype(np.float32),
    ]


@MODEL.check(N_("compiled loss and accuracy metric compute the seed's values"), oracle="known")
def compiled_loss_and_accuracy_metric_compute_the_seed_s_values(ctx: Context) -> None:
    rng = ctx.rng
    weights, X = _seed_weights(rng), rng.random((24, 784), dtype=np.float32)
    p = _probabilities(weights, X)
    y = np.where(rng.random(len(X)) < 0.6, p.argmax(axis=1), rng.integers(0, 10, len(X)))  # accuracy far from 0
    got = ctx.drive(_evaluate, weights, X, y, timeout=60)
    if got["error"]:
        raise CheckFailed(
            _("the compiled loss cannot be computed on integer labels 0–9"),
            got=got["error"],
            hint=N_("the labels are integers: loss='sparse_categorical_crossentropy'"),
        )
    results = got["results"]
    expected_loss = float(np.mean(-np.log(p[np.arange(len(y)), y])))
    if "loss" not in results:
        raise CheckFailed(_("model.evaluate reports no loss"), got=repr(sorted(results))[:200])
    assert_close(
        results["loss"],
        expected_loss,
        what=_("the compiled loss on a batch"),
        rtol=1e-3,
        atol=1e-4,
        hint=N_(
            "sparse categorical cross-entropy of the softmax output (not from_logits: the model ends in a softmax)"
        ),
    )
    accuracy = float(np.mean(p.argmax(axis=1) == y))
    if not any(abs(v - accuracy) <= 1e-6 for k, v in results.items() if k != "loss"):
        raise CheckFailed(
            _("no compiled metric reports the accuracy"),
            expected=_("a metric equal to {accuracy}").format(accuracy=f"{accuracy:.4f}"),
            got=repr({k: round(v, 4) for k, v in results.items() if k != "loss"})[:200],
            hint=N_("model.compile(..., metrics=['accuracy'])"),
        )
    # On near-uniform probabilities (above) the cross-entropy of softmax(p), what from_logits=True computes on a
    # softmax output, is ~log(10) like the right loss: a batch where the model is confident tells them apart
    # (the right loss is near 0 there, softmax(p) of probabilities never puts more than e/(e+9) on a class).
    W1, b1, W2, b2 = weights
    confident = [W1, b1, W2 * np.float32(CONFIDENT), b2 * np.float32(CONFIDENT)]
    p = _probabilities(confident, X)
    y = p.argmax(axis=1)
    got = ctx.drive(_evaluate, confident, X, y, timeout=60)
    loss = got["results"].get("loss", float("nan")) if not got["error"] else float("nan")
    expected_loss = float(np.mean(-np.log(p[np.arange(len(y)), y])))
    assert_close(
        loss,
        expected_loss,
        what=_("the compiled loss on a batch the model gets right with confidence"),
        rtol=1e-3,
        atol=1e-4,
        hint=N_(
            "the model ends in a softmax, so its outputs are probabilities: keep the default "
            "from_logits=False (from_logits=True applies a second softmax to them)"
        ),
    )


@MODEL.check(N_("model output is softmax(relu(x W1 + b1) W2 + b2)"), oracle="known", points=2)
def model_output_is_softmax_relu_x_w1_b1_w2_b2(ctx: Context) -> None:
    rng = ctx.rng
    weights, X = _seed_weights(rng), rng.random((9, 784), dtype=np.float32)
    assert_close(
        ctx.drive(_predict, weights, X, timeout=60),
        _probabilities(weights, X),
        what=_("the model's output"),
        rtol=1e-4,
        atol=1e-5,
        hint=N_("the last layer is Dense(10, activation='softmax'): probabilities that sum to 1"),
    )


@MODEL.check(
    N_("the model build_model returns learns: 80% on held-out digits after 1 epoch"), oracle="training", timeout=60
)
def the_model_build_model_returns_learns_80_on_held_out_digits(ctx: Context) -> None:
    X_train, y_train, X_test, y_test = digits_784()
    weights = ctx.drive(_train_own_model, X_train, y_train, OWN_EPOCHS, OWN_BATCH, 0)
    if [np.shape(w) for w in weights] != [(784, 128), (128,), (128, 10), (10,)]:
        raise CheckFailed(
            _("the trained weights are not those of the seed's two Dense layers"),
            expected=repr(WEIGHT_SHAPES),
            got=repr([list(np.shape(w)) for w in weights])[:200],
            hint=N_("Dense(128, activation='relu') then Dense(10, activation='softmax')"),
        )
    acc = float(np.mean(_probabilities(weights, X_test).argmax(axis=1) == y_test))
    if not acc >= OWN_MIN_ACCURACY:
        raise CheckFailed(
            _(
                "the model build_model returns does not learn: trained for {epochs} epoch on {n} digits with its "
                "own initializers and compile settings, it is right on {acc} of held-out digits"
            ).format(epochs=OWN_EPOCHS, n=len(y_train), acc=f"{acc:.1%}"),
            expected=_(">= {accuracy} (the seed's model: about 90%)").format(accuracy=f"{OWN_MIN_ACCURACY:.0%}"),
            got=f"{acc:.1%}",
            hint=N_(
                "keep the Dense layers' default initializers (kernel_initializer='zeros' gives every hidden "
                "unit the same weights and the gradient never separates them) and the seed's compile: "
                "optimizer='adam' with its default learning rate, loss='sparse_categorical_crossentropy'"
            ),
        )


FIT = exercise(
    "keras_model.fit",
    N_("model.fit as in the seed"),
    points=3,
    seed="5.1",
    functions=["train_model"],
    requires=["keras"],
    hint=N_(
        "Call fit on the model you are given, with the training arrays, the requested number of epochs and "
        "batch size (verbose=0), then return the list of per-epoch losses that the History object keeps."
    ),
)


@FIT.check(N_("train_model trains the given model for the given epochs"), oracle="invariant")
def train_model_trains_the_given_model_for_the_given_epochs(ctx: Context) -> None:
    rng = ctx.rng
    X, y = rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64)
    got = ctx.drive(_fit, X, y, 2, 0, timeout=60)
    if len(got["losses"]) != 2:
        raise CheckFailed(
            _("train_model(..., epochs=2) should return 2 losses"),
            got=short(got["losses"]),
            hint=N_("return history.history['loss'] of model.fit(..., epochs=epochs)"),
        )
    if all(np.array_equal(a, b) for a, b in zip(got["before"], got["after"])):
        raise CheckFailed(
            _("train_model did not change the weights of the model it was given"),
            hint=N_("call fit on the model passed in; do not build a new one"),
        )


@FIT.check(N_("trained model reaches 90% on held-out digits"), oracle="training", points=2, timeout=120)
def trained_model_reaches_90_on_held_out_digits(ctx: Context) -> None:
    X_train, y_train, X_test, y_test = digits_784()
    got = ctx.drive(_fit, X_train, y_train, EPOCHS, 0)
    ctx.record_curve("loss", got["losses"])
    weights = got["after"]
    if [np.shape(w) for w in weights] != [(784, 128), (128,), (128, 10), (10,)]:
        raise CheckFailed(
            _("the trained weights are not the seed's model"), got=repr([np.shape(w) for w in weights])[:200]
        )
    acc = float(np.mean(_probabilities(weights, X_test).argmax(axis=1) == y_test))
    if not acc >= MIN_ACCURACY:
        raise CheckFailed(
            _("after {epochs} epochs the model is right on {acc} of held-out digits").format(
                epochs=EPOCHS, acc=f"{acc:.1%}"
            ),
            expected=f">= {MIN_ACCURACY:.0%}",
            got=f"{acc:.1%}",
        )


def _watched(ctx: Context) -> dict:
    """train_model on WATCH_N random samples, WATCH_EPOCHS epochs of WATCH_BATCH, model.fit watched."""
    rng = ctx.rng
    X, y = rng.random((WATCH_N, 784), dtype=np.float32), rng.integers(0, 10, WATCH_N)
    got = ctx.drive(_watch_fit, X, y, WATCH_EPOCHS, WATCH_BATCH, 0, timeout=60)
    if not got["fits"]:
        raise CheckFailed(
            _("train_model never called fit on the model it was given"),
            hint=N_(
                "train the model you are given with its own fit method, passing on the epochs and batch size "
                "you were given, and return the losses its history records"
            ),
        )
    return got


def _call() -> str:
    """The watched call, in the chosen language."""
    return _("train_model(model, X, y, epochs={epochs}, batch_size={batch_size}) with {n} samples").format(
        epochs=WATCH_EPOCHS, batch_size=WATCH_BATCH, n=WATCH_N
    )


@FIT.check(N_("train_model returns the History's per-epoch loss"), oracle="invariant", points=0.5)
def train_model_returns_the_history_s_per_epoch_loss(ctx: Context) -> None:
    got = _watched(ctx)
    history = [v for fit in got["fits"] for v in fit["loss"]]
    if len(got["returned"]) == len(history) and np.allclose(got["returned"], history, rtol=1e-6, atol=1e-7):
        return
    raise CheckFailed(
        _("{call} returned a list that is not the loss model.fit recorded").format(call=_call()),
        expected=f"history.history['loss'] = {short(history)}",
        got=short(got["returned"]),
        hint=N_(
            "return history.history['loss'] (the per-epoch training loss), not the accuracy or "
            "another metric, and not values computed otherwise"
        ),
    )


@FIT.check(N_("train_model keeps the Adam optimizer build_model compiled"), oracle="invariant", points=0.5)
def train_model_keeps_the_adam_optimizer_build_model_compiled(ctx: Context) -> None:
    got = _watched(ctx)
    if got["same_optimizer"] or got["same_settings"]:
        return
    raise CheckFailed(
        _(
            "train_model replaced the model's optimizer: after it the model trains with {optimizer}, "
            "not the Adam the model was compiled with"
        ).format(optimizer=got["optimizer"]),
        expected=_("the Adam of build_model's compile (default settings)"),
        got=got["optimizer"],
        hint=N_(
            "do not call model.compile in train_model: the model you are given is compiled "
            "already; call model.fit on it"
        ),
    )


@FIT.check(
    N_("train_model uses the given batch_size: epochs × ceil(N / batch_size) optimizer steps"),
    oracle="invariant",
    points=0.5,
)
def train_model_uses_the_given_batch_size_epochs_ceil_n_batch(ctx: Context) -> None:
    got = _watched(ctx)
    steps = WATCH_EPOCHS * -(-WATCH_N // WATCH_BATCH)
    if got["iterations"] == steps:
        return
    called = ", ".join(f"fit(epochs={f['epochs']}, batch_size={f['batch_size']})" for f in got["fits"])[:300]
    raise CheckFailed(
        _("{call} made {count} optimizer steps, not {epochs} × ceil({n} / {batch_size}) = {steps}").format(
            call=_call(), count=got["iterations"], epochs=WATCH_EPOCHS, n=WATCH_N, batch_size=WATCH_BATCH, steps=steps
        ),
        expected=_("{count} steps").format(count=steps),
        got=_("{count} steps; calls: {calls}").format(count=got["iterations"], calls=called),
        hint=N_("pass batch_size=batch_size (and epochs=epochs) to model.fit: without it fit uses batches of 32"),
    )
