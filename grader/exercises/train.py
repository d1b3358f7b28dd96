"""Part — the six steps of training (seed 2.3): data preparation, the training loop, evaluation, IDX files."""

from __future__ import annotations

import gzip
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.checks import plans
from grader.checks import strategies as S
from grader.checks import training as T
from grader.checks.compare import assert_close, real_array, same_array, short
from grader.checks.context import Context
from grader.checks.failure import CheckFailed, call_literal, failing_input, python_literal
from grader.checks.replies import ANY, returns
from grader.i18n import N_, _
from grader.registry import exercise

# ----------------------------------------------------------------------------- 1a. scaling
SCALE = exercise(
    "train.scale",
    N_("Standardize the features with the training statistics"),
    points=2,
    seed="2.3",
    functions=["standardize"],
    hint=N_(
        "μ and σ come from X_train only (axis 0); σ = 1 for a constant feature (max = min: its computed σ "
        "may be 1e-17, not 0); apply the same μ, σ to X_test."
    ),
)

#: constants whose column's computed σ is not exactly 0 for some numbers of rows (0.1 × 3 rows: σ ≈ 1.4e-17)
_INEXACT_CONSTANTS = (0.1, 0.2, 0.7, 1.1, -2.3)


@st.composite
def _scale_args(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Features on a grid of quarters: a feature is either constant or spread by at least 0.25.

    A constant feature is a grid value or a decimal such as 0.1 that binary floats do not hold exactly: the
    σ computed for such a column is about 1e-17 rather than 0, which is what `σ == 0` tests get wrong.
    """
    n, m, d = draw(st.integers(2, 8)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    grid = lambda shape: draw(hnp.arrays(np.int64, shape, elements=st.integers(-20, 20))) / 4.0  # noqa: E731
    X = grid((n, d))
    for j in range(d):  # some features never vary
        if draw(st.booleans()):
            X[:, j] = draw(st.sampled_from(_INEXACT_CONSTANTS) | st.just(X[0, j]))
    return X, grid((m, d))


def _standardized(ctx: Context, X_train: np.ndarray, X_test: np.ndarray) -> tuple[Any, Any]:
    out = ctx.call("standardize", X_train, X_test)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailed(_("standardize should return (X_train_scaled, X_test_scaled)"), got=type(out).__name__)
    return out


@SCALE.check(N_("standardize matches the reference"), oracle="reference", twin=True)
def standardize_matches_the_reference(ctx: Context) -> None:
    def prop(args: tuple[np.ndarray, np.ndarray]) -> None:
        got, expected = _standardized(ctx, *args), ctx.reference().standardize(*args)
        with failing_input(lambda: call_literal("standardize", args)):
            for name, g, e in zip(("X_train", "X_test"), got, expected):
                assert_close(
                    g,
                    e,
                    what=_("the scaled {name}").format(name=name),
                    rtol=1e-7,
                    atol=1e-9,
                    hint=N_("(X − μ_train) / σ_train, with σ = 1 for constant features"),
                )

    ctx.for_all(_scale_args(), prop)


@SCALE.check(N_("scaled training features have mean 0 and std 1 (0 if constant)"), oracle="invariant", twin=True)
def scaled_training_features_have_mean_0_and_std_1_0_if_constant(ctx: Context) -> None:
    def prop(args: tuple[np.ndarray, np.ndarray]) -> None:
        X, _unused = args
        scaled = real_array(_standardized(ctx, *args)[0], _("the scaled {name}").format(name="X_train"), X.shape)
        constant = np.ptp(X, axis=0) == 0
        expected_std = np.where(constant, 0.0, 1.0)
        with failing_input(lambda: call_literal("standardize", args)):
            assert_close(
                scaled.mean(axis=0), np.zeros(X.shape[1]), what=_("the mean of each scaled feature"), rtol=0, atol=1e-9
            )
            assert_close(
                scaled.std(axis=0),
                expected_std,
                what=_("the std of each scaled feature"),
                rtol=1e-7,
                atol=1e-9,
                hint=N_("divide by the standard deviation (not the variance); σ = 1 when it is 0"),
            )

    ctx.for_all(_scale_args(), prop)


@SCALE.check(N_("the test set is scaled with the training statistics"), oracle="invariant", twin=True)
def the_test_set_is_scaled_with_the_training_statistics(ctx: Context) -> None:
    def prop(args: tuple[np.ndarray, np.ndarray]) -> None:
        X, _unused = args
        train, test = _standardized(ctx, X, X[:1])  # the first training row, as a test set of one
        with failing_input(lambda: call_literal("standardize", (X, X[:1]))):
            train = real_array(train, _("the scaled {name}").format(name="X_train"), X.shape)
            assert_close(
                test,
                train[:1],
                what=_("the scaled test row"),
                rtol=1e-9,
                atol=1e-12,
                hint=N_("compute μ and σ on X_train only and reuse them for X_test"),
            )

    ctx.for_all(_scale_args(), prop)


@SCALE.check(N_("standardize leaves its inputs unchanged"), oracle="invariant", points=0.5, twin=True)
def standardize_leaves_its_inputs_unchanged(ctx: Context) -> None:
    def prop(args: tuple[np.ndarray, np.ndarray]) -> None:
        _unused, after = ctx.call_checking_inputs("standardize", *args)
        for before, now in zip(args, after):
            if not same_array(before, now):
                raise CheckFailed(
                    _("standardize changed its input in place"),
                    input=call_literal("standardize", args),
                    hint=N_("X = X - mu makes a new array; X -= mu overwrites the caller's data"),
                )

    ctx.for_all(_scale_args(), prop, examples=ctx.few_examples)


# ----------------------------------------------------------------------------- 1b. stratified split
SPLIT = exercise(
    "train.split",
    N_("Stratified train/test split"),
    points=3,
    seed="2.3",
    functions=["stratified_split"],
    hint=N_("For each class, shuffle its indices with the seeded generator and send round(f·n_c) of them to test."),
)

_FRACTIONS = st.sampled_from([0.2, 0.25, 0.3, 0.5])


@st.composite
def _split_args(draw: st.DrawFn) -> tuple[np.ndarray, float, int]:
    classes = draw(st.integers(2, 4))
    rng = np.random.default_rng(draw(S.seeds()))
    sizes = rng.integers(4, 40, classes)  # unbalanced classes, each with a few members
    y = rng.permutation(np.repeat(np.arange(classes), sizes)).astype(np.int64)
    return y, draw(_FRACTIONS), draw(st.integers(0, 1000))


def _split(ctx: Context, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    out = ctx.call("stratified_split", y, fraction, seed)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailed(_("stratified_split should return (train_idx, test_idx)"), got=type(out).__name__)
    return tuple(_indices(a, name, len(y)) for name, a in zip(("train_idx", "test_idx"), out))  # type: ignore


def _indices(value: Any, name: str, n: int) -> np.ndarray:
    """A 1-D array (or list) of integer indices into n examples, as int64; anything else is a failure."""
    try:
        a = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    except (TypeError, ValueError, OverflowError):
        a = None
    if a is None or a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        raise CheckFailed(
            _("{name} should be a 1-D array of integer indices").format(name=name),
            got=f"{a.dtype} {a.shape}" if a is not None else type(value).__name__,
        )
    if a.size and (a.min() < 0 or a.max() >= n):
        raise CheckFailed(
            _("{name} holds indices outside 0 … {last}").format(name=name, last=n - 1),
            got=_("from {low} to {high}").format(low=a.min(), high=a.max()),
        )
    return a.astype(np.int64)


@SPLIT.check(N_("the split holds every index exactly once"), oracle="invariant", twin=True)
def the_split_holds_every_index_exactly_once(ctx: Context) -> None:
    def prop(args: tuple[np.ndarray, float, int]) -> None:
        train, test = _split(ctx, *args)
        both = np.concatenate([train, test])
        if not np.array_equal(np.sort(both), np.arange(len(args[0]))):
            dup = np.intersect1d(train, test)
            raise CheckFailed(
                _("train_idx and test_idx should together hold every index exactly once"),
                input=call_literal("stratified_split", args),
                got=_("{count} indices for {n} examples").format(count=len(both), n=len(args[0]))
                + (_("; in both sets: {indices}").format(indices=dup[:5].tolist()) if dup.size else ""),
                hint=N_("draw without replacement: a permutation, not random integers"),
            )

    ctx.for_all(_split_args(), prop)


@SPLIT.check(N_("every class keeps its proportion in the test set"), oracle="invariant", twin=True)
def every_class_keeps_its_proportion_in_the_test_set(ctx: Context) -> None:
    def prop(args: tuple[np.ndarray, float, int]) -> None:
        y, fraction, _seed = args
        _unused, test = _split(ctx, *args)
        for c in np.unique(y):
            n_c, got = int(np.sum(y == c)), int(np.sum(y[test] == c))
            if abs(got - fraction * n_c) > 1:
                raise CheckFailed(
                    _("class {c} has {got} of its {n_c} examples in the test set").format(c=c, got=got, n_c=n_c),
                    input=call_literal("stratified_split", args),
                    expected=f"round({fraction} · {n_c}) = {round(fraction * n_c)}",
                    got=str(got),
                    hint=N_("split each class separately, then concatenate"),
                )

    ctx.for_all(_split_args(), prop)


@SPLIT.check(N_("the split is random and reproducible"), oracle="invariant", twin=True)
def the_split_is_random_and_reproducible(ctx: Context) -> None:
    def prop(args: tuple[np.ndarray, float, int]) -> None:
        y, fraction, seed = args
        first = _split(ctx, y, fraction, seed)[1]
        if not np.array_equal(np.sort(first), np.sort(_split(ctx, y, fraction, seed)[1])):
            raise CheckFailed(
                _("the same seed gave two different splits"),
                input=call_literal("stratified_split", args),
                hint=N_("use np.random.default_rng(seed), not the global np.random state"),
            )
        others = [np.sort(_split(ctx, y, fraction, s)[1]) for s in range(seed + 1, seed + 4)]
        if all(np.array_equal(np.sort(first), o) for o in others):
            raise CheckFailed(
                _("four different seeds gave the same test set: the split is not random"),
                input=call_literal("stratified_split", args),
                hint=N_("shuffle each class's indices before taking the test examples"),
            )

    ctx.for_all(_split_args(), prop, examples=ctx.few_examples)


# ----------------------------------------------------------------------------- 1c. one-hot
ONE_HOT = exercise(
    "train.one_hot",
    N_("One-hot labels"),
    points=1,
    seed="2.3",
    functions=["one_hot"],
    hint=N_("np.zeros((N, num_classes)), then a 1.0 at [n, y[n]] for every n."),
)


@st.composite
def _one_hot_args(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    classes = draw(st.integers(1, 6))
    return draw(S.labels(draw(S.batch_sizes(1, 8)), classes)), classes


@ONE_HOT.check(N_("one_hot matches the reference"), oracle="reference", twin=True)
def one_hot_matches_the_reference(ctx: Context) -> None:
    def prop(args: tuple[np.ndarray, int]) -> None:
        with failing_input(lambda: call_literal("one_hot", args)):
            assert_close(
                ctx.call("one_hot", *args),
                ctx.reference().one_hot(*args),
                what=_("the one-hot matrix"),
                rtol=0,
                atol=0,
                hint=N_("shape (N, num_classes) even when some classes do not occur"),
            )

    ctx.for_all(_one_hot_args(), prop)


def _torch_one_hot(y: np.ndarray, classes: int) -> np.ndarray:
    import torch

    return torch.nn.functional.one_hot(torch.tensor(y), classes).double().numpy()


def _torch_accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    import torch

    return (torch.tensor(scores).argmax(dim=1) == torch.tensor(y)).double().mean().item()


@ONE_HOT.check(N_("one_hot matches torch"), oracle="torch", twin=True)
@plans.answered
def one_hot_matches_torch(ctx: Context) -> None:

    def prop(args: tuple[np.ndarray, int]) -> None:
        y, classes = args
        expected = ctx.answer(_torch_one_hot, y, classes)
        with failing_input(lambda: call_literal("one_hot", args)):
            assert_close(
                ctx.call("one_hot", *args),
                expected,
                what=_("the one-hot matrix"),
                rtol=0,
                atol=0,
                hint=N_("a float matrix with one row per label"),
            )

    ctx.for_all(_one_hot_args(), prop)


# ----------------------------------------------------------------------------- 1d. minibatches
BATCHES = exercise(
    "train.batches",
    N_("Shuffled minibatches"),
    points=2,
    seed="2.3",
    functions=["minibatches"],
    hint=N_(
        "Draw one permutation of the n row indices from np.random.default_rng(seed), then take consecutive "
        "slices of batch_size from it — the last batch keeps the remainder."
    ),
)
_batch_args = st.tuples(st.integers(1, 60), st.integers(1, 16), st.integers(0, 1000))


def _batches(ctx: Context, n: int, batch_size: int, seed: int) -> list[np.ndarray]:
    out = ctx.call("minibatches", n, batch_size, seed)
    if not isinstance(out, (list, tuple)) or not all(
        isinstance(b, np.ndarray) and b.ndim == 1 and (b.dtype.kind in "iu" or b.size == 0) for b in out
    ):
        raise CheckFailed(
            _("minibatches should return a list of 1-D integer index arrays"),
            input=call_literal("minibatches", (n, batch_size, seed)),
            got=short(out),
        )
    return list(out)


def _order(batches: list[np.ndarray]) -> np.ndarray:
    """The indices of all batches, in order."""
    return np.concatenate(batches).astype(np.int64) if batches else np.zeros(0, dtype=np.int64)


@BATCHES.check(N_("each epoch visits every index once, in batches of batch_size"), oracle="invariant", twin=True)
def each_epoch_visits_every_index_once_in_batches_of_batch_size(ctx: Context) -> None:
    def prop(args: tuple[int, int, int]) -> None:
        n, batch_size, _unused = args
        batches = _batches(ctx, *args)
        sizes = [len(b) for b in batches]
        expected = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
        if sizes != expected:
            raise CheckFailed(
                _("the minibatches have the wrong sizes"),
                input=call_literal("minibatches", args),
                expected=str(expected),
                got=str(sizes),
                hint=N_("full batches of batch_size, then one smaller batch with the rest (never dropped)"),
            )
        everything = _order(batches)
        if not np.array_equal(np.sort(everything), np.arange(n)):
            raise CheckFailed(
                _("the minibatches should hold every index 0 … n−1 exactly once"),
                input=call_literal("minibatches", args),
                got=python_literal(everything[:20]),
                hint=N_("cut one permutation into pieces; do not sample with replacement"),
            )

    ctx.for_all(_batch_args, prop)


@BATCHES.check(N_("the order is shuffled and reproducible"), oracle="invariant", twin=True)
def the_order_is_shuffled_and_reproducible(ctx: Context) -> None:
    def prop(args: tuple[int, int, int]) -> None:
        n, batch_size, seed = args
        first = _order(_batches(ctx, *args))
        again = _order(_batches(ctx, *args))
        if not np.array_equal(first, again):
            raise CheckFailed(
                _("the same seed gave two different orders"),
                input=call_literal("minibatches", args),
                hint=N_("use np.random.default_rng(seed), not the global np.random state"),
            )
        other = _order(_batches(ctx, n, batch_size, seed + 1))
        if np.array_equal(first, np.arange(n)) or np.array_equal(first, other):
            raise CheckFailed(
                _("the indices are not shuffled (or the seed is ignored)"),
                input=call_literal("minibatches", args),
                got=python_literal(first[:20]),
                hint=N_("shuffle with np.random.default_rng(seed).permutation(n) every call"),
            )

    ctx.for_all(st.tuples(st.integers(8, 60), st.integers(1, 16), st.integers(0, 1000)), prop)


# ----------------------------------------------------------------------------- 2–5. the training loop
LOOP = exercise(
    "train.loop",
    N_("The training loop of a two-layer network"),
    points=6,
    seed="2.3",
    functions=["fit"],
    prerequisites=["backprop.mlp", "optim.sgd_momentum", "train.batches"],
    hint=N_(
        "Create the optimizer once over the parameter arrays themselves (it updates them in place); for each "
        "epoch and minibatch: loss, grads = two_layer_loss(...); optimizer.step(grads in the same order)."
    ),
)
#: budget of the training smoke test (the reference reaches 96% in ~0.1 s)
MLP_TRAINING: dict[str, Any] = {
    "classes": 10,
    "hidden": 32,
    "epochs": 10,
    "lr": 0.1,
    "momentum": 0.9,
    "batch_size": 32,
    "seed": 0,
}


@LOOP.check(
    N_("fit records one loss per minibatch step, stepping one optimizer over every parameter"),
    oracle="invariant",
    points=2,
    twin=True,
)
def fit_records_one_loss_per_minibatch_step_stepping_one(ctx: Context) -> None:
    rng = np.random.default_rng(ctx.seed)
    X, y = rng.standard_normal((50, 4)), rng.integers(0, 3, 50)
    kwargs = {"classes": 3, "hidden": 5, "epochs": 3, "lr": 0.05, "momentum": 0.9, "batch_size": 16, "seed": 1}
    T.check_training_process(
        ctx,
        fit="fit",
        loss="two_layer_loss",
        X=X,
        y=y,
        kwargs=kwargs,
        keys=("W1", "b1", "W2", "b2"),
        optimizer=T.sgd(ctx, kwargs),
    )


@LOOP.check(N_("the trained network classifies held-out digits (>= 90%)"), oracle="training", points=3, timeout=60)
def the_trained_network_classifies_held_out_digits_90(ctx: Context) -> None:
    (Xtr, ytr, Xte, yte), data = T.classification_data(ctx)  # the digits, or MNIST if DEEPGRADE_MNIST is set
    params, losses = T.expect_pair(ctx.call("fit", Xtr, ytr, **MLP_TRAINING), "fit")
    ref = ctx.reference()
    curve = T.expect_losses(losses, "fit")
    d, h, c = Xtr.shape[1], MLP_TRAINING["hidden"], MLP_TRAINING["classes"]
    params = T.expect_params(params, {"W1": (d, h), "b1": (h,), "W2": (h, c), "b2": (c,)}, "fit")
    T.record(ctx, curve, "fit", Xtr, ytr, **MLP_TRAINING)  # after the checks of form: it trains
    T.assert_loss_goes_down(curve, "fit")
    T.assert_accuracy(
        ctx, lambda X: ref.mlp_predict(params, X), Xte, yte, 0.9, _("the network trained on {data}").format(data=data)
    )


# ----------------------------------------------------------------------------- 6. evaluation
EVALUATE = exercise(
    "train.evaluate",
    N_("Accuracy"),
    points=1,
    seed="2.3",
    functions=["accuracy"],
    hint=N_("np.mean(np.argmax(scores, axis=1) == y): the fraction of rows whose largest score is the label."),
)


@st.composite
def _accuracy_args(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n, c = draw(S.batch_sizes(1, 8)), draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(S.seeds()))
    scores = np.stack([rng.permutation(c) + rng.uniform(0, 0.5, c) for _ in range(n)]) - c / 2  # no ties
    y = np.where(rng.random(n) < 0.6, scores.argmax(axis=1), rng.integers(0, c, n)).astype(np.int64)
    return scores, y


@EVALUATE.check(N_("accuracy matches the reference"), oracle="reference", twin=True)
def accuracy_matches_the_reference(ctx: Context) -> None:
    def prop(args: tuple[np.ndarray, np.ndarray]) -> None:
        with failing_input(lambda: call_literal("accuracy", args)):
            assert_close(
                ctx.call("accuracy", *args),
                ctx.reference().accuracy(*args),
                what=_("the accuracy"),
                rtol=1e-12,
                atol=0,
                hint=N_("a fraction in [0, 1], the argmax taken along each row"),
            )

    ctx.for_all(_accuracy_args(), prop)


@EVALUATE.check(N_("accuracy matches torch"), oracle="torch", twin=True)
@plans.answered
def accuracy_matches_torch(ctx: Context) -> None:

    def prop(args: tuple[np.ndarray, np.ndarray]) -> None:
        scores, y = args
        expected = ctx.answer(_torch_accuracy, scores, y)
        with failing_input(lambda: call_literal("accuracy", args)):
            assert_close(
                ctx.call("accuracy", *args),
                expected,
                what=_("the accuracy"),
                rtol=1e-12,
                atol=0,
                hint=N_("a fraction in [0, 1], the argmax taken along each row"),
            )

    ctx.for_all(_accuracy_args(), prop)


# ----------------------------------------------------------------------------- IDX files (MNIST)
IDX = exercise(
    "train.idx",
    N_("Read IDX files (MNIST's format), gzip or not"),
    points=2,
    seed="2.3",
    functions=["load_idx"],
    hint=N_(
        "Header: 0, 0, type byte, ndim byte, then ndim big-endian uint32 sizes; data big-endian. "
        "Decompress first when the file starts with 1f 8b."
    ),
)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(array: np.ndarray, code: int, compress: bool = False) -> bytes:
    """The IDX encoding of ``array`` with type byte ``code`` (the test files the checks write)."""
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    raw = header + np.ascontiguousarray(array, dtype=_IDX_TYPES[code]).tobytes()
    return gzip.compress(raw, mtime=0) if compress else raw


@returns(ANY)
def train_read_idx(student: Any, data: Any, name: str) -> Any:
    """Worker side: write the bytes to ``name`` in a fresh folder and return ``load_idx(path)``."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        with open(path, "wb") as fh:
            fh.write(data.tobytes())
        return student("train").load_idx(path)


@st.composite
def _idx_case(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    code = draw(st.sampled_from(sorted(_IDX_TYPES)))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    rng = np.random.default_rng(draw(S.seeds()))
    dtype = np.dtype(_IDX_TYPES[code])
    values: np.ndarray
    if dtype.kind == "f":
        values = rng.standard_normal(shape) * 100
    else:
        info = np.iinfo(dtype)
        values = rng.integers(info.min, int(info.max) + 1, shape)
    return values.astype(dtype.newbyteorder("=")), code


def _idx_check(ctx: Context, compress: bool, name: str) -> None:
    """load_idx on files written (gzip-compressed or not) under ``name``, which may or may not say ``.gz``."""

    def prop(case: tuple[np.ndarray, int]) -> None:
        expected, code = case
        blob = np.frombuffer(idx_bytes(expected, code, compress), dtype=np.uint8)
        got = ctx.drive(train_read_idx, blob, name)
        what = (
            _("load_idx on a gzip-compressed IDX file of {dtype} {shape} named {name}")
            if compress
            else _("load_idx on an IDX file of {dtype} {shape} named {name}")
        ).format(dtype=expected.dtype, shape=expected.shape, name=repr(name))
        if (
            not isinstance(got, np.ndarray)
            or got.shape != expected.shape
            or got.dtype.kind != expected.dtype.kind
            or got.dtype.itemsize != expected.dtype.itemsize
        ):
            raise CheckFailed(
                _("{what} returned the wrong shape or dtype").format(what=what),
                expected=f"{expected.dtype} {expected.shape}",
                got=f"{got.dtype} {got.shape}" if isinstance(got, np.ndarray) else type(got).__name__,
                hint=N_("the type byte (raw[2]) gives the dtype, raw[3] the number of dimensions"),
            )
        if not np.array_equal(got, expected):
            bad = tuple(int(i) for i in np.argwhere(got != expected)[0])
            raise CheckFailed(
                _("{what} returned the wrong values").format(what=what),
                worst_index=str(bad),
                expected=repr(expected[bad]),
                got=repr(got[bad]),
                hint=N_("IDX data is big-endian: read it with a '>' dtype"),
            )

    ctx.for_all(_idx_case(), prop, examples=max(6, ctx.examples // 2))


@IDX.check(N_("load_idx reads IDX files of every type and rank"), oracle="known", twin=True)
def load_idx_reads_idx_files_of_every_type_and_rank(ctx: Context) -> None:
    _idx_check(ctx, compress=False, name="data-idx")


@IDX.check(N_("load_idx reads gzip-compressed IDX files"), oracle="known", twin=True)
def load_idx_reads_gzip_compressed_idx_files(ctx: Context) -> None:
    _idx_check(ctx, compress=True, name="data-idx.gz")


def _by_content(ctx: Context, compress: bool, name: str) -> None:
    """A file whose name lies about its compression: only the first bytes (1f 8b) tell."""
    try:
        _idx_check(ctx, compress, name)
    except CheckFailed as exc:  # the name is what misleads here, whatever the first symptom was
        exc.details.hint = N_("decide by the first two bytes (1f 8b means gzip), not by the file name")
        raise CheckFailed(exc.summary, exc.details) from None


@IDX.check(
    N_("load_idx detects gzip by its first bytes, not the name (gzip named without .gz)"), oracle="known", twin=True
)
def load_idx_detects_gzip_by_its_first_bytes_not_the_name_gzip(ctx: Context) -> None:
    _by_content(ctx, compress=True, name="train-images-idx3-ubyte")


@IDX.check(
    N_("load_idx detects gzip by its first bytes, not the name (plain file named .gz)"), oracle="known", twin=True
)
def load_idx_detects_gzip_by_its_first_bytes_not_the_name_plain(ctx: Context) -> None:
    _by_content(ctx, compress=False, name="train-images-idx3-ubyte.gz")
