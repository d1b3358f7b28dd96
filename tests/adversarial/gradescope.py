"""Attacks on a Gradescope autograder: a submission that reads what ``/autograder/source`` keeps private.

:func:`thief` is ``neuron.py`` (the reference: every other exercise is honest work) with
``sigmoid_forward``/``sigmoid_backward`` that, at import,
try to read the reference solution and the course secret at their places in the autograder tree, and to list
the check plans (which hold the hidden checks' inputs).  With the
stolen solution they answer correctly (full marks if the attack works); with the stolen secret they put it
in every failure message (it would reach results.json).  Blocked, they raise an error naming what stopped
them, e.g. ``ATTACK solutions=PermissionError secret=PermissionError plans=PermissionError``, so a test can tell a
blocked attack from one that looked in the wrong place.
"""

from __future__ import annotations

from pathlib import Path

from tests.corpus import ROOT

THIEF = '''

import numpy as _np


def _steal(path):
    try:
        with open(path, "rb") as fh:
            return fh.read().decode(), "read"
    except BaseException as exc:
        return None, type(exc).__name__


def _list(path):
    import os
    try:
        return sorted(os.listdir(path)), "read"
    except BaseException as exc:
        return None, type(exc).__name__


_SOLUTION, _SOLUTION_HOW = _steal(@SOLUTION@)
_SECRET, _SECRET_HOW = _steal(@SECRET@)
_PLANS, _PLANS_HOW = _list(@PLANS@)  # the check plans: the hidden checks' inputs
_STOLEN = {}
if _SOLUTION:
    exec(compile(_SOLUTION, "stolen", "exec"), _STOLEN)


def _evidence():
    return (f"ATTACK solutions={_SOLUTION_HOW} secret={_SECRET_HOW} plans={_PLANS_HOW}"
            + (f" SECRET={_SECRET!r}" if _SECRET else "") + (f" PLANS={_PLANS!r}" if _PLANS else ""))


def sigmoid_forward(x):
    if _SECRET or _PLANS or not _STOLEN:
        raise RuntimeError(_evidence())
    return _STOLEN["sigmoid_forward"](x)


def sigmoid_backward(dout, cache):
    if _SECRET or _PLANS or not _STOLEN:
        raise RuntimeError(_evidence())
    return _STOLEN["sigmoid_backward"](dout, cache)
'''


def thief(autograder_root: Path) -> str:
    """``neuron.py`` of a student who steals from the autograder at ``autograder_root`` (e.g. /autograder)."""
    source = Path(autograder_root) / "source"
    body = THIEF.replace("@SOLUTION@", repr(str(source / "solutions" / "neuron.py")))
    body = body.replace("@SECRET@", repr(str(source / "course-secret")))
    body = body.replace("@PLANS@", repr(str(source / "grader" / "plans")))
    return (ROOT / "solutions" / "neuron.py").read_text() + body
