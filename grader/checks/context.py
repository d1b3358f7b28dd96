"""What a check gets to work with: the worker, the reference, the seed and the example budget."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.checks import drivers, plans, properties, replies
from grader.checks.failure import CheckFailed
from grader.i18n import _
from grader.isolation.worker import wire
from grader.isolation.worker.client import StudentError, Worker
from grader.registry import Check, Exercise

#: Values of a recorded curve kept at most (a training run's curve has hundreds).
CURVE_POINTS = 10_000


class NoReference(Exception):
    """The reference solutions are not available (a student release)."""


class Context:
    """Passed to every check.  All student code runs through :meth:`drive` in the worker."""

    def __init__(
        self,
        worker: Worker,
        exercise: Exercise,
        check: Check,
        *,
        reference: Callable[[str], ModuleType] | None,
        seed: int = 0,
        examples: int = 25,
        scale: int = 1,
        timeout: float | None = None,
    ) -> None:
        self.worker = worker
        self.exercise = exercise
        self.check = check
        self._reference = reference
        self.seed = seed
        self.examples = examples
        self.scale = scale  # hidden checks: larger shapes / budgets
        self.timeout = timeout  # the CPU budget of each call (default: the check's), cut by the submission's
        self._abort: StudentError | None = None
        self._properties = 0  # for_all calls so far: each has its own plan
        self._replied: set[int] = set()  # keys of the arrays the worker sent back in this check so far
        self.curves: dict[str, list[float]] = {}

    # ------------------------------------------------------------------ oracles
    def reference(self, part: str | None = None) -> ModuleType:
        """The reference module of ``part`` (default: this exercise's), imported in the grader."""
        if self._reference is None:
            raise NoReference(_("this check needs the reference solutions"))
        return self._reference(part or self.exercise.part)

    @property
    def has_reference(self) -> bool:
        return self._reference is not None

    @property
    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)

    # ------------------------------------------------------------------ student code
    def drive(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """Run the worker-side ``fn(student, *args)`` (see ``grader.checks.drivers``); its reply, checked against
        the driver's schema (``grader.checks.replies``): anything else is the student's error."""
        schema = replies.schema_of(fn)  # before anything runs: a driver without a schema is a grader bug
        if self._abort is not None:
            raise self._abort
        own = timeout or self.check.timeout
        ahead = plans.first_call(replies.driver_name(fn), list(args), own, recordable=not self._echoes(args))
        try:
            if ahead is plans.LIVE:
                reply = self.worker.drive(fn, *args, timeout=self._budget(own))
            elif isinstance(ahead, StudentError):
                raise ahead
            else:
                reply = self.worker.result(ahead)
            self._remember(reply)
            try:
                return replies.conform(reply, schema)
            except replies.MalformedReply as exc:
                raise replies.malformed(str(exc)) from None
        except StudentError as exc:
            if exc.fatal:
                self._abort = exc  # no point drawing more examples
            raise

    def _budget(self, timeout: float) -> float:
        """The CPU budget of a call whose own is ``timeout``: cut by the submission's."""
        return min(timeout, self.timeout or float("inf"))

    def _prefetch(self, calls: list[Any]) -> list[Any]:
        """Run a replayed plan's first calls (``(driver, args, timeout)`` or None) ahead, in one request; the
        outcome of each (a reply or a :class:`StudentError`), :data:`plans.LIVE` for those not run."""
        outcomes: list[Any] = [plans.LIVE] * len(calls)
        ahead = [
            (i, (replies.DRIVERS[call[0]], call[1], self._budget(call[2])))
            for i, call in enumerate(calls)
            if call is not None and call[0] in replies.DRIVERS
        ]
        if self._abort is not None or len(ahead) < 2:
            return outcomes  # one call gains nothing by going ahead
        for (i, _call), outcome in zip(ahead, self.worker.drive_many([call for _i, call in ahead])):
            outcomes[i] = outcome
        return outcomes

    def _remember(self, reply: Any) -> None:
        """The keys of the arrays the worker sent back in this check, in a property or before one: a first call
        recorded later that sends one of them back is not recorded (see :func:`plans.first_call`)."""
        self._replied.update(_array_keys(reply))

    def _echoes(self, args: Any) -> bool:
        return bool(self._replied) and plans.is_recording() and not self._replied.isdisjoint(_array_keys(args))

    def call(self, name: str, *args: Any, pick: int | None = None, **kwargs: Any) -> Any:
        """``<part>.name(*args, **kwargs)`` in the worker; ``pick`` selects one item of a tuple result."""
        return self.drive(drivers.call_function, self.exercise.part, name, list(args), kwargs, pick)["result"]

    def call_checking_inputs(self, name: str, *args: Any, pick: int | None = None) -> tuple[Any, list[Any]]:
        """Like :meth:`call`, also returning the arguments as the student's code left them."""
        reply = self.drive(drivers.call_function, self.exercise.part, name, list(args), {}, pick, True)
        after = reply["args"]
        if not (isinstance(after, list) and len(after) == len(args)):
            raise self._malformed(
                f"reply['args']: expected a list of {len(args)} arguments, got {replies.describe(after)}"
            )
        return reply["result"], after

    def batched(self, name: str, pick: int | None = None) -> Callable[[list[list[Any]]], list[Any]]:
        """A forward that evaluates many argument lists in one round trip (for gradient checks)."""

        def forward(arg_lists: list[list[Any]]) -> list[Any]:
            outs = self.drive(drivers.call_many, self.exercise.part, name, arg_lists, pick)
            if len(outs) != len(arg_lists):
                raise self._malformed(f"reply: {len(outs)} results for {len(arg_lists)} argument lists")
            return outs

        return forward

    def _malformed(self, detail: str) -> StudentError:
        """A reply that fits its schema but not the request: the student's error, and the end of the check."""
        self._abort = replies.malformed(detail)
        return self._abort

    def forward_backward(self, fwd: str, bwd: str, args: list[Any], dout: Any) -> tuple[Any, tuple[Any, ...]]:
        reply = self.drive(drivers.forward_backward, self.exercise.part, fwd, bwd, list(args), dout)
        return reply["out"], tuple(reply["grads"])

    # ------------------------------------------------------------------ properties
    def for_all(
        self, strategy: st.SearchStrategy[Any], prop: Callable[[Any], None], *, examples: int | None = None
    ) -> None:
        """Check ``prop`` on examples drawn by ``strategy`` (deterministic for this check's seed), replaying
        the check's plan where one is recorded (see :mod:`grader.checks.plans`)."""
        self._properties += 1
        properties.for_all(
            strategy,
            prop,
            examples=examples or self.examples,
            seed_value=self.seed,
            abort=lambda: self._abort,
            scale=self.scale,
            plan=self._plan(self._properties - 1),
            prefetch=self._prefetch,
        )

    @property
    def few_examples(self) -> int:
        """The budget of a property that needs fewer examples than a value check (an invariant, extreme inputs,
        costly programs): a third of the check's, at least 5."""
        return max(5, self.examples // 3)

    def _plan(self, call: int) -> plans.Key | None:
        """The key of this check's ``call``-th property: by the check's budget (a property's own count is a
        function of it, in the grader's source) and its place in the check."""
        from grader import reference

        if self._reference is not None and self._reference is not reference.module:
            return None  # another reference than the one hashed: no plan
        return plans.key_for(
            self.exercise, self.check.name, self.seed, self.examples, self.scale, self._reference is not None, call
        )

    def answer(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``, an oracle's answer on the example being checked: recorded in the check's plan, and
        replayed from it next time (plain data only: arrays, numbers, tuples).  It must depend on the drawn
        example alone, never on the student's replies: the plan is replayed for every other student."""
        return plans.answer(fn, *args, keep=(NoReference,))

    def fixed(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``, an oracle's answer outside any property, on data of the check's own (its seed, fixed
        settings): computed once per course and kept with the check's plans (see :func:`plans.fixed`).  Like
        :meth:`answer`, its arguments never hold anything the student's code returned."""
        return plans.fixed(self._plan(0), fn, *args)

    def record_curve(self, name: str, values: Any) -> None:
        """Keep a series (a loss curve) with the check's result, for reports to plot: at most
        :data:`CURVE_POINTS` of its values (evenly strided, the last kept), since a student's code may decide how
        many there are and the result is stored in every record."""
        try:
            curve = np.asarray(values, dtype=np.float64).ravel()
        except (TypeError, ValueError, OverflowError):
            raise CheckFailed(
                _("the {name} should be a list of numbers").format(name=name), got=replies.describe(values)
            ) from None
        if curve.size > CURVE_POINTS:
            stride = -(-(curve.size - 1) // (CURVE_POINTS - 1))  # the strided part leaves room for the last
            curve = np.append(curve[: curve.size - 1 : stride], curve[-1])
        self.curves[name] = [float(v) for v in curve]

    def fail(self, summary: str, **fields: Any) -> None:
        raise CheckFailed(summary, **fields)


def _array_keys(value: Any) -> set[int]:
    """Keys of the arrays (of two or more elements) in a plain value: equal arrays of one dtype and shape have equal
    keys.  Python's hash, not a cryptographic one: the keys never leave this process, and two arrays whose keys
    collide only keep a call out of a plan (a blake2b digest of each array of each reply cost 4% of the grader's
    CPU)."""
    return {
        hash((a.dtype.str, a.shape, a.tobytes()))
        for a in wire.arrays_in(value)
        if a.size >= 2 and not a.dtype.hasobject
    }
