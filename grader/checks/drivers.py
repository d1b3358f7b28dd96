"""Worker-side functions.  Each is sent to the worker as source text and runs *there*, next to the
student's code, so each must be self-contained (imports inside) and return plain data only.  Each declares
the shape of its reply with ``@returns`` (``grader.checks.replies``); the decorator stays in the grader.

The first argument is always ``student``: ``student("neuron")`` imports the student's ``neuron.py``
(with the exercise's given functions stubbed in: calls to them are answered by the grader).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grader.checks.replies import ANY, NONE, STR, fields, list_of, one_of, returns, tuple_of


@returns(fields(result=ANY, args=one_of(NONE, list_of(ANY))))
def call_function(
    student: Callable[[str], Any],
    part: str,
    name: str,
    args: list,
    kwargs: dict,
    pick: int | None,
    return_args: bool = False,
) -> dict:
    """Call ``part.name(*args, **kwargs)``; return the result (and, if asked, the arguments as they are after)."""
    fn = getattr(student(part), name)
    result = fn(*args, **kwargs)
    if pick is not None:
        result = result[pick]
    return {"result": result, "args": list(args) if return_args else None}


@returns(list_of(ANY))
def call_many(student: Callable[[str], Any], part: str, name: str, arg_lists: list, pick: int | None) -> list:
    """Evaluate ``part.name`` on several argument lists in one round trip (used by gradient checks)."""
    fn = getattr(student(part), name)
    out = []
    for args in arg_lists:
        result = fn(*args)
        out.append(result[pick] if pick is not None else result)
    return out


@returns(fields(out=ANY, grads=tuple_of(ANY, ...)))
def forward_backward(student: Callable[[str], Any], part: str, fwd: str, bwd: str, args: list, dout: Any) -> dict:
    """CS231n convention: ``out, cache = fwd(*args)``; ``grads = bwd(dout, cache)``."""
    mod = student(part)
    returned = getattr(mod, fwd)(*args)
    if not (isinstance(returned, tuple) and len(returned) == 2):
        raise TypeError(f"{fwd} must return (out, cache), got {type(returned).__name__}")
    out, cache = returned
    grads = getattr(mod, bwd)(dout, cache)
    return {"out": out, "grads": grads if isinstance(grads, tuple) else (grads,)}


@returns(fields(out=ANY, grads=one_of(NONE, tuple_of(ANY, ...))))
def forward_backward_seeded(
    student: Callable[[str], Any], part: str, fwd: str, bwd: str, args: list, seed: int
) -> dict:
    """``forward_backward`` with ``dout = default_rng(seed).standard_normal(out.shape)`` drawn here, as the grader
    draws it (``strategies.upstream``): one round trip where asking for the output's shape first took two.
    The backward is not run (grads None) on an output that is not an array of real numbers."""
    import numpy as np

    mod = student(part)
    returned = getattr(mod, fwd)(*args)
    if not (isinstance(returned, tuple) and len(returned) == 2):
        raise TypeError(f"{fwd} must return (out, cache), got {type(returned).__name__}")
    out, cache = returned
    try:
        real = np.asarray(out)
        if real.dtype.names is not None or real.dtype.kind not in "biuf":
            return {"out": out, "grads": None}
    except Exception:  # noqa: BLE001 - not an array: the grader says what came back
        return {"out": out, "grads": None}
    grads = getattr(mod, bwd)(np.random.default_rng(seed).standard_normal(real.shape), cache)
    return {"out": out, "grads": grads if isinstance(grads, tuple) else (grads,)}


@returns(fields(douts=list_of(ANY), cache_changed=one_of(NONE, STR)))
def backward_leaves_arguments(
    student: Callable[[str], Any], part: str, fwd: str, bwd: str, args: list, douts: list
) -> dict:
    """``bwd(*douts, cache)`` after ``*outs, cache = fwd(*args)``; the upstream gradients as the backward left
    them, and where (if anywhere) it changed the cache: a backward that writes into either corrupts a skip
    connection or a second backward."""
    import copy

    import numpy as np

    def changed(before: Any, after: Any, where: str) -> str | None:
        if isinstance(before, np.ndarray):
            same = (
                isinstance(after, np.ndarray)
                and before.shape == after.shape
                and before.dtype == after.dtype
                and np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
            )
            return None if same else where
        if isinstance(before, (list, tuple)):
            if not isinstance(after, (list, tuple)) or len(before) != len(after):
                return where
            return next(
                (w for i, (b, a) in enumerate(zip(before, after)) if (w := changed(b, a, f"{where}[{i}]"))), None
            )
        if isinstance(before, dict):
            if not isinstance(after, dict) or list(before) != list(after):
                return where
            return next((w for k in before if (w := changed(before[k], after[k], f"{where}[{k!r}]"))), None)
        return None  # other objects: not compared

    mod = student(part)
    returned = getattr(mod, fwd)(*args)
    if not (isinstance(returned, tuple) and len(returned) == len(douts) + 1):
        raise TypeError(f"{fwd} must return {len(douts) + 1} values, the cache last, got {type(returned).__name__}")
    cache = returned[-1]
    try:
        before = copy.deepcopy(cache)
    except Exception:  # noqa: BLE001 - an uncopyable cache cannot be compared; dout still is
        before = None
    getattr(mod, bwd)(*douts, cache)
    return {"douts": list(douts), "cache_changed": changed(before, cache, "cache")}
