"""Part 10 — the seed's PyTorch program (seed 5.2): ``Net``, the training loop it leaves out, ``evaluate``.

The grader decides: the worker trains and sends back the state_dict as numpy arrays; the grader loads them
into the seed's ``Net`` in its own process and measures accuracy on held-out digits the worker never sees.

``train`` and ``evaluate`` are graded with the seed's ``Net`` (and, for ``evaluate``, its loader) as the
drivers build them from the public specification in ``_pytorch_seed.py``, never with reference code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grader.checks.compare import assert_close, real_array
from grader.checks.context import Context, NoReference
from grader.checks.digits import digits_784
from grader.checks.failure import CheckFailed
from grader.checks.replies import (
    ARRAY,
    BOOL,
    INT,
    NONE,
    NUMBER,
    STR,
    dict_of,
    fields,
    list_of,
    one_of,
    returns,
    tuple_of,
)
from grader.checks.torchdevice import as_device_failure, devices_agree, guard_source, run_reference
from grader.i18n import N_, _
from grader.isolation.worker.client import StudentError
from grader.registry import exercise

SEED = Path(__file__).resolve().with_name("_pytorch_seed.py")

SHAPES = {"fc1.weight": (128, 784), "fc1.bias": (128,), "fc2.weight": (10, 128), "fc2.bias": (10,)}
MIN_ACCURACY = 0.90
EPOCHS = 5


@lru_cache(maxsize=1)
def seed_source() -> str:
    """The seed's Net and loader as text, for a driver to ``exec`` in the worker."""
    return SEED.read_text()


def seed_module() -> ModuleType:
    """The same, imported in the grader (imports torch)."""
    return importlib.import_module("grader.exercises._pytorch_seed")


# ------------------------------------------------------------------ worker-side drivers (sent as source)
_RUN = fields(losses=list_of(NUMBER), state=dict_of(ARRAY))


@returns(dict_of(list_of(INT)))
def _param_shapes(student: Callable[[str], Any]) -> dict:
    return {k: list(v.shape) for k, v in student("pytorch").Net().named_parameters()}


@returns(dict_of(ARRAY, required=("cpu",)))
def _net_forward(student: Callable[[str], Any], weights: dict, X: np.ndarray) -> dict:
    """Logits of Net with the given weights, on the CPU and (when there is one) on CUDA."""
    import torch

    mod = student("pytorch")
    out = {}
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        net = mod.Net()
        net.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
        net.to(device)
        with torch.no_grad():
            out[device] = net(torch.as_tensor(X, device=device)).detach().cpu().numpy()
    return out


@returns(dict_of(one_of(ARRAY, NONE)))
def _net_grads(student: Callable[[str], Any], weights: dict, X: np.ndarray, y: np.ndarray) -> dict:
    """Every parameter's .grad (None where backward left none) after one backward of the cross-entropy of the
    student's Net, with the given weights, on (X, y)."""
    import torch

    torch.set_num_threads(1)
    net = student("pytorch").Net()
    net.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
    net.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(net(torch.as_tensor(X)), torch.as_tensor(y)).backward()
    return {k: None if p.grad is None else p.grad.detach().cpu().numpy() for k, p in net.named_parameters()}


@returns(tuple_of(one_of(STR, list_of(INT)), STR))
def _on_meta(student: Callable[[str], Any], guard: str, spec: str, what: str, X: np.ndarray, y: np.ndarray) -> tuple:
    """Run the student's Net.forward (strict), or train or evaluate (host reads allowed) with the seed's Net, on
    torch's meta device."""
    import torch

    ns: dict = {"__name__": "_deepgrade_guard"}
    exec(guard, ns)
    public: dict = {"__name__": "_deepgrade_seed"}
    exec(spec, public)
    mod = student("pytorch")
    if what == "forward":
        model = mod.Net()
        with ns["DeviceGuard"](host_reads=False):
            out = model.to("meta")(torch.as_tensor(X, device="meta"))
        return list(out.shape), out.device.type
    model = public["Net"]()
    loader = public["loader"](X, y, batch_size=16)
    with ns["DeviceGuard"](host_reads=True):
        if what == "train":
            mod.train(model, loader, epochs=1, device="meta")
        else:
            mod.evaluate(model, loader, device="meta")
    return [p.device.type for p in model.parameters()][0], "ok"


@returns(list_of(tuple_of(BOOL, BOOL)))
def _modes(student: Callable[[str], Any], spec: str, what: str, X: np.ndarray, y: np.ndarray) -> list:
    """(model.training, grad enabled) at every forward call of train or evaluate (with the seed's Net), started
    in the other mode."""
    import torch

    public: dict = {"__name__": "_deepgrade_seed"}
    exec(spec, public)
    mod = student("pytorch")
    torch.manual_seed(0)
    model = public["Net"]()
    seen = []
    model.register_forward_pre_hook(lambda m, args: seen.append((bool(m.training), torch.is_grad_enabled())))
    loader = public["loader"](X, y, batch_size=16)
    if what == "train":  # two epochs: a monitoring pass that leaves eval mode on shows in the second
        model.eval()
        mod.train(model, loader, epochs=2, device="cpu")
    else:
        model.train()
        mod.evaluate(model, loader, device="cpu")
    return seen


@returns(_RUN)
def _train_steps(
    student: Callable[[str], Any], spec: str, weights: dict, X: np.ndarray, y: np.ndarray, epochs: int
) -> dict:
    """train() of the seed's Net from the given weights on an unshuffled loader; the losses and the weights
    afterwards."""
    import torch

    torch.set_num_threads(1)
    public: dict = {"__name__": "_deepgrade_seed"}
    exec(spec, public)
    mod = student("pytorch")
    net = public["Net"]()
    net.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
    losses = mod.train(net, mod.make_loader(X, y, batch_size=16, shuffle=False), epochs=epochs, device="cpu")
    return {
        "losses": [float(v) for v in losses],
        "state": {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()},
    }


_OPTIMIZER = fields(kind=STR, params=list_of(STR), lrs=list_of(NUMBER))


@returns(
    fields(
        optimizers=list_of(_OPTIMIZER),
        steps=list_of(INT),
        forwards=list_of(INT),
        changed=list_of(STR),
        params=list_of(STR),
    )
)
def _train_process(
    student: Callable[[str], Any], spec: str, weights: dict, X: np.ndarray, y: np.ndarray, epochs: int, lr: float
) -> dict:
    """train() of the seed's Net (given weights, the seed's loader in batches of 16), instrumented: every
    torch.optim optimizer built during the call (its class, the parameters it holds by name, its lrs), the
    batch size of the last forward with autograd on before each optimizer step, the batch size of every such
    forward, and which parameters changed."""
    import torch

    torch.set_num_threads(1)
    public: dict = {"__name__": "_deepgrade_seed"}
    exec(spec, public)
    mod = student("pytorch")
    net = public["Net"]()
    net.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
    names = {id(p): k for k, p in net.named_parameters()}
    before = {k: p.detach().clone() for k, p in net.named_parameters()}
    optimizers, steps, forwards = [], [], []

    def on_forward(module: Any, args: tuple) -> None:
        if torch.is_grad_enabled() and args and hasattr(args[0], "shape") and len(args[0].shape) > 0:
            forwards.append(int(args[0].shape[0]))

    def on_step(optimizer: Any, args: Any, kwargs: Any) -> None:
        steps.append(forwards[-1] if forwards else 0)

    original = torch.optim.Optimizer.__init__

    def recording_init(self: Any, params: Any, defaults: Any, *args: Any, **kwargs: Any) -> None:
        original(self, params, defaults, *args, **kwargs)
        optimizers.append(
            {
                "kind": type(self).__name__,
                "params": [
                    names.get(id(p), "a tensor not in the model")
                    for group in self.param_groups
                    for p in group["params"]
                ],
                "lrs": [float(group.get("lr", float("nan"))) for group in self.param_groups],
            }
        )
        self.register_step_post_hook(on_step)

    hook = net.fc1.register_forward_pre_hook(on_forward)  # on fc1: a call of model.forward(xb) is seen too
    setattr(torch.optim.Optimizer, "__init__", recording_init)  # noqa: B010 - a method, patched for this run
    try:
        mod.train(net, public["loader"](X, y, batch_size=16), epochs=epochs, device="cpu", lr=lr)
    finally:
        setattr(torch.optim.Optimizer, "__init__", original)  # noqa: B010
        hook.remove()
    return {
        "optimizers": optimizers,
        "steps": steps,
        "forwards": forwards,
        "params": list(before),
        "changed": [k for k, p in net.named_parameters() if not torch.equal(p.detach().cpu(), before[k])],
    }


_BATCHES = fields(sizes=list_of(INT), dtypes=list_of(STR), x=ARRAY, y=ARRAY)


@returns(fields(plain=_BATCHES, shuffled=_BATCHES, again=_BATCHES))
def _loader_batches(student: Callable[[str], Any], X: np.ndarray, y: np.ndarray, seed: int) -> dict:
    import numpy as np

    mod = student("pytorch")
    out = {}
    for name, shuffle in (("plain", False), ("shuffled", True), ("again", True)):
        batches = list(mod.make_loader(X, y, batch_size=16, shuffle=shuffle, seed=seed))
        out[name] = {
            "sizes": [int(b[1].shape[0]) for b in batches],
            "dtypes": sorted({str(b[0].dtype) for b in batches} | {str(b[1].dtype) for b in batches}),
            "x": np.concatenate([b[0].numpy() for b in batches]),
            "y": np.concatenate([b[1].numpy() for b in batches]),
        }
    return out


@returns(dict_of(_RUN, required=("cpu",)))
def _train_digits(
    student: Callable[[str], Any], spec: str, X: np.ndarray, y: np.ndarray, epochs: int, seed: int, cuda: bool = True
) -> dict:
    """The seed's program on the training split: per device, the loss per epoch and the trained weights."""
    import torch

    torch.set_num_threads(1)  # tiny matrices: more threads only contend (measured: 2 threads are slower)
    public: dict = {"__name__": "_deepgrade_seed"}
    exec(spec, public)
    mod = student("pytorch")
    out = {}
    for device in ["cpu"] + (["cuda"] if cuda and torch.cuda.is_available() else []):
        torch.manual_seed(seed)
        net = public["Net"]()
        losses = mod.train(
            net, mod.make_loader(X, y, batch_size=64, shuffle=True, seed=seed), epochs=epochs, device=device
        )
        out[device] = {
            "losses": [float(v) for v in losses],
            "state": {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()},
        }
    return out


# ------------------------------------------------------------------ grader-side helpers
def _random_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {k: (rng.standard_normal(s) / np.sqrt(s[-1])).astype(np.float32) for k, s in SHAPES.items()}


def _on_meta_check(ctx: Context, what: str, label: str) -> None:
    rng = ctx.rng
    X = rng.random((32, 784), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    try:
        got = ctx.drive(_on_meta, guard_source(), seed_source(), what, X, y)
    except StudentError as exc:
        raise as_device_failure(exc, label) from None
    if what == "forward" and got != ([32, 10], "meta"):
        raise CheckFailed(
            _("{label} on the meta device returned the wrong shape or device").format(label=label),
            expected="([32, 10], 'meta')",
            got=repr(got)[:200],
        )
    if what == "train" and got[0] != "meta":
        raise CheckFailed(
            _("{label} left the model on {device}").format(label=label, device=str(got[0])[:40]),
            hint=N_("call model.to(device) in train"),
        )


_REFERENCE_LOSSES: list[float] = []


def _reference_losses(ctx: Context) -> list[float]:
    """The reference's loss curve on the training split (trained once per course and kept with the check's plans
    by ``run_reference``, and kept here once read; empty without the reference)."""
    if not _REFERENCE_LOSSES:
        X_train, y_train, _x_test, _y_test = digits_784()
        try:
            run = run_reference(ctx, "pytorch", _train_digits, seed_source(), X_train, y_train, EPOCHS, 0, False)
        except NoReference:
            return []
        _REFERENCE_LOSSES.extend(run["cpu"]["losses"])
    return list(_REFERENCE_LOSSES)


def _seed_net(state: dict[str, Any], device: str) -> Any:
    """The seed's Net, in the grader, with the weights trained on ``device``; a failure if they do not fit."""
    import torch

    arrays = {k: real_array(v, _("the trained {k} ({device})").format(k=k, device=device)) for k, v in state.items()}
    net = seed_module().Net()
    try:
        net.load_state_dict({k: torch.as_tensor(v.astype(np.float32)) for k, v in arrays.items()})
    except (RuntimeError, TypeError, ValueError) as exc:
        raise CheckFailed(
            _("the weights trained on {device} do not fit the seed's Net").format(device=device),
            got=str(exc).splitlines()[0][:300],
        ) from None
    return net


def _accuracy(net: Any, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of ``X`` that ``net`` classifies as ``y``, computed in the grader."""
    import torch

    net.eval()
    with torch.no_grad():
        predicted = net(torch.as_tensor(X, dtype=torch.float32)).argmax(dim=1).numpy()
    return float(np.mean(predicted == y))


# ------------------------------------------------------------------ exercises
NET = exercise(
    "pytorch.net",
    N_("The seed's Net (784 → 128 ReLU → 10)"),
    points=3,
    seed="5.2",
    functions=["Net"],
    hint=N_(
        "fc1 = nn.Linear(784, 128), fc2 = nn.Linear(128, 10); forward returns fc2(relu(fc1(x))) — logits, "
        "no softmax: nn.CrossEntropyLoss applies log-softmax itself."
    ),
)


@NET.check(N_("Net has the seed's layers"), oracle="known", points=0.5)
def net_has_the_seed_s_layers(ctx: Context) -> None:
    got = {k: tuple(v) for k, v in ctx.drive(_param_shapes).items()}
    if got != SHAPES:
        raise CheckFailed(
            _("Net's parameters are not the seed's"),
            expected=repr(SHAPES),
            got=repr(got),
            hint=N_("two layers named fc1 and fc2: nn.Linear(784, 128) and nn.Linear(128, 10)"),
        )


@NET.check(N_("Net.forward matches the reference"), oracle="reference", points=1.5)
def net_forward_matches_the_reference(ctx: Context) -> None:
    rng = ctx.rng
    weights = _random_weights(rng)
    for n in (1, 7, 64):
        X = rng.random((n, 784), dtype=np.float32)
        expected = run_reference(ctx, "pytorch", _net_forward, weights, X)["cpu"]
        for device, got in ctx.drive(_net_forward, weights, X).items():
            assert_close(
                real_array(got, _("Net(x) on {device}").format(device=device)),
                expected.astype(np.float64),
                what=_("Net(x) on {device} for a batch of {n}").format(device=device, n=n),
                rtol=1e-4,
                atol=1e-4,
                hint=N_("return the logits fc2(relu(fc1(x))); a softmax here is applied twice by nn.CrossEntropyLoss"),
            )


def _seed_grads(weights: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """The same backward with the seed's Net, in the grader: the gradients the student's Net must give."""
    import torch

    net = seed_module().Net()
    net.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
    torch.nn.functional.cross_entropy(net(torch.as_tensor(X)), torch.as_tensor(y)).backward()
    return {k: p.grad.numpy().astype(np.float64) for k, p in net.named_parameters()}


@NET.check(N_("Net's parameter gradients after one backward match the seed's Net"), oracle="torch", points=1)
def net_s_parameter_gradients_after_one_backward_match_the_seed(ctx: Context) -> None:
    rng = ctx.rng
    weights = _random_weights(rng)
    X, y = rng.random((16, 784), dtype=np.float32), rng.integers(0, 10, 16)
    got = ctx.drive(_net_grads, weights, X, y)
    cut = N_(
        "a .data, .detach(), .item() or a round trip through numpy inside forward cuts the autograd graph: "
        "keep every step of fc2(relu(fc1(x))) a torch operation on the tensors themselves"
    )
    for k, expected in _seed_grads(weights, X, y).items():
        if k not in got:
            raise CheckFailed(_("Net has no parameter {k}").format(k=k), hint=N_("two layers named fc1 and fc2"))
        if got[k] is None:
            raise CheckFailed(
                _(
                    "after loss.backward() the parameter {k} of Net has no gradient: forward cuts the graph before it"
                ).format(k=k),
                expected=_("a gradient of shape {shape}").format(shape=expected.shape),
                got="None",
                hint=cut,
            )
        assert_close(
            real_array(got[k], f"{k}.grad"),
            expected,
            what=_("{k}.grad after one backward of the cross-entropy of 16 samples").format(k=k),
            rtol=1e-4,
            atol=1e-6,
            hint=cut,
        )


@NET.check(N_("Net.forward stays on the input's device"), oracle="invariant", points=1)
def net_forward_stays_on_the_input_s_device(ctx: Context) -> None:
    _on_meta_check(ctx, "forward", "Net.forward")


TRAIN = exercise(
    "pytorch.train",
    N_("The training loop the seed leaves out"),
    points=5,
    seed="5.2",
    functions=["make_loader", "train"],
    hint=N_(
        "model.to(device); model.train(); per batch: xb, yb = xb.to(device), yb.to(device); "
        "optimizer.zero_grad(); loss = criterion(model(xb), yb); loss.backward(); optimizer.step()."
    ),
)


#: make_loader's own hint: the exercise's hint is about the training loop, which is not what failed
_LOADER_HINT = N_(
    "a DataLoader over TensorDataset(torch.as_tensor(X, dtype=torch.float32), "
    "torch.as_tensor(y, dtype=torch.int64)) with batch_size=batch_size"
)


@TRAIN.check(N_("make_loader batches every sample once"), oracle="known", points=0.5)
def make_loader_batches_every_sample_once(ctx: Context) -> None:
    rng = ctx.rng
    X, y = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    got = ctx.drive(_loader_batches, X, y, 3)
    plain, shuffled, again = got["plain"], got["shuffled"], got["again"]
    if plain["sizes"] != [16, 16, 8] or plain["dtypes"] != ["torch.float32", "torch.int64"]:
        raise CheckFailed(
            _("make_loader(X, y, batch_size=16) gives the wrong batches"),
            expected=_("sizes [16, 16, 8] of float32 images and int64 labels"),
            got=_("sizes {sizes}, dtypes {dtypes}").format(sizes=plain["sizes"], dtypes=plain["dtypes"]),
            hint=_LOADER_HINT,
        )
    if not (np.array_equal(plain["x"], X) and np.array_equal(plain["y"], y)):
        raise CheckFailed(
            _("make_loader(..., shuffle=False) changed the order or the values of the samples"),
            hint=N_("pass shuffle=shuffle to the DataLoader and keep X and y as given (float32, int64)"),
        )
    if not np.array_equal(np.sort(shuffled["y"], axis=None), np.sort(y)) or np.array_equal(shuffled["y"], y):
        raise CheckFailed(
            _("make_loader(..., shuffle=True) must yield every sample once, in a shuffled order"),
            hint=N_("let DataLoader(..., shuffle=True) reorder the samples; do not sample them yourself"),
        )
    if not np.array_equal(shuffled["y"], again["y"]):
        raise CheckFailed(
            _("make_loader(..., shuffle=True, seed=3) gives a different order each time"),
            hint=N_("pass generator=torch.Generator().manual_seed(seed) to the DataLoader"),
        )


@TRAIN.check(N_("train matches the reference from the same weights"), oracle="reference", points=1.5)
def train_matches_the_reference_from_the_same_weights(ctx: Context) -> None:
    rng = ctx.rng
    weights = _random_weights(rng)
    X, y = rng.random((48, 784), dtype=np.float32), rng.integers(0, 10, 48)
    expected = run_reference(ctx, "pytorch", _train_steps, seed_source(), weights, X, y, 2)
    got = ctx.drive(_train_steps, seed_source(), weights, X, y, 2)
    hint = N_("CrossEntropyLoss on the logits (no softmax), Adam(lr=1e-3), zero_grad before every backward")
    assert_close(
        np.asarray(got["losses"], dtype=np.float64),
        np.asarray(expected["losses"]),
        what=_("the mean loss of each epoch"),
        rtol=1e-4,
        atol=1e-5,
        hint=hint,
    )
    for k, v in expected["state"].items():
        if k not in got["state"]:
            raise CheckFailed(
                _("the weight {k} is missing after train").format(k=k), hint=N_("train the model you are given")
            )
        assert_close(
            real_array(got["state"][k], k),
            v.astype(np.float64),
            what=_("{k} after two epochs").format(k=k),
            rtol=1e-3,
            atol=1e-5,
            hint=hint,
        )


_PROCESS_EPOCHS, _PROCESS_LR, _PROCESS_N = 2, 4e-3, 40  # batches of 16: [16, 16, 8] per epoch


def _process(ctx: Context) -> tuple[dict, int, int, float]:
    rng = ctx.rng
    X, y = rng.random((_PROCESS_N, 784), dtype=np.float32), rng.integers(0, 10, _PROCESS_N)
    got = ctx.drive(_train_process, seed_source(), _random_weights(rng), X, y, _PROCESS_EPOCHS, _PROCESS_LR)
    return got, _PROCESS_EPOCHS, -(-_PROCESS_N // 16), _PROCESS_LR


@TRAIN.check(
    N_("train builds one optimizer over all the model's parameters with the given lr"), oracle="invariant", points=0.75
)
def train_builds_one_optimizer_over_all_the_model_s_parameters(ctx: Context) -> None:
    got, epochs, batches, lr = _process(ctx)
    optimizers, steps = got["optimizers"], len(got["steps"])
    once = N_("build the optimizer once, before the epoch loop: torch.optim.Adam(model.parameters(), lr=lr)")
    if not optimizers:
        raise CheckFailed(_("train built no torch.optim optimizer"), hint=once)
    if len(optimizers) > 1:
        # one built before the loop may precede those built in it
        when = {
            epochs: _(" (one per epoch)"),
            epochs + 1: _(" (one per epoch)"),
            steps: _(" (one per step)"),
            steps + 1: _(" (one per step)"),
        }.get(len(optimizers), "")
        raise CheckFailed(
            _(
                "train built {count} optimizers for {epochs} epochs of {batches} batches{when}: "
                "each new Adam starts its moment estimates again from zero"
            ).format(count=len(optimizers), epochs=epochs, batches=batches, when=when),
            expected=_("1 optimizer"),
            got=f"{len(optimizers)} ({optimizers[0]['kind']})",
            hint=once,
        )
    (optimizer,) = optimizers
    held, params = optimizer["params"], got["params"]
    if sorted(held) != sorted(params):
        missing = [k for k in params if k not in held]
        raise CheckFailed(
            _("the optimizer does not hold exactly the model's parameters"),
            expected=", ".join(params),
            got=", ".join(held)[:300] or _("no parameters"),
            hint=(_("{missing} never get updated: ").format(missing=", ".join(missing)) if missing else "")
            + _("pass model.parameters() (all of them, once) to the optimizer"),
        )
    if any(abs(v - lr) > 1e-9 * lr for v in optimizer["lrs"]):
        raise CheckFailed(
            _("train(..., lr={lr}) built its optimizer with another learning rate").format(lr=f"{lr:g}"),
            expected=f"lr={lr:g}",
            got=", ".join(f"lr={v:g}" for v in optimizer["lrs"]),
            hint=N_("use the lr argument: torch.optim.Adam(model.parameters(), lr=lr)"),
        )


@TRAIN.check(N_("train takes one optimizer step per minibatch in every epoch"), oracle="invariant", points=0.75)
def train_takes_one_optimizer_step_per_minibatch_in_every_epoch(ctx: Context) -> None:
    got, epochs, batches, _unused = _process(ctx)
    steps, largest = got["steps"], max(got["forwards"], default=0)
    expected = [16] * (batches - 1) + [_PROCESS_N - 16 * (batches - 1)]
    what = _("{epochs} epochs over a loader of {batches} batches ({n} samples, batch_size=16)").format(
        epochs=epochs, batches=batches, n=_PROCESS_N
    )
    if largest > 16:
        raise CheckFailed(
            _("train ran the model with autograd on {largest} samples at once, for {what}").format(
                largest=largest, what=what
            ),
            expected=_("forward passes on the loader's minibatches of at most 16"),
            got=_("a forward pass on {largest} samples").format(largest=largest),
            hint=N_("loop over the loader and take a step on each minibatch, not on the whole dataset"),
        )
    if steps != expected * epochs:
        if len(steps) == batches:
            hint = N_("run the loop over the loader once per epoch: for epoch in range(epochs): for xb, yb in loader")
        elif len(steps) == epochs:
            hint = N_("call optimizer.step() inside the loop over the batches, once per batch, not once per epoch")
        else:
            hint = N_(
                "for epoch in range(epochs), for every batch of the loader: zero_grad, forward, loss, "
                "backward, one optimizer.step()"
            )
        raise CheckFailed(
            _("train took {count} optimizer steps for {what}").format(count=len(steps), what=what),
            expected=_("{count} steps, on batches of {sizes}").format(count=epochs * batches, sizes=expected * epochs),
            got=_("{count} steps").format(count=len(steps))
            + (_(", after forwards on batches of {sizes}").format(sizes=steps)[:300] if steps else ""),
            hint=hint,
        )
    unchanged = [k for k in got["params"] if k not in got["changed"]]
    if unchanged:
        raise CheckFailed(
            _("{names} did not change in {count} optimizer steps").format(
                names=", ".join(unchanged), count=epochs * batches
            ),
            hint=N_(
                "backward the loss of the model's output and step an optimizer over "
                "model.parameters(); do not reload or reset the weights"
            ),
        )


@TRAIN.check(N_("train puts the model in training mode"), oracle="invariant", points=0.5)
def train_puts_the_model_in_training_mode(ctx: Context) -> None:
    rng = ctx.rng
    seen = ctx.drive(_modes, seed_source(), "train", rng.random((32, 784), dtype=np.float32), rng.integers(0, 10, 32))
    # only the forwards that build a graph train the model: a monitoring pass under torch.no_grad() in eval
    # mode is allowed (and good practice), so forwards without autograd are not judged
    learning = [training for training, grad in seen if grad]
    if not learning:
        raise CheckFailed(
            _("train never ran the model with autograd enabled"),
            hint=N_("compute the training loss outside torch.no_grad(), then loss.backward()"),
        )
    if not all(learning):
        raise CheckFailed(
            _("train ran the model in evaluation mode for a training step"),
            hint=N_(
                "call model.train() before each epoch's training batches: evaluate() or a "
                "monitoring pass may have left the model in eval mode"
            ),
        )


@TRAIN.check(N_("train stays on the given device"), oracle="invariant", points=1)
def train_stays_on_the_given_device(ctx: Context) -> None:
    _on_meta_check(ctx, "train", "train")


@TRAIN.check(N_("trained Net reaches 90% on held-out digits"), oracle="training", points=1.5, timeout=60)
def trained_net_reaches_90_on_held_out_digits(ctx: Context) -> None:
    X_train, y_train, X_test, y_test = digits_784()
    runs = ctx.drive(_train_digits, seed_source(), X_train, y_train, EPOCHS, 0)
    nets = {device: _seed_net(run["state"], device) for device, run in runs.items()}  # the weights fit
    for device, run in runs.items():
        ctx.record_curve("loss" if device == "cpu" else f"loss ({device})", run["losses"])
    reference_curve = _reference_losses(ctx)
    if reference_curve:
        ctx.record_curve("reference loss", reference_curve)
    accuracies = {}
    for device, net in nets.items():
        accuracies[device] = acc = _accuracy(net, X_test, y_test)
        if not acc >= MIN_ACCURACY:
            raise CheckFailed(
                _("after {epochs} epochs on {device} the Net is right on {acc} of held-out digits").format(
                    epochs=EPOCHS, device=device, acc=f"{acc:.1%}"
                ),
                expected=f">= {MIN_ACCURACY:.0%}",
                got=f"{acc:.1%}",
                hint=N_("check the loss goes down: zero_grad, backward, step for every batch"),
            )
    devices_agree(accuracies, _("held-out accuracy"))


EVALUATE = exercise(
    "pytorch.evaluate",
    N_("evaluate: accuracy in eval mode"),
    points=2,
    seed="5.2",
    functions=["evaluate"],
    hint=N_(
        "model.eval(); with torch.no_grad(): count (model(xb).argmax(dim=1) == yb) over all batches, "
        "divide by the number of samples."
    ),
)


@returns(NUMBER)
def _evaluate_with(student: Callable[[str], Any], spec: str, weights: dict, X: np.ndarray, y: np.ndarray) -> float:
    """evaluate() of the seed's Net with the given weights, on the seed's loader (batches of 16, in order)."""
    import torch

    public: dict = {"__name__": "_deepgrade_seed"}
    exec(spec, public)
    net = public["Net"]()
    net.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
    return float(student("pytorch").evaluate(net, public["loader"](X, y, batch_size=16), device="cpu"))


@EVALUATE.check(N_("evaluate matches the reference"), oracle="reference", points=1)
def evaluate_matches_the_reference(ctx: Context) -> None:
    rng = ctx.rng
    weights = _random_weights(rng)
    for n in (1, 37, 50):
        X = rng.random((n, 784), dtype=np.float32)
        logits = run_reference(ctx, "pytorch", _net_forward, weights, X)["cpu"]
        y = np.where(rng.random(n) < 0.6, logits.argmax(1), rng.integers(0, 10, n)).astype(np.int64)
        expected = run_reference(ctx, "pytorch", _evaluate_with, seed_source(), weights, X, y)
        got = ctx.drive(_evaluate_with, seed_source(), weights, X, y)
        assert_close(
            got,
            expected,
            what=_("the accuracy on {n} samples").format(n=n),
            rtol=0,
            atol=1e-6,
            hint=_evaluate_hint(got, expected, n),
        )


def _evaluate_hint(got: float, expected: float, n: int) -> str:
    """The hint for a wrong accuracy, from how it is wrong: only a count divided by something other than
    the number of samples is told to divide by the number of samples."""
    correct, batches = round(expected * n), -(-n // 16)
    if any(abs(got - correct / d) < 1e-6 for d in (batches, batches * 16, 16)) or got > 1:
        return N_("divide the number of correct predictions by the number of samples, not of batches")
    return N_("the prediction is model(xb).argmax(dim=1), one per sample, compared with yb")


@EVALUATE.check(N_("evaluate runs in eval mode without autograd"), oracle="invariant", points=0.5)
def evaluate_runs_in_eval_mode_without_autograd(ctx: Context) -> None:
    rng = ctx.rng
    seen = ctx.drive(
        _modes, seed_source(), "evaluate", rng.random((32, 784), dtype=np.float32), rng.integers(0, 10, 32)
    )
    if not seen:
        raise CheckFailed(_("evaluate never called the model"))
    if any(training for training, _ in seen):
        raise CheckFailed(_("evaluate ran the model in training mode"), hint=N_("call model.eval() first"))
    if any(grad for _, grad in seen):
        raise CheckFailed(_("evaluate ran the model with autograd on"), hint=N_("wrap the loop in torch.no_grad()"))


@EVALUATE.check(N_("evaluate stays on the given device"), oracle="invariant", points=0.5)
def evaluate_stays_on_the_given_device(ctx: Context) -> None:
    _on_meta_check(ctx, "evaluate", "evaluate")
