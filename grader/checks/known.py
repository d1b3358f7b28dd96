"""Known answers: the reference's outputs on fixed inputs, recorded by ``deepgrade build`` and shipped as
data, so a forward can be checked where ``solutions/`` is absent (a student release).

``grader/known/<exercise id>.npz`` is a plain ``np.savez`` of arrays (read with ``allow_pickle=False``):
for each recorded layer ``key`` and case ``c``, the arguments under ``key:c:in...`` and the reference
output under ``key:c:out``.  Numbers only (and the occasional argument string such as "relu") — never code.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from grader.checks.layer import Layer
from grader.i18n import _

if TYPE_CHECKING:
    from grader.registry import Exercise

KNOWN = Path(__file__).resolve().parent.parent / "known"
CASES, DRAWN = 3, 12  # keep the CASES largest of DRAWN drawn inputs: a few KB per exercise

#: exercise id -> the layers whose forward has a "matches recorded answers" check
LAYERS: dict[str, list[Layer]] = {}


class NoKnownAnswers(Exception):
    """Nothing is recorded for this layer (run ``deepgrade build``)."""


def layer_key(layer: Layer) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", layer.name(layer.forward)).strip("_")


def register(ex: Exercise, layer: Layer) -> None:
    LAYERS.setdefault(ex.id, []).append(layer)


# --------------------------------------------------------------------------- plain values <-> flat arrays
def flatten(value: Any, prefix: str, out: dict[str, np.ndarray], *, exact: bool = False) -> None:
    """Store ``value`` (arrays, numbers, str, None, lists, tuples, dicts with str keys) as arrays under ``prefix``.
    ``exact`` keeps numpy scalars as numpy scalars (else they come back as Python numbers)."""
    if exact and isinstance(value, np.generic) and not isinstance(value, (np.str_, np.bytes_, np.void)):
        out[prefix + "@g"] = np.asarray(value)
    elif isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("object arrays cannot be recorded")
        out[prefix + "@a"] = value
    elif isinstance(value, (bool, np.bool_)):
        out[prefix + "@b"] = np.asarray(bool(value))
    elif isinstance(value, (int, np.integer)):
        out[prefix + "@i"] = np.asarray(int(value), dtype=np.int64)
    elif isinstance(value, (float, np.floating)):
        out[prefix + "@f"] = np.asarray(float(value), dtype=np.float64)
    elif isinstance(value, str):
        out[prefix + "@s"] = np.asarray(value)
    elif value is None:
        out[prefix + "@n"] = np.zeros(0)
    elif isinstance(value, (list, tuple)):
        out[prefix + ("@t" if isinstance(value, tuple) else "@l")] = np.asarray(len(value), dtype=np.int64)
        for j, v in enumerate(value):
            flatten(v, f"{prefix}:{j}", out, exact=exact)
    elif isinstance(value, dict) and all(isinstance(k, str) for k in value):
        out[prefix + "@d"] = np.asarray(list(value), dtype=str) if value else np.zeros(0, dtype="<U1")
        for j, v in enumerate(value.values()):
            flatten(v, f"{prefix}:{j}", out, exact=exact)
    else:
        raise TypeError(f"cannot record a value of type {type(value).__name__}")


def tags_of(data: dict[str, np.ndarray]) -> dict[str, str]:
    """The tag of every prefix in ``data`` (what :func:`unflatten` otherwise looks for, tag by tag)."""
    return {prefix: tag for prefix, _, tag in (key.rpartition("@") for key in data)}


def unflatten(data: dict[str, np.ndarray], prefix: str, tags: dict[str, str] | None = None) -> Any:
    """The value :func:`flatten` stored under ``prefix``; ``tags`` (:func:`tags_of`) saves looking for it."""
    for tag in "abifsntldg" if tags is None else tags.get(prefix, ""):
        key = f"{prefix}@{tag}"
        if key not in data:
            continue
        arr = data[key]
        if tag == "a":
            return np.array(arr)
        if tag in "bifs":
            return {"b": bool, "i": int, "f": float, "s": str}[tag](arr[()])
        if tag == "n":
            return None
        if tag == "g":
            return arr[()]
        if tag in "tl":
            items = [unflatten(data, f"{prefix}:{j}", tags) for j in range(int(arr))]
            return tuple(items) if tag == "t" else items
        return {str(k): unflatten(data, f"{prefix}:{j}", tags) for j, k in enumerate(arr.tolist())}
    raise KeyError(prefix)


# --------------------------------------------------------------------------- recording
def draw_inputs(ex_id: str, layer: Layer) -> list[tuple[Any, ...]]:
    """The fixed inputs of a layer: the :data:`CASES` largest of :data:`DRAWN` deterministic draws."""
    from grader.checks.properties import for_all

    drawn: list[tuple[Any, ...]] = []
    seed = zlib.crc32(f"{ex_id}/{layer_key(layer)}/known".encode())
    for_all(layer.args, drawn.append, examples=DRAWN, seed_value=seed)
    size = [sum(np.size(a) for a in args) for args in drawn]
    order = sorted(range(len(drawn)), key=lambda i: -size[i])[:CASES]
    return [drawn[i] for i in sorted(order)]


def record(
    ex_id: str, layer: Layer, reference: Callable[..., Any], inputs: list[tuple[Any, ...]] | None = None
) -> dict[str, np.ndarray]:
    """Arrays holding ``inputs`` (default: freshly drawn) and the reference outputs on them."""
    out: dict[str, np.ndarray] = {}
    key = layer_key(layer)
    for c, args in enumerate(inputs if inputs is not None else draw_inputs(ex_id, layer)):
        flatten(tuple(args), f"{key}:{c}:in", out)
        flatten(np.asarray(reference(*args, **layer.kwargs)[0], dtype=np.float64), f"{key}:{c}:out", out)
    return out


def stored_inputs(data: dict[str, np.ndarray], layer: Layer) -> list[tuple[Any, ...]]:
    key, cases = layer_key(layer), list[tuple[Any, ...]]()
    while f"{key}:{len(cases)}:in@t" in data:
        cases.append(unflatten(data, f"{key}:{len(cases)}:in"))
    return cases


def input_literal(ex_id: str, layer: Layer, case: int, args: tuple[Any, ...]) -> str:
    """Python that calls ``layer.forward`` on recorded case ``case``, its arrays loaded from the .npz they are
    stored in: exact and short, where the arrays written out are thousands of numbers."""
    from grader.checks.failure import call_literal, python_literal

    p = path(ex_id)
    if not p.is_file() or not all(isinstance(a, np.ndarray) or np.ndim(a) == 0 for a in args):
        return call_literal(layer.forward, args, layer.kwargs)
    key = layer_key(layer)
    parts = [
        f'd["{key}:{case}:in:{j}@a"]' if isinstance(a, np.ndarray) else python_literal(a) for j, a in enumerate(args)
    ]
    parts += [f"{k}={python_literal(v)}" for k, v in layer.kwargs.items()]
    return f'd = np.load({str(p)!r}); {layer.forward}({", ".join(parts)})'


def path(ex_id: str, root: Path | None = None) -> Path:
    return (root or KNOWN) / f"{ex_id}.npz"


def load(ex_id: str, root: Path | None = None) -> dict[str, np.ndarray]:
    p = path(ex_id, root)
    if not p.is_file():
        return {}
    with np.load(p, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def cases(ex_id: str, layer: Layer, reference: Callable[[], Any] | None) -> list[tuple[tuple[Any, ...], np.ndarray]]:
    """(arguments, expected output) pairs of a layer: from the shipped file, else (before ``deepgrade build``
    has recorded them) from the reference, when there is one."""
    data = load(ex_id)
    key = layer_key(layer)
    if f"{key}:0:out@a" not in data:
        if reference is None:
            raise NoKnownAnswers(
                _("no recorded answers for {function} in {file}; run `deepgrade build`").format(
                    function=layer.forward, file=path(ex_id).name
                )
            )
        data = record(ex_id, layer, getattr(reference(), layer.forward))
    return [(args, unflatten(data, f"{key}:{c}:out")) for c, args in enumerate(stored_inputs(data, layer))]


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind in "fc":  # last-bit differences between BLAS builds are not staleness
        return bool(np.allclose(a, b, rtol=1e-12, atol=1e-300, equal_nan=True))
    return bool(np.array_equal(a, b))


def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(_same_array(a[k], b[k]) for k in a)


def build(
    reference_module: Callable[[str], Any], exercises: list[Exercise], root: Path | None = None, *, check: bool = False
) -> list[str]:
    """Write (or, with ``check``, compare) ``<root>/<id>.npz`` for every exercise with recorded layers.

    Inputs already stored are kept (so a hypothesis upgrade does not churn the files); outputs are always
    recomputed from the reference, so a changed reference makes the file stale.  Returns stale file names.
    """
    stale = []
    for ex in exercises:
        layers = LAYERS.get(ex.id, [])
        if not layers:
            continue
        old = load(ex.id, root)
        new: dict[str, np.ndarray] = {}
        for layer in layers:
            fn = getattr(reference_module(ex.part), layer.forward)
            new.update(record(ex.id, layer, fn, stored_inputs(old, layer) or None))
        if not same(old, new):
            stale.append(path(ex.id, root).name)
            if not check:
                path(ex.id, root).parent.mkdir(parents=True, exist_ok=True)
                np.savez_compressed(path(ex.id, root), **cast("dict[str, Any]", new))
    return stale
