"""Training smoke tests where the grader decides.

The worker trains on the training split only and returns the trained weights as plain arrays; the grader
checks their shapes, loads them into the *reference* architecture (in the grader's process) and measures
accuracy on held-out data the worker never receives.  Loss curves are recorded for reports to plot.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.compare import short
from grader.checks.context import Context, NoReference
from grader.checks.failure import CheckFailed
from grader.checks.replies import ANY, ARRAY, FLOAT_ARRAY, NUMBER, dict_of, fields, list_of, returns
from grader.i18n import N_, _


@cache
def digits(test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 8×8 digits (:func:`grader.checks.digits.load`) scaled to [0, 1], split stratified by class in the
    grader.

    Returns (X_train, y_train, X_test, y_test) with X of shape (N, 64).
    """
    from grader.checks.digits import load

    images, y = load()
    X = images.reshape(len(y), 64).astype(np.float64) / 16.0
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test[idx[: int(round(test_fraction * len(idx)))]] = True
    return X[~test], y[~test], X[test], y[test]


#: Point this at a folder with MNIST's four IDX files (gzip or not) to train the MLP on MNIST instead of the digits.
MNIST_ENV = "DEEPGRADE_MNIST"
MNIST_FILES = {
    "X_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "X_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def mnist_problem(folder: str | None = None) -> str:
    """Why ``$DEEPGRADE_MNIST`` (or ``folder``) cannot be used, in one line ("" when it is unset or usable).

    The commands ask this before grading: a wrong path is the user's setting, not a wrong ``train.loop``."""
    folder = os.environ.get(MNIST_ENV, "") if folder is None else folder
    if not folder:
        return ""
    if not Path(folder).is_dir():
        return _("{variable}={folder} is not a folder; point it at MNIST's four IDX files or unset it").format(
            variable=MNIST_ENV, folder=folder
        )
    missing = [
        name for name in MNIST_FILES.values() if not any((Path(folder) / n).is_file() for n in (name, name + ".gz"))
    ]
    if missing:
        return _("{variable}={folder} lacks {missing} (or .gz); point it at MNIST's four IDX files or unset it").format(
            variable=MNIST_ENV, folder=folder, missing=", ".join(missing)
        )
    return ""


def mnist(
    folder: str, load_idx: Callable[[str], np.ndarray], train_limit: int = 6000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST from its IDX files (read in the grader by the reference ``load_idx``), pixels scaled to [0, 1].

    Only the first ``train_limit`` training images are used, to keep the smoke test's budget.
    """
    arrays = {}
    for key, name in MNIST_FILES.items():
        path = next((p for p in (Path(folder) / name, Path(folder) / (name + ".gz")) if p.is_file()), None)
        if path is None:
            raise CheckFailed(
                _("{variable}={folder}: {name}[.gz] is missing").format(variable=MNIST_ENV, folder=folder, name=name),
                hint=_("unset {variable} to use the bundled digits").format(variable=MNIST_ENV),
            )
        arrays[key] = load_idx(str(path))
    flat = {k: arrays[k].reshape(len(arrays[k]), -1).astype(np.float64) / 255.0 for k in ("X_train", "X_test")}
    return (
        flat["X_train"][:train_limit],
        arrays["y_train"][:train_limit].astype(np.int64),
        flat["X_test"],
        arrays["y_test"].astype(np.int64),
    )


def classification_data(ctx: Context) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], str]:
    """(X_train, y_train, X_test, y_test) and its name: MNIST when the user points at it, else the digits."""
    folder = os.environ.get(MNIST_ENV)
    if folder:
        return mnist(folder, ctx.reference("train").load_idx), "MNIST"
    return digits(), "digits"


def expect_pair(returned: Any, what: str) -> tuple[Any, Any]:
    """A training function's ``(params, losses)``."""
    if not (isinstance(returned, tuple) and len(returned) == 2):
        raise CheckFailed(_("{what} should return (params, losses)").format(what=what), got=type(returned).__name__)
    return returned


def expect_params(params: Any, shapes: Mapping[str, tuple[int, ...]], what: str) -> dict[str, np.ndarray]:
    """The trained weights as a dict of finite float arrays with the expected keys and shapes."""
    if not isinstance(params, dict):
        raise CheckFailed(
            _("{what} should return a dict of arrays as its parameters, got {kind}").format(
                what=what, kind=type(params).__name__
            )
        )
    missing = [k for k in shapes if k not in params]
    if missing:
        raise CheckFailed(
            _("the parameters returned by {what} lack {missing}").format(what=what, missing=', '.join(missing)),
            expected=", ".join(shapes),
            got=short(list(params)),
        )
    out = {}
    for key, shape in shapes.items():
        value = params[key]
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise CheckFailed(
                _("parameter {key} returned by {what} should be a float array").format(key=key, what=what),
                got=type(value).__name__,
            )
        if value.shape != tuple(shape):
            raise CheckFailed(
                _("parameter {key} returned by {what} has the wrong shape").format(key=key, what=what),
                got=str(value.shape),
                expected=str(tuple(shape)),
            )
        if not np.all(np.isfinite(value)):
            raise CheckFailed(
                _("parameter {key} returned by {what} is not finite (training diverged?)").format(key=key, what=what),
                hint=N_("lower the learning rate or check the gradients"),
            )
        out[key] = value
    return out


def expect_losses(losses: Any, what: str) -> np.ndarray:
    """The loss curve: a non-empty sequence of finite numbers."""
    try:
        curve = np.asarray(losses, dtype=np.float64).ravel()
    except (TypeError, ValueError, OverflowError):
        raise CheckFailed(_("{what} should return its losses as a list of numbers").format(what=what)) from None
    if curve.size < 2 or not np.all(np.isfinite(curve)):
        raise CheckFailed(
            _("{what} should return a finite loss for every step").format(what=what),
            got=_("{count} values").format(count=curve.size),
        )
    return curve


def assert_loss_goes_down(curve: np.ndarray, what: str, *, factor: float = 0.7) -> None:
    """The mean of the last tenth of the steps is below ``factor`` times the mean of the first tenth."""
    k = max(1, curve.size // 10)
    first, last = float(curve[:k].mean()), float(curve[-k:].mean())
    if not last < factor * first:
        raise CheckFailed(
            _("the training loss of {what} does not go down enough").format(what=what),
            expected=_("last steps < {factor} × first steps ({value})").format(
                factor=f"{factor:g}", value=f"{factor * first:.4g}"
            ),
            got=f"{first:.4g} → {last:.4g}",
            hint=N_("check the sign of the update and that every parameter is updated in place"),
        )


def assert_accuracy(
    ctx: Context, predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray, threshold: float, what: str
) -> float:
    """Accuracy of the reference architecture with the student's weights on held-out data."""
    acc = float(np.mean(np.asarray(predict(X)) == y))
    if acc < threshold:
        raise CheckFailed(
            _("{what} reaches only {acc:.1%} accuracy on held-out data").format(what=what, acc=acc),
            expected=f">= {threshold:.0%}",
            got=f"{acc:.1%}",
            hint=N_("check the gradients first (the gradient check), then the learning rate and epochs"),
        )
    return acc


def record(ctx: Context, curve: Sequence[float] | np.ndarray, fit: str, *args: Any, **settings: Any) -> None:
    """Keep the student's loss curve and, when the reference is available, the loss curve of the reference's
    ``fit(*args, **settings)`` (which returns ``(params, losses)``).  That one depends on the check's data and
    settings alone, so it is trained once per course and kept with the check's plans (:meth:`Context.fixed`)."""
    ctx.record_curve("loss", curve)
    try:
        ref = ctx.reference()
    except NoReference:  # a student release: the reference curve is optional
        return
    ctx.record_curve("reference loss", ctx.fixed(lambda *a: _losses(ref, *a), fit, args, settings))


def _losses(ref: Any, fit: str, args: tuple[Any, ...], settings: dict[str, Any]) -> list[float]:
    """The loss curve of the reference's ``fit(*args, **settings)``, which returns ``(params, losses)``."""
    return [float(v) for v in np.asarray(getattr(ref, fit)(*args, **settings)[1], dtype=np.float64).ravel()]


# ------------------------------------------------------------------ the training process
#: what the worker reports about one call of the loss function during training
_STEP = fields(params=dict_of(FLOAT_ARRAY), X=ARRAY, y=ARRAY, loss=NUMBER, grads=dict_of(FLOAT_ARRAY))


@returns(fields(steps=list_of(_STEP), returned=ANY))
def traced_training(
    student: Callable[[str], Any], part: str, fit: str, loss: str, X: Any, y: Any, kwargs: dict
) -> dict:
    """``part.fit(X, y, **kwargs)`` with ``part.loss`` (a module attribute: the student's function or a given
    one) wrapped so that every call is recorded: the parameters it was given (as they were then), its minibatch,
    the loss and gradients it returned; and what ``fit`` returned."""
    import numpy as np

    mod = student(part)
    original = getattr(mod, loss)
    steps: list = []
    limit = 2000  # calls recorded at most (a reply of bounded size)

    def floats(d: Any) -> dict:
        if not isinstance(d, dict):
            return {}
        return {
            str(k): np.array(v, dtype=np.float64, copy=True)
            for k, v in d.items()
            if isinstance(v, (np.ndarray, float, int))
        }

    def traced(*args: Any, **kw: Any) -> Any:
        named = list(args) + [kw.get(n) for n in ("params", "X", "y")[len(args) :]]
        params, Xb, yb = (named + [None, None, None])[:3]
        entry = {"params": floats(params), "X": np.array(Xb, copy=True), "y": np.array(yb, copy=True)}
        out = original(*args, **kw)
        value, grads = out if isinstance(out, (tuple, list)) and len(out) == 2 else (out, None)
        try:
            entry["loss"] = float(value)
        except (TypeError, ValueError):
            entry["loss"] = float("nan")
        entry["grads"] = floats(grads)
        if len(steps) >= limit:
            raise RuntimeError(f"{fit} computed the loss more than {limit} times")
        steps.append(entry)
        return out

    setattr(mod, loss, traced)
    try:
        returned = getattr(mod, fit)(X, y, **kwargs)
    finally:
        setattr(mod, loss, original)
    return {"steps": steps, "returned": returned}


def sgd(ctx: Context, kwargs: dict[str, Any]) -> Callable[[list[np.ndarray]], Any] | None:
    """The optimizer the spec asks for, ``optim.SGD(params, lr, momentum)``, as the reference builds it (None
    without the reference: the process is then checked without the update rule)."""
    if not ctx.has_reference:
        return None
    SGD = ctx.reference("optim").SGD
    return lambda arrays: SGD(arrays, kwargs["lr"], momentum=kwargs.get("momentum", 0.0))


def _rows(X: np.ndarray) -> dict[bytes, int]:
    return {np.ascontiguousarray(row).tobytes(): i for i, row in enumerate(X)}


def check_training_process(
    ctx: Context,
    *,
    fit: str,
    loss: str,
    X: np.ndarray,
    y: np.ndarray,
    kwargs: dict[str, Any],
    keys: Sequence[str],
    optimizer: Callable[[list[np.ndarray]], Any] | None,
    optimizer_hint: str = "",
) -> None:
    """Train on a small problem with every call of ``loss`` recorded in the worker, and check the *process* the
    spec describes, not only its outcome: each epoch visits every training example once, in minibatches of
    ``batch_size`` (shuffled: not the same order every epoch); one loss computed per step, and those losses
    returned, one per step; every parameter in ``keys`` changes at every step; and, when ``optimizer`` builds
    the expected optimizer over a list of arrays (``step(grads)`` updating them in place), the parameters after
    each step are exactly what *one* such optimizer, built once, makes of that step's gradients.

    The rows of ``X`` must be distinct (random floats are)."""
    reply = ctx.drive(traced_training, ctx.exercise.part, fit, loss, X, y, kwargs)
    steps, (params, losses) = reply["steps"], expect_pair(reply["returned"], fit)
    n, batch, epochs = len(y), int(kwargs["batch_size"]), int(kwargs["epochs"])
    per_epoch = -(-n // batch)
    call = f"{fit}(X {X.shape}, y, **{kwargs})"
    if len(steps) != epochs * per_epoch:
        hint = (
            N_("the loop runs over the epochs, then over the minibatches")
            if len(steps) == per_epoch
            else N_("compute the loss on each minibatch X[idx], y[idx], not on the whole training set")
            if len(steps) == epochs
            else N_("one loss (and one update) per minibatch, for every epoch")
        )
        raise CheckFailed(
            _("{fit} computed the loss {n_steps} times").format(fit=fit, n_steps=len(steps)),
            input=call,
            expected=_("{total} ({epochs} epochs × {per_epoch} minibatches of {n} examples by {batch})").format(
                total=epochs * per_epoch, epochs=epochs, per_epoch=per_epoch, n=n, batch=batch
            ),
            got=str(len(steps)),
            hint=hint,
        )
    rows = _rows(X)
    orders = []
    sizes = [batch] * (n // batch) + ([n % batch] if n % batch else [])
    for e in range(epochs):
        order: list[int] = []
        epoch = steps[e * per_epoch : (e + 1) * per_epoch]
        got_sizes = [len(s["X"]) for s in epoch]
        if got_sizes != sizes:
            raise CheckFailed(
                _("the minibatches of epoch {epoch} have the wrong sizes").format(epoch=e + 1),
                input=call,
                expected=str(sizes),
                got=short(got_sizes),
                hint=N_("compute the loss on each minibatch X[idx], y[idx], not on the whole training set")
                if set(got_sizes) == {n}
                else N_("batches of batch_size rows, the last one with what is left"),
            )
        for s in epoch:
            Xb = np.asarray(s["X"])
            idx = (
                [rows.get(np.ascontiguousarray(r, dtype=X.dtype).tobytes(), -1) for r in Xb]
                if Xb.shape[1:] == X.shape[1:] and Xb.dtype.kind in "fiu"
                else [-1]
            )
            if -1 in idx or s["y"].shape != (len(idx),) or not np.array_equal(s["y"], y[idx]):
                raise CheckFailed(
                    _("{fit} gave {loss} a minibatch that is not rows of X with their labels").format(
                        fit=fit, loss=loss
                    ),
                    input=call,
                    hint=N_("index X and y with the same minibatch indices: X[idx], y[idx]"),
                )
            order += idx
        if sorted(order) != list(range(n)):
            raise CheckFailed(
                _("epoch {epoch} does not use every training example exactly once").format(epoch=e + 1),
                input=call,
                got=_("{distinct} distinct examples of {n}").format(distinct=len(set(order)), n=n),
                hint=N_("cut one permutation of the indices into minibatches"),
            )
        orders.append(order)
    if epochs > 1 and all(o == orders[0] for o in orders):
        raise CheckFailed(
            _("the minibatches come in the same order every epoch"),
            input=call,
            hint=N_("shuffle the indices anew at the start of each epoch"),
        )
    curve = expect_losses(losses, fit)
    computed = np.array([s["loss"] for s in steps])
    if curve.shape != computed.shape or not np.allclose(curve, computed, rtol=1e-9, atol=0):
        raise CheckFailed(
            _("{fit} should return one loss per optimizer step: the loss of each minibatch, in order").format(fit=fit),
            input=call,
            expected=_("{count} losses, from {first}").format(count=computed.size, first=f"{computed[0]:.6g}"),
            got=_("{count} losses, from {first}").format(count=curve.size, first=f"{curve[0]:.6g}"),
            hint=N_("append each minibatch's loss (not an epoch mean) to the list you return"),
        )
    final = expect_params(params, {k: steps[0]["params"][k].shape for k in keys if k in steps[0]["params"]}, fit)
    _check_updates(steps, final, keys, optimizer, call, fit, optimizer_hint)


def _check_updates(
    steps: list[dict],
    final: dict[str, np.ndarray],
    keys: Sequence[str],
    optimizer: Callable[[list[np.ndarray]], Any] | None,
    call: str,
    fit: str,
    hint: str,
) -> None:
    """Each step's parameters against the previous ones: all changed, and (with ``optimizer``) as one optimizer
    built once makes them, given the step's gradients."""
    missing = [k for k in keys if k not in steps[0]["params"] or k not in steps[0]["grads"]]
    if missing:
        raise CheckFailed(
            _("the parameters or gradients of {fit}'s loss lack {missing}").format(fit=fit, missing=', '.join(missing)),
            input=call,
        )
    mirror = [np.array(steps[0]["params"][k], copy=True) for k in keys]
    opt = optimizer(mirror) if optimizer is not None else None
    for i, s in enumerate(steps):
        after = steps[i + 1]["params"] if i + 1 < len(steps) else final
        for k, m in zip(keys, mirror):
            if k not in after or after[k].shape != m.shape or s["grads"].get(k, m).shape != m.shape:
                raise CheckFailed(_("parameter {k} changed shape during training").format(k=k), input=call)
            m[...] = s["params"][k]
        unchanged = [k for k in keys if np.array_equal(after[k], s["params"][k])]
        if unchanged:
            raise CheckFailed(
                _("step {step} of {fit} did not update {unchanged}").format(
                    step=i + 1, fit=fit, unchanged=', '.join(unchanged)
                ),
                input=call,
                hint=N_(
                    "hand every parameter (the biases too) to the update, and update the arrays "
                    "that the next loss computation uses"
                ),
            )
        if opt is None:
            continue
        opt.step([np.array(s["grads"][k], copy=True) for k in keys])
        for k, m in zip(keys, mirror):
            if not np.allclose(after[k], m, rtol=1e-8, atol=1e-11):
                raise CheckFailed(
                    _(
                        "after step {step} of {fit}, {k} is not what one optimizer step with "
                        "that minibatch's gradients makes of it"
                    ).format(step=i + 1, fit=fit, k=k),
                    input=call,
                    got=_("largest difference {difference}").format(difference=f"{np.max(np.abs(after[k] - m)):.3g}"),
                    hint=hint
                    or N_(
                        "build the optimizer once, before the loop, over the parameter "
                        "arrays themselves, with the lr and momentum given"
                    ),
                )
