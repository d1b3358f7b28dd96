"""Run a property over examples drawn by hypothesis, deterministically, and keep the shrunk failure."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from grader.checks import plans
from grader.checks.failure import CheckFailed, python_literal
from grader.checks.strategies import scaled
from grader.i18n import _
from grader.isolation.worker.client import StudentError


class _Stop(BaseException):
    """Carries an error out of hypothesis at once (it shrinks on Exceptions only): one that ends the check (a
    timeout, a dead worker, a malformed reply, no reference) has no smaller example worth finding, and a bug
    of the check itself must surface as itself, not be shrunk, replayed and reported as flaky."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _first(exc: BaseException) -> BaseException:
    """Hypothesis may wrap the failure (FlakyFailure is an ExceptionGroup): dig out ours."""
    if isinstance(exc, (CheckFailed, StudentError)):
        return exc
    for inner in getattr(exc, "exceptions", ()) or ():
        found = _first(inner)
        if isinstance(found, (CheckFailed, StudentError)):
            return found
    return exc


#: Whether a failure is shrunk to a minimal example: a context variable, like the size scale.
_SHRINK: contextvars.ContextVar[bool] = contextvars.ContextVar("deepgrade_shrink", default=True)


@contextmanager
def unshrunk() -> Iterator[None]:
    """Within this block a failing property reports the first failing example as drawn, not shrunk.

    The verdict is the same (shrinking only looks for a smaller input that fails too); only the input the
    message shows is larger.  For mutation testing of the checks, where the verdict is what is tested and
    shrinking is half of the time::

        with unshrunk():
            result = grade(mutant_folder, [exercise])
    """
    token = _SHRINK.set(False)
    try:
        yield
    finally:
        _SHRINK.reset(token)


#: What a replay learned: each replayed example with None (it held) or the exception it failed with (last).
Replayed = list[tuple[Any, BaseException | None]]


#: Runs a plan's recorded first calls ahead, all in one request: given each example's call (None: none), the
#: outcome of each, :data:`plans.LIVE` where it was not run (see ``Context.for_all``).
Prefetch = Callable[[list[Any]], list[Any]]


def _replay(
    cases: plans.Cases,
    prop: Callable[[Any], None],
    abort: Callable[[], BaseException | None],
    prefetch: Prefetch | None = None,
) -> Replayed | None:
    """Run ``prop`` on a plan's examples with its recorded answers.  None when it holds on all of them; else
    the examples run, the last with the failure it gave, for hypothesis to take over from (empty when the
    plan does not fit the check: hypothesis starts afresh).  What ends a check ends it here too.

    With ``prefetch``, every example's first call to the worker is run ahead, all in one request, and the
    example gets its outcome when it makes that call (:func:`plans.first_call`)."""
    seen: Replayed = []
    outcomes = prefetch([call for _, _, call in cases]) if prefetch is not None else [plans.LIVE] * len(cases)
    for i, (example, answers, call) in enumerate(cases):
        stop = abort()
        if stop is not None:
            raise stop
        outcome, outcomes[i] = outcomes[i], None  # held no longer than its example
        with plans.replaying(answers, call, outcome) as episode:
            try:
                prop(example)
                plans.exhausted(episode)
            except (plans.Diverged, HypothesisException):
                return []
            except CheckFailed as exc:
                return seen + [(example, exc)]
            except StudentError as exc:
                if exc.fatal:
                    raise
                return seen + [(example, exc)]
        seen.append((example, None))
    return None


def for_all(
    strategy: st.SearchStrategy[Any],
    prop: Callable[[Any], None],
    *,
    examples: int,
    seed_value: int,
    abort: Callable[[], BaseException | None] = lambda: None,
    scale: int = 1,
    plan: plans.Key | None = None,
    prefetch: Prefetch | None = None,
) -> None:
    """Check ``prop(example)`` on ``examples`` drawn examples; raise the minimal failure found.

    The same ``seed_value`` always draws the same examples, so a submission always gets the same score.
    ``abort()`` returns the error that ended the run early (a timeout, a missing function), if any.
    ``scale`` enlarges the shapes drawn by :mod:`grader.checks.strategies` (hidden checks).
    With a ``plan`` key, the examples (and the answers asked for with :func:`grader.checks.plans.answer`) are
    replayed from its plan when there is one, and recorded into it when the property holds on all of them;
    hypothesis draws (and shrinks) only without a plan or after a replayed example failed.  ``prefetch`` runs
    a replayed plan's first calls ahead (see :func:`_replay`).
    """
    replayed: Replayed = []
    if plan is not None:
        cases = plans.load(plan)
        if cases is not None:
            with scaled(scale):
                outcome = _replay(cases, prop, abort, prefetch)
            if outcome is None:
                return
            replayed = outcome
    # Hypothesis draws the plan's examples again, in the same order: those already run are not run twice, the one
    # that failed fails the same way, and hypothesis shrinks from there.
    calls = [0]
    recorded: list[plans.Cases] = [[]] if plan is not None and not replayed else []

    @seed(seed_value)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink) if _SHRINK.get() else (Phase.explicit, Phase.generate),
    )
    @given(strategy)
    def run(example: Any) -> None:
        stop = abort()
        if stop is not None:
            raise _Stop(stop)
        call, calls[0] = calls[0], calls[0] + 1
        known = replayed[call] if call < len(replayed) and plans.same(example, replayed[call][0]) else None
        if known is not None and known[1] is None:
            return  # it held when replayed
        drawn = None
        if recorded:
            try:
                drawn = plans.snapshot(example)
            except (TypeError, ValueError, OverflowError):
                recorded.clear()  # not plain data: this property goes without a plan
        try:
            with plans.recording() if recorded else nullcontext() as episode:
                if known is not None:
                    raise known[1]  # type: ignore[misc]  # as it failed when replayed
                prop(example)
            if recorded and episode is not None and episode.plain:
                recorded[0].append((drawn, episode.answers, episode.call))
            elif recorded:
                recorded.clear()  # an oracle answered with something a plan cannot hold
        except CheckFailed as exc:
            raise exc.with_input(f"example = {python_literal(example)}") from None
        except StudentError as exc:
            if exc.fatal:
                raise _Stop(exc) from None
            label = "\n" + _("input:")
            if label in exc.message:
                raise
            raise StudentError(exc.kind, f"{exc.message}{label} example = {python_literal(example)}") from None
        except HypothesisException:
            raise  # assume(), reject(): hypothesis' own
        except Exception as exc:  # noqa: BLE001 - NoReference, or a bug of the check
            raise _Stop(exc) from None

    # No example database (``database=None``), so no key for one: without this (what hypothesis's own ``find()``
    # sets), hypothesis hashes the source of ``run``, tokenized, every time a property is drawn.
    run._hypothesis_internal_database_key = None  # type: ignore[attr-defined]
    try:
        with scaled(scale):
            run()
        if plan is not None and recorded:
            plans.save(plan, recorded[0])
    except _Stop as stop:
        raise stop.error from None
    except (CheckFailed, StudentError):
        raise
    except (KeyboardInterrupt, SystemExit):
        raise  # a stop (a signal, Ctrl-C) is never a check's outcome, whatever ended the check meanwhile
    except BaseException as exc:
        found = _first(exc)
        aborted = abort()
        if aborted is not None:
            raise aborted from None
        if found is not exc:
            raise found from None
        if isinstance(exc, HypothesisException):
            raise CheckFailed(
                _("the check could not draw or replay examples: {kind}: {exc}").format(kind=type(exc).__name__, exc=exc)
            ) from None
        raise
