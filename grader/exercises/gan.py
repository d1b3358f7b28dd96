"""Part 9 — GANs (seed 2.2): the two losses and their gradients (numpy), one adversarial step and a
whole training run (torch).  The grader samples the trained generator itself: the worker sends back only
the generator's weights, which are loaded into the reference architecture in the grader's process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.checks import strategies as S
from grader.checks.compare import assert_close, real_array, short
from grader.checks.context import Context
from grader.checks.failure import CheckFailed, call_literal, failing_input
from grader.checks.gradcheck import check_vjp
from grader.checks.replies import ARRAY, INT, NUMBER, STR, dict_of, fields, list_of, returns, tuple_of
from grader.checks.standard import named
from grader.checks.torchdevice import as_device_failure, guard_source, run_reference
from grader.i18n import N_, _
from grader.isolation.worker.client import StudentError
from grader.registry import Exercise, exercise

#: The target: an even mixture of N(−2, 0.5²) and N(2, 0.5²).
MODES, MODE_STD = (-2.0, 2.0), 0.5
#: What a trained generator must show (a distributional test, calibrated by benchmarks/calibrate.py, see
#: docs/benchmarks.md): each mode's side of 0 holds at least MIN_MODE_MASS of the samples (the target: 1/2;
#: mode collapse: 0), and at least MIN_NEAR of them lie within NEAR of a mode (the target: 95%; a single wide
#: Gaussian with the target's mean and std: 48%; an untrained G: about 0).  The mean and std it replaces
#: rejected the reference at some seeds: a GAN after 600 steps has its modes in slightly wrong places.
MIN_MODE_MASS, MIN_NEAR, NEAR = 0.25, 0.6, 2 * MODE_STD
STEPS = 600

# ------------------------------------------------------------------ part 1: the losses (numpy)
LOSSES = exercise(
    "gan.losses",
    N_("Discriminator and (non-saturating) generator losses"),
    points=4,
    seed="2.2",
    functions=["discriminator_loss", "generator_loss"],
    hint=N_(
        "−log σ(x) = np.logaddexp(0, −x) and −log(1 − σ(x)) = np.logaddexp(0, x). "
        "Gradients: ∂/∂r = (σ(r) − 1)/N, ∂/∂f = σ(f)/M for L_D; ∂L_G/∂f = (σ(f) − 1)/M."
    ),
)

_logits = S.arrays(st.tuples(S.batch_sizes()), lo=-8.0, hi=8.0)
_extreme = S.arrays(st.tuples(S.batch_sizes()), lo=-1000.0, hi=1000.0)
_LOSS_FUNCTIONS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "discriminator_loss": (st.tuples(_logits, _logits), ("d_real", "d_fake")),
    "generator_loss": (st.tuples(_logits), ("d_fake",)),
}


def _torch_loss(name: str, args: tuple[np.ndarray, ...]) -> tuple[float, list[np.ndarray]]:
    """The loss by F.binary_cross_entropy_with_logits and its gradients by autograd."""
    import torch
    import torch.nn.functional as F

    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args]
    if name == "discriminator_loss":
        real, fake = ts
        loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(
            fake, torch.zeros_like(fake)
        )
    else:
        loss = F.binary_cross_entropy_with_logits(ts[0], torch.ones_like(ts[0]))
    return float(loss.detach()), [g.numpy() for g in torch.autograd.grad(loss, ts)]


def _returned(got: Any, name: str, names: tuple[str, ...]) -> Any:
    """The student's ``(loss, *grads)``, or a failure saying what came back."""
    if not (isinstance(got, (tuple, list)) and len(got) == 1 + len(names)):
        raise CheckFailed(
            _("{name} should return (loss, {grads})").format(name=name, grads=", ".join(names)), got=short(got)
        )
    return got


def _compare(
    got: Any,
    loss: float,
    grads: list[np.ndarray],
    name: str,
    names: tuple[str, ...],
    args: tuple[Any, ...],
    rtol: float,
    atol: float,
) -> None:
    _returned(got, name, names)
    with failing_input(lambda: call_literal(name, args)):
        assert_close(got[0], loss, what=_("the loss of {name}").format(name=name), rtol=rtol, atol=atol)
        for g, e, n in zip(got[1:], grads, names):
            assert_close(
                g,
                e,
                what=_("the gradient {name}").format(name=n),
                rtol=rtol,
                atol=atol,
                hint=N_("the loss is a mean: divide each gradient by its batch size"),
            )


def _loss_checks(ex: Exercise, name: str) -> None:
    strategy, names = _LOSS_FUNCTIONS[name]

    @ex.check(f"{name} matches the reference", oracle="reference")
    def matches_the_reference(ctx: Context) -> None:
        def prop(args: tuple[np.ndarray, ...]) -> None:
            loss, *grads = getattr(ctx.reference(), name)(*args)
            _compare(ctx.call(name, *args), loss, grads, name, names, args, 1e-7, 1e-10)

        ctx.for_all(strategy, prop)

    @ex.check(f"{name} matches torch", oracle="torch")
    def matches_torch(ctx: Context) -> None:
        def prop(args: tuple[np.ndarray, ...]) -> None:
            loss, grads = _torch_loss(name, args)
            _compare(ctx.call(name, *args), loss, grads, name, names, args, 1e-7, 1e-10)

        ctx.for_all(strategy, prop)

    @ex.check(f"{name} passes the gradient check", oracle="numerical", points=2)
    def passes_the_gradient_check(ctx: Context) -> None:
        batched = ctx.batched(name, pick=0)

        def prop(args: tuple[np.ndarray, ...]) -> None:
            got = _returned(ctx.call(name, *args), name, names)
            with failing_input(lambda: call_literal(name, args)):
                check_vjp(
                    batched,
                    list(args),
                    np.asarray(1.0),
                    list(got[1:]),
                    names,
                    rtol=1e-5,
                    atol=1e-8,
                    hint=N_("differentiate the *mean*: each entry's gradient carries a 1/N"),
                )

        ctx.for_all(strategy, prop)

    @ex.check(named("{function} is finite on extreme logits", name), oracle="invariant", points=0.5)
    def is_finite_on_extreme_logits(ctx: Context) -> None:
        def prop(args: tuple[np.ndarray, ...]) -> None:
            got = ctx.call(name, *args)
            loss, *grads = getattr(ctx.reference(), name)(*args)
            _compare(got, loss, grads, name, names, args, 1e-6, 1e-9)

        ctx.for_all(st.tuples(*[_extreme] * len(names)), prop, examples=ctx.few_examples)


_loss_checks(LOSSES, "discriminator_loss")
_loss_checks(LOSSES, "generator_loss")


@LOSSES.check(N_("generator_loss is non-saturating"), oracle="known")
def generator_loss_is_non_saturating(ctx: Context) -> None:
    """When D confidently rejects the fakes (logit −10), L_G ≈ 10 and its gradient stays ≈ −1/M."""
    f = np.full(4, -10.0)
    got = _returned(ctx.call("generator_loss", f), "generator_loss", ("d_fake",))
    expected_loss, expected_grad = float(np.logaddexp(0, 10.0)), np.full(4, -1.0 / (1.0 + np.exp(-10.0)) / 4)
    hint = N_(
        "the minimax form mean log(1 − σ(f)) saturates: its gradient vanishes exactly when D wins. "
        "Minimise −mean log σ(f) instead"
    )
    assert_close(got[0], expected_loss, what=_("generator_loss at logits −10"), rtol=1e-6, atol=0, hint=hint)
    assert_close(got[1], expected_grad, what=_("its gradient at logits −10"), rtol=1e-6, atol=0, hint=hint)


# ------------------------------------------------------------------ worker-side drivers (sent as source)
@returns(fields(losses=list_of(tuple_of(NUMBER, NUMBER)), state=dict_of(ARRAY)))
def _adversarial_steps(student: Callable[[str], Any], weights: dict, reals: list, zs: list, lr: float) -> dict:
    """train_step from the given weights for each (real, z); the losses and every weight afterwards."""
    import torch

    torch.set_num_threads(1)
    mod = student("gan")
    G, D = mod.make_generator(), mod.make_discriminator()
    G.load_state_dict({k[2:]: torch.as_tensor(v) for k, v in weights.items() if k.startswith("G.")})
    D.load_state_dict({k[2:]: torch.as_tensor(v) for k, v in weights.items() if k.startswith("D.")})
    adam: dict[str, Any] = {"lr": lr, "betas": (0.5, 0.999)}  # the settings the exercise states
    opt_g, opt_d = torch.optim.Adam(G.parameters(), **adam), torch.optim.Adam(D.parameters(), **adam)
    losses = []
    for real, z in zip(reals, zs):
        d_loss, g_loss = mod.train_step(G, D, opt_g, opt_d, torch.as_tensor(real), torch.as_tensor(z))
        losses.append((float(d_loss), float(g_loss)))
    state = {"G." + k: v.detach().cpu().numpy() for k, v in G.state_dict().items()}
    state.update({"D." + k: v.detach().cpu().numpy() for k, v in D.state_dict().items()})
    return {"losses": losses, "state": state}


@returns(STR)
def _gan_on_meta(student: Callable[[str], Any], guard: str, what: str, data: Any) -> str:
    """train_step or train_gan on torch's meta device, under the device guard."""
    import torch

    ns: dict = {"__name__": "_deepgrade_guard"}
    exec(guard, ns)
    mod = student("gan")
    with ns["DeviceGuard"](host_reads=True):
        if what == "step":
            G, D = mod.make_generator().to("meta"), mod.make_discriminator().to("meta")
            opt_g, opt_d = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
            mod.train_step(
                G, D, opt_g, opt_d, torch.zeros(8, 1, device="meta"), torch.zeros(8, mod.LATENT_DIM, device="meta")
            )
        else:
            G, _ = mod.train_gan(data, steps=3, batch_size=8, device="meta")
    return "ok"


@returns(dict_of(fields(state=dict_of(ARRAY), losses=list_of(tuple_of(NUMBER, NUMBER))), required=("cpu",)))
def _train_gan(student: Callable[[str], Any], data: Any, steps: int, seed: int) -> dict:
    """train_gan on the CPU and (when there is one) on CUDA; the generator's weights and the losses."""
    import torch

    torch.set_num_threads(1)
    mod = student("gan")
    out = {}
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        G, losses = mod.train_gan(data, steps=steps, seed=seed, device=device)
        out[device] = {
            "state": {k: v.detach().cpu().numpy() for k, v in G.state_dict().items()},
            "losses": [(float(a), float(b)) for a, b in losses],
        }
    return out


_OPT = fields(index=INT, params=list_of(STR), lrs=list_of(NUMBER), betas=list_of(list_of(NUMBER)))


@returns(
    fields(
        calls=list_of(fields(real=ARRAY, z=ARRAY, opt_g=_OPT, opt_d=_OPT)), g_params=list_of(STR), d_params=list_of(STR)
    )
)
def _train_gan_process(
    student: Callable[[str], Any], data: Any, steps: int, batch_size: int, lr: float, seed: int
) -> dict:
    """train_gan with the module's train_step wrapped: each call's real batch and noise, and the optimizers it
    was given (which object, by first appearance; the parameters they hold, by network and name; lr, betas)."""
    import inspect

    import torch

    torch.set_num_threads(1)
    mod = student("gan")
    original = mod.train_step
    calls: list = []
    seen: list = []  # the optimizer objects, kept alive so that a new one cannot take an old one's id
    nets: dict = {}

    def describe(opt: Any, G: Any, D: Any) -> dict:
        names = {id(p): "G." + k for k, p in G.named_parameters()}
        names.update({id(p): "D." + k for k, p in D.named_parameters()})
        if not any(opt is o for o in seen):
            seen.append(opt)
        groups = getattr(opt, "param_groups", [])
        return {
            "index": next(i for i, o in enumerate(seen) if o is opt),
            "params": [names.get(id(p), "a tensor of neither network") for g in groups for p in g["params"]],
            "lrs": [float(g.get("lr", float("nan"))) for g in groups],
            "betas": [[float(b) for b in g.get("betas", ())] for g in groups],
        }

    signature = inspect.signature(original)

    def recording_step(*args: Any, **kwargs: Any) -> Any:
        # train_step(G, D, opt_g, opt_d, real, z), however train_gan passes them (by position or by name)
        try:
            values = list(signature.bind(*args, **kwargs).arguments.values())
        except TypeError:  # the call is wrong: train_step itself says so below
            values = []
        if len(values) < 6:  # a train_step(*args) or a wrong call
            values = list(args) + list(kwargs.values())
        if len(values) < 6:
            return original(*args, **kwargs)
        G, D, opt_g, opt_d, real, z = values[:6]
        nets.setdefault("G", [k for k, _ in G.named_parameters()])
        nets.setdefault("D", [k for k, _ in D.named_parameters()])
        calls.append(
            {
                "real": torch.as_tensor(real).detach().cpu().numpy().copy(),
                "z": torch.as_tensor(z).detach().cpu().numpy().copy(),
                "opt_g": describe(opt_g, G, D),
                "opt_d": describe(opt_d, G, D),
            }
        )
        return original(*args, **kwargs)

    mod.train_step = recording_step
    try:
        mod.train_gan(data, steps=steps, batch_size=batch_size, lr=lr, seed=seed, device="cpu")
    finally:
        mod.train_step = original
    return {
        "calls": calls,
        "g_params": ["G." + k for k in nets.get("G", [])],
        "d_params": ["D." + k for k in nets.get("D", [])],
    }


# ------------------------------------------------------------------ part 2: one adversarial step
STEP = exercise(
    "gan.step",
    N_("One adversarial training step (torch)"),
    points=4,
    seed="2.2",
    functions=["train_step"],
    hint=N_(
        "D first: zero_grad, BCE(D(real), 1) + BCE(D(G(z).detach()), 0), backward, step. Then G: zero_grad, "
        "BCE(D(G(z)), 1) through the *updated* D, backward, step. Labels with torch.ones_like(logits)."
    ),
)


def _weights(ctx: Context) -> dict[str, np.ndarray]:
    """Initial weights of G and D from torch's own initialisation, drawn in the grader."""
    import torch

    ref = ctx.reference("gan")
    torch.manual_seed(ctx.seed % 2**31)
    state = {"G." + k: v.numpy().copy() for k, v in ref.make_generator().state_dict().items()}
    state.update({"D." + k: v.numpy().copy() for k, v in ref.make_discriminator().state_dict().items()})
    return state


def _on_meta(ctx: Context, what: str, label: str, data: Any = None) -> None:
    try:
        ctx.drive(_gan_on_meta, guard_source(), what, data)
    except StudentError as exc:
        raise as_device_failure(exc, label) from None


def _steps_input(ctx: Context, lr: float) -> str:
    """The three steps of the check below as Python a student can paste (weights: torch's initialisation
    under the same seed, which a generator and discriminator built as stated reproduce)."""
    return (
        f"import numpy as np, torch; torch.manual_seed({ctx.seed % 2**31}); "
        "G, D = make_generator(), make_discriminator(); "
        f"opt_g, opt_d = [torch.optim.Adam(m.parameters(), lr={lr}, betas=(0.5, 0.999)) for m in (G, D)]; "
        f"rng = np.random.default_rng({ctx.seed}); "
        "reals = [torch.as_tensor(rng.normal(2.0, 0.5, (16, 1)).astype(np.float32)) for _ in range(3)]; "
        "zs = [torch.as_tensor(rng.standard_normal((16, 4)).astype(np.float32)) for _ in range(3)]; "
        "print([train_step(G, D, opt_g, opt_d, r, z) for r, z in zip(reals, zs)])"
    )


@STEP.check(N_("train_step matches the reference from the same weights"), oracle="reference", points=3)
def train_step_matches_the_reference_from_the_same_weights(ctx: Context) -> None:
    try:
        _same_steps(ctx)
    except CheckFailed as exc:
        raise exc.with_input(_steps_input(ctx, 1e-2)) from None
    except StudentError as exc:
        label = "\n" + _("input:")
        if label in exc.message:
            raise
        raise StudentError(exc.kind, f"{exc.message}{label} {_steps_input(ctx, 1e-2)}", fatal=exc.fatal) from None


def _same_steps(ctx: Context) -> None:
    rng = ctx.rng
    weights = _weights(ctx)
    reals = [rng.normal(2.0, 0.5, (16, 1)).astype(np.float32) for _ in range(3)]
    zs = [rng.standard_normal((16, 4)).astype(np.float32) for _ in range(3)]
    expected = run_reference(ctx, "gan", _adversarial_steps, weights, reals, zs, 1e-2)
    got = ctx.drive(_adversarial_steps, weights, reals, zs, 1e-2)
    hint = N_(
        "three steps in a row: zero both optimizers' gradients, detach G(z) for D's loss, "
        "and use the non-saturating BCE(D(G(z)), 1) for G"
    )
    assert_close(
        np.asarray(got["losses"], dtype=np.float64).reshape(-1, 2),
        np.asarray(expected["losses"]),
        what=_("(d_loss, g_loss) of each step"),
        rtol=1e-4,
        atol=1e-6,
        hint=hint,
    )
    for k, v in expected["state"].items():
        if k not in got["state"]:
            raise CheckFailed(_("the weight {k} is missing after train_step").format(k=k))
        assert_close(
            real_array(got["state"][k], k),
            v.astype(np.float64),
            what=_("{k} after three steps").format(k=k),
            rtol=1e-3,
            atol=1e-5,
            hint=hint,
        )


@STEP.check(N_("train_step stays on the given device"), oracle="invariant", points=1)
def train_step_stays_on_the_given_device(ctx: Context) -> None:
    _on_meta(ctx, "step", "train_step")


# ------------------------------------------------------------------ part 3: a GAN that learns a mixture
TRAIN = exercise(
    "gan.train",
    N_("A GAN that learns a 1-D mixture of Gaussians"),
    points=4,
    seed="2.2",
    functions=["train_gan"],
    hint=N_(
        "torch.manual_seed(seed); build G and D on device; Adam(lr, betas=(0.5, 0.999)) each; every step a "
        "random real batch and z = torch.randn(batch, LATENT_DIM, device=device), then train_step."
    ),
)


def target_samples(n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of the target mixture, shape (n, 1), float32."""
    centres = np.asarray(MODES)[rng.integers(0, len(MODES), n)]
    return (centres + MODE_STD * rng.standard_normal(n)).astype(np.float32).reshape(n, 1)


def sample_generator(ctx: Context, state: dict[str, np.ndarray], n: int = 4000) -> np.ndarray:
    """Load the worker's weights into the reference generator (in the grader) and draw n samples."""
    import torch

    ref = ctx.reference("gan")
    G = ref.make_generator()
    arrays = {k: real_array(v, _("the trained {k}").format(k=k)).astype(np.float32) for k, v in state.items()}
    try:
        G.load_state_dict({k: torch.as_tensor(v) for k, v in arrays.items()})
    except (RuntimeError, TypeError, ValueError) as exc:
        raise CheckFailed(
            _("train_gan did not return the generator of make_generator()"), got=str(exc).splitlines()[0]
        ) from None
    z = np.random.default_rng(12345).standard_normal((n, ref.LATENT_DIM)).astype(np.float32)
    with torch.no_grad():
        return G(torch.as_tensor(z)).numpy().ravel().astype(np.float64)


def margins(samples: np.ndarray) -> dict[str, float]:
    """How far inside its threshold each statistic of the samples is (negative: rejected); the check's
    criterion, shared with benchmarks/calibrate.py."""
    positive = float(np.mean(samples > 0))
    near = float(np.mean(np.min(np.abs(samples[:, None] - np.asarray(MODES)[None, :]), axis=1) <= NEAR))
    return {
        "smaller mode's mass - 0.25": min(positive, 1.0 - positive) - MIN_MODE_MASS,
        "mass near the modes - 0.6": near - MIN_NEAR,
    }


def _modes_check(samples: np.ndarray, device: str) -> None:
    positive = float(np.mean(samples > 0))
    got = margins(samples)
    if min(got.values()) >= 0:
        return
    near = got["mass near the modes - 0.6"] + MIN_NEAR
    raise CheckFailed(
        _("after {steps} steps on {device} the generator's samples miss the target's two modes").format(
            steps=STEPS, device=device
        ),
        expected=_(
            "at least {mass} of the samples on each side of 0, at least {near} within {distance} of −2 or +2"
        ).format(mass=f"{MIN_MODE_MASS:.0%}", near=f"{MIN_NEAR:.0%}", distance=f"{NEAR:g}"),
        got=_("{below} below 0, {above} above; {near} near a mode (mean {mean}, std {std})").format(
            below=f"{1 - positive:.0%}",
            above=f"{positive:.0%}",
            near=f"{near:.0%}",
            mean=f"{samples.mean():+.2f}",
            std=f"{samples.std():.2f}",
        ),
        hint=N_(
            "one mode only is mode collapse, nothing near the modes an untrained G: check that "
            "G's optimizer holds G's parameters and that L_G is the non-saturating loss"
        ),
    )


#: A GAN collapses onto one mode at some seeds, the reference too (2 of 40 seeds at 600 steps, see
#: docs/benchmarks.md): the check accepts when one of RUNS seeded runs learns both modes.  Runs after the
#: first happen only after a failure; an implementation that never learns fails them all.
RUNS, RUN_SEEDS = 3, 1000


def run_seeds(base: int = 0) -> list[int]:
    """The training seeds of the check's runs (benchmarks/calibrate.py varies ``base``)."""
    return [base + RUN_SEEDS * k for k in range(RUNS)]


@TRAIN.check(N_("generated samples match the target's two modes"), oracle="training", points=3, timeout=60)
def generated_samples_match_the_target_s_two_modes(ctx: Context) -> None:
    data = target_samples(2000, np.random.default_rng(0))
    failure = None
    for seed in run_seeds():
        runs = ctx.drive(_train_gan, data, STEPS, seed)
        try:
            for device, run in runs.items():  # every device on its own: their RNG streams differ, so do their runs
                losses = np.asarray(run["losses"], dtype=np.float64).reshape(-1, 2)  # (d_loss, g_loss) pairs
                ctx.record_curve("loss" if device == "cpu" else f"loss ({device})", losses[:, 1])
                ctx.record_curve(
                    "discriminator loss" if device == "cpu" else f"discriminator loss ({device})", losses[:, 0]
                )
                _modes_check(sample_generator(ctx, run["state"]), device)
            return
        except CheckFailed as exc:
            failure = exc
    assert failure is not None
    failure.summary = _("{summary} (in each of {runs} runs, seeds {seeds})").format(
        summary=failure.summary, runs=RUNS, seeds=", ".join(map(str, run_seeds()))
    )
    raise CheckFailed(failure.summary, failure.details)


_PROCESS_STEPS, _PROCESS_BATCH, _PROCESS_LR = 6, 8, 3e-3
LATENT_DIM = 4  # gan.py's given constant: z has shape (batch_size, LATENT_DIM)


def _gan_process(ctx: Context) -> tuple[dict, np.ndarray]:
    data = target_samples(64, ctx.rng)
    return ctx.drive(_train_gan_process, data, _PROCESS_STEPS, _PROCESS_BATCH, _PROCESS_LR, 7), data


def _call_count(got: dict) -> None:
    n = len(got["calls"])
    if n != _PROCESS_STEPS:
        raise CheckFailed(
            _("train_gan(data, steps={steps}) called train_step {n} times").format(steps=_PROCESS_STEPS, n=n),
            expected=_("{steps} calls, one per step").format(steps=_PROCESS_STEPS),
            got=_("{n} calls").format(n=n),
            hint=N_(
                "for each of the `steps` steps call train_step(G, D, opt_g, opt_d, real, z) "
                "(the module's train_step, not a copy of its code)"
            ),
        )


@TRAIN.check(N_("train_gan draws fresh noise and real samples every step"), oracle="invariant", points=0.75)
def train_gan_draws_fresh_noise_and_real_samples_every_step(ctx: Context) -> None:
    got, data = _gan_process(ctx)
    _call_count(got)
    calls, n, latent = got["calls"], _PROCESS_BATCH, LATENT_DIM
    for i, call in enumerate(calls):
        z, real = real_array(call["z"], "z"), real_array(call["real"], "real")
        if z.shape != (n, latent):
            raise CheckFailed(
                _("step {i} got noise z of shape {shape}").format(i=i, shape=z.shape),
                expected=f"({n}, {latent})",
                hint=N_("noise of shape (batch_size, LATENT_DIM) from the standard normal, on the device"),
            )
        if real.shape != (n, 1):
            raise CheckFailed(
                _("step {i} got a real batch of shape {shape}").format(i=i, shape=real.shape),
                expected=f"({n}, 1)",
                hint=N_("batch_size rows of data, shape (batch_size, 1)"),
            )
        if not np.isin(real.astype(np.float32).ravel(), np.asarray(data, dtype=np.float32).ravel()).all():
            raise CheckFailed(
                _("step {i}'s real batch holds values that are not samples of data").format(i=i),
                hint=N_("index the given data (real_all[idx]); do not transform or generate it"),
            )
    for what, key, hint in (
        (
            _("noise z"),
            "z",
            N_(
                "draw new standard-normal noise z inside the loop, every step: "
                "one fixed z lets G learn only a few points"
            ),
        ),
        (
            _("real batch"),
            "real",
            N_(
                "draw new random indices into data every step (torch.randint inside the "
                "loop): D sees only one fixed batch otherwise"
            ),
        ),
    ):
        for i in range(1, len(calls)):
            for j in range(i):
                if np.array_equal(calls[i][key], calls[j][key]):
                    raise CheckFailed(
                        _("train_gan gave train_step the same {what} at steps {j} and {i}").format(what=what, j=j, i=i),
                        hint=hint,
                    )
    zs = np.concatenate([real_array(c["z"], "z").ravel() for c in calls])
    if not (abs(zs.mean()) < 0.4 and 0.7 < zs.std() < 1.3):
        raise CheckFailed(
            _("the noise z does not look like N(0, I)"),
            expected=_("mean 0, std 1"),
            got=_("mean {mean}, std {std} over {count} values").format(
                mean=f"{zs.mean():+.2f}", std=f"{zs.std():.2f}", count=zs.size
            ),
            hint=N_("z = torch.randn(...), the standard normal (not torch.rand, the uniform)"),
        )


@TRAIN.check(N_("train_gan keeps one Adam per network over all its parameters"), oracle="invariant", points=0.75)
def train_gan_keeps_one_adam_per_network_over_all_its_parameters(ctx: Context) -> None:
    got, _unused = _gan_process(ctx)
    _call_count(got)
    calls = got["calls"]
    adam = _("torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999)), and the same for D")
    for net, key in (("G", "opt_g"), ("D", "opt_d")):
        objects = sorted({c[key]["index"] for c in calls})
        if len(objects) > 1:
            raise CheckFailed(
                _(
                    "train_gan gave train_step {count} different optimizers for {net} in {steps} steps: "
                    "a new Adam starts its moments from zero"
                ).format(count=len(objects), net=net, steps=len(calls)),
                expected=_("the same optimizer every step"),
                got=_("{count} optimizers").format(count=len(objects)),
                hint=_("build both optimizers once, before the loop: {adam}").format(adam=adam),
            )
        first = calls[0][key]
        held, params = first["params"], got["g_params" if net == "G" else "d_params"]
        if sorted(held) != sorted(params):
            missing = [k for k in params if k not in held]
            raise CheckFailed(
                _("{net}'s optimizer (opt_{lower}) does not hold exactly {net}'s parameters").format(
                    net=net, lower=net.lower()
                ),
                expected=", ".join(params),
                got=", ".join(held)[:300] or _("no parameters"),
                hint=(_("{missing} never get updated: ").format(missing=", ".join(missing)) if missing else "")
                + _("pass {net}.parameters() (all of them, and only them): {adam}").format(net=net, adam=adam),
            )
        if any(abs(v - _PROCESS_LR) > 1e-9 for v in first["lrs"]):
            raise CheckFailed(
                _("train_gan(..., lr={lr}) built {net}'s optimizer with another lr").format(
                    lr=f"{_PROCESS_LR:g}", net=net
                ),
                expected=f"lr={_PROCESS_LR:g}",
                got=", ".join(f"lr={v:g}" for v in first["lrs"]),
                hint=_("use the lr argument: {adam}").format(adam=adam),
            )
        if any(len(b) != 2 or abs(b[0] - 0.5) > 1e-9 or abs(b[1] - 0.999) > 1e-9 for b in first["betas"]):
            raise CheckFailed(
                _("{net}'s optimizer does not have betas=(0.5, 0.999)").format(net=net),
                expected="betas=(0.5, 0.999)",
                got=short(first["betas"]),
                hint=_("Adam's default β1 = 0.9 makes GAN training oscillate; {adam}").format(adam=adam),
            )


@TRAIN.check(N_("train_gan stays on the given device"), oracle="invariant", points=1)
def train_gan_stays_on_the_given_device(ctx: Context) -> None:
    _on_meta(ctx, "train", "train_gan", target_samples(64, ctx.rng))
