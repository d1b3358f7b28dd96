"""The one registry of exercises.

An exercise is declared once, in ``grader/exercises/<part>.py``, next to its checks::

    SIGMOID = exercise("neuron.sigmoid", "Sigmoid and its backward", points=2,
                       functions=["sigmoid_forward", "sigmoid_backward"], hint="...")

    @SIGMOID.check("forward matches the reference", oracle="reference")
    def _(ctx): ...

Every module in ``grader/exercises`` is imported on first use and registers itself; the curriculum
order is the order of ``PARTS`` and, inside a part, the order of declaration.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from grader.i18n import N_, _

#: A check function, ``fn(ctx)``; registering one returns it unchanged.
CheckFn = TypeVar("CheckFn", bound=Callable[..., None])
Oracle = Literal["reference", "torch", "numerical", "invariant", "known", "training"]
ORACLES: tuple[str, ...] = ("reference", "torch", "numerical", "invariant", "known", "training")
#: Oracles that compare the student's values with the truth on drawn inputs.  The others (a gradient check
#: against the student's own forward, no mutation, finiteness, a handful of recorded answers) are also met
#: by code that computes nothing or looks answers up, so they are gated on these (``grader.runner.gate``).
VALUE_ORACLES: tuple[str, ...] = ("reference", "torch", "training")

#: The curriculum, in the order of the seed tutorial.  A part is one module of ``assignments/``.
PARTS: tuple[str, ...] = (
    "neuron",
    "losses",
    "backprop",
    "autograd",
    "optim",
    "train",
    "cnn",
    "rnn",
    "gan",
    "pytorch",
    "keras_model",
)

#: The seed tutorial's sections an exercise's ``seed`` names, by number, with their titles (marked for
#: translation: a hint shows them in the student's language, in the tutorial's own words in Chinese).
SECTIONS: dict[str, str] = {
    "2.1": N_("artificial neural networks"),
    "2.2": N_("deep learning models"),
    "2.3": N_("the training process"),
    "3.1": N_("gradient descent"),
    "3.2": N_("the backpropagation algorithm"),
    "3.3": N_("optimizers"),
    "4.1": N_("the neuron model"),
    "4.2": N_("loss functions"),
    "4.3": N_("the gradient descent formula"),
    "5.1": N_("building a neural network with TensorFlow"),
    "5.2": N_("building a neural network with PyTorch"),
}

#: Libraries that would compute a numpy-only part's answer for the student (see ``grader.isolation.policy``).
_NUMPY_ONLY: tuple[str, ...] = ("torch", "scipy", "sklearn", "tensorflow", "jax", "keras")
#: Per part: (forbidden top-level packages, allowed sub-modules of them).  The grader loads the digits and
#: hands them to the worker, so no numpy-only part needs anything from these packages (they are absent).
FORBIDDEN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    part: (_NUMPY_ONLY, ()) for part in ("neuron", "losses", "backprop", "autograd", "optim", "train", "cnn", "rnn")
}

#: A hidden twin draws this many times the examples of its public check (unless its exercise sets a budget of
#: its own: ``exercise(..., hidden_examples=k)``), on shapes this many times larger.
HIDDEN_EXAMPLES, HIDDEN_SCALE = 3, 2
HIDDEN_SUFFIX = " [hidden]"


@dataclass(frozen=True)
class Check:
    """One graded property of an exercise.  ``run(ctx)`` returns normally when it holds."""

    name: str
    run: Callable[..., None]  # fn(ctx): ctx is a grader.checks.context.Context (which imports this module)
    oracle: Oracle
    points: float = 1.0
    hidden: bool = False
    timeout: float = 10.0
    #: the checks (public names) that must pass for this one to score; None: the default by oracle (gate_of)
    requires: tuple[str, ...] | None = None


@dataclass
class Exercise:
    """An exercise: the functions a student writes and the checks that grade them."""

    id: str
    title: str
    points: float
    functions: tuple[str, ...]
    prerequisites: tuple[str, ...] = ()
    hint: str = ""
    seed: str = ""
    requires: tuple[str, ...] = ()  # optional Python packages the exercise needs (e.g. "keras")
    #: its hidden twins draw this many times the examples of their public checks (the hidden budget)
    hidden_examples: int = HIDDEN_EXAMPLES
    checks: list[Check] = field(default_factory=list)

    @property
    def part(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def forbidden(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(packages the submission may not import, allowed sub-modules of them) for this exercise's part."""
        return FORBIDDEN.get(self.part, ((), ()))

    def check(
        self,
        name: str,
        *,
        oracle: Oracle,
        points: float = 1.0,
        hidden: bool = False,
        timeout: float = 10.0,
        twin: bool = False,
        requires: Iterable[str] | None = None,
    ) -> Callable[[CheckFn], CheckFn]:
        """Decorator: register ``fn(ctx)`` as a check of this exercise.

        ``twin=True`` also registers its hidden twin ``"<name> [hidden]"``: the same property run by
        ``grade`` (never by ``check``) with another seed, :attr:`hidden_examples` times the examples and
        shapes scaled by :data:`HIDDEN_SCALE` (see :class:`grader.checks.context.Context`).

        ``requires`` names the checks that must pass for this one to score (see :meth:`gate_of`).
        """
        if oracle not in ORACLES:
            raise ValueError(f"unknown oracle {oracle!r}; use one of {', '.join(ORACLES)}")

        needs = None if requires is None else tuple(requires)

        def register(fn: CheckFn) -> CheckFn:
            self.add(Check(name, fn, oracle, points, hidden, timeout, requires=needs))
            if twin and not hidden:
                self.add(Check(name + HIDDEN_SUFFIX, fn, oracle, points, True, timeout * HIDDEN_SCALE, requires=needs))
            return fn

        return register

    def add(self, check: Check) -> None:
        if any(c.name == check.name for c in self.checks):
            raise ValueError(f"{self.id} already has a check named {check.name!r}")
        self.checks.append(check)

    def gate_of(self, check: Check) -> tuple[tuple[str, ...], bool]:
        """(checks, every one needed?): what must pass for ``check`` to score.

        A check that a do-nothing or look-up solution also passes (oracle not in :data:`VALUE_ORACLES`)
        scores only when its ``requires`` all pass, or, if it declares none, when at least one of the
        exercise's value checks passes; a value check is never gated unless it says so.  Required checks
        that did not run (no ``solutions/``, an ``only`` filter) are left out; see ``grader.runner.gate``.
        """
        if check.requires is not None:
            return check.requires, True
        if check.oracle in VALUE_ORACLES:
            return (), True
        return tuple(c.name for c in self.checks if not c.hidden and c.oracle in VALUE_ORACLES), False

    def check_points(self, check: Check, *, hidden: bool = True, reference: bool = True) -> float:
        """Points of one check: the exercise's points shared in proportion to the weights of the checks that
        run (without ``hidden``, the public ones; without ``reference``, those not needing solutions/)."""
        total = sum(
            c.points for c in self.checks if (hidden or not c.hidden) and (reference or c.oracle != "reference")
        )
        return self.points * check.points / total if total else 0.0


_EXERCISES: dict[str, Exercise] = {}
_loaded = False


def exercise(
    id: str,
    title: str,
    *,
    points: float,
    functions: Iterable[str],
    prerequisites: Iterable[str] = (),
    hint: str = "",
    seed: str = "",
    requires: Iterable[str] = (),
    hidden_examples: int = HIDDEN_EXAMPLES,
) -> Exercise:
    """Declare an exercise (called at import time of its module in ``grader/exercises``).

    ``hidden_examples``: its hidden twins draw that many times the examples of their public checks (the
    exercise's hidden budget; larger shapes and other seeds either way, see :meth:`Exercise.check`).
    """
    part = id.split(".", 1)[0]
    if "." not in id or part not in PARTS:
        raise ValueError(f"exercise id {id!r} must be '<part>.<name>' with part in {PARTS}")
    if not (isinstance(hidden_examples, int) and hidden_examples >= 1):
        raise ValueError(f"{id}: hidden_examples must be a whole number >= 1, not {hidden_examples!r}")
    if id in _EXERCISES:
        raise ValueError(f"exercise {id!r} is declared twice")
    ex = Exercise(
        id, title, points, tuple(functions), tuple(prerequisites), hint, seed, tuple(requires), hidden_examples
    )
    _EXERCISES[id] = ex
    return ex


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import grader.exercises as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")


def all_exercises() -> list[Exercise]:
    """Every exercise, in curriculum order."""
    _load()
    order = {p: i for i, p in enumerate(PARTS)}
    declared = list(_EXERCISES.values())
    return sorted(declared, key=lambda e: (order[e.part], declared.index(e)))


class UnknownExercise(KeyError):
    """An exercise id or part that the curriculum does not have (a user's mistake: the CLI says so in one
    line).  A ``KeyError`` for callers that look names up; any other ``KeyError`` is a bug."""

    def __str__(self) -> str:
        return str(self.args[0])


def get(id: str) -> Exercise:
    _load()
    try:
        return _EXERCISES[id]
    except KeyError:
        raise UnknownExercise(_("unknown exercise {id}; `deepgrade list` shows them all").format(id=repr(id))) from None


def select(names: Iterable[str]) -> list[Exercise]:
    """Exercises named by id or by part; all of them when ``names`` is empty.  Unknown names raise
    :class:`UnknownExercise`."""
    names = list(names)
    exercises = all_exercises()
    if not names:
        return exercises
    chosen: list[str] = []
    for name in names:
        hits = [e.id for e in exercises if e.id == name or e.part == name]
        if not hits:
            raise UnknownExercise(
                _("unknown exercise or part {name}; `deepgrade list` shows them all").format(name=repr(name))
            )
        chosen += [h for h in hits if h not in chosen]
    return [e for e in exercises if e.id in chosen]


def owner_of(function: str, part: str) -> Exercise | None:
    """The exercise whose student-written functions include ``function`` in ``part``."""
    for e in all_exercises():
        if e.part == part and function in e.functions:
            return e
    return None


def prerequisite_closure(ex: Exercise) -> list[Exercise]:
    """All exercises ``ex`` builds on, transitively, in curriculum order."""
    seen: dict[str, Exercise] = {}
    stack = list(ex.prerequisites)
    while stack:
        e = get(stack.pop())
        if e.id not in seen:
            seen[e.id] = e
            stack.extend(e.prerequisites)
    return [e for e in all_exercises() if e.id in seen]
