"""An attack on the course secret while ``deepgrade grade`` runs: the submission looks for it in the worker's
environment and in the secret file, and fails every sigmoid check with what it found (``ATTACK env=...
file=...``), so anything it got would reach the student's feedback.  Blocked, the message names what stopped
it (``missing``, ``PermissionError``, ``FileNotFoundError``)."""

from __future__ import annotations

from pathlib import Path

from tests.corpus import ROOT

SPY = '''

import os as _os


def _look(path):
    try:
        with open(path, "rb") as fh:
            return fh.read().decode()
    except BaseException as exc:
        return type(exc).__name__


_FOUND = "ATTACK env=%s file=%s" % (_os.environ.get("DEEPGRADE_SECRET", "missing"), _look(@FILE@))
_FOUND += " envfile=%s" % _os.environ.get("DEEPGRADE_SECRET_FILE", "missing")


def sigmoid_forward(x):
    raise RuntimeError(_FOUND)


def sigmoid_backward(dout, cache):
    raise RuntimeError(_FOUND)
'''


def secret_spy(secret_file: Path) -> str:
    """``neuron.py``: the reference, with a sigmoid that reports the course secret if it can get at it."""
    return (ROOT / "solutions" / "neuron.py").read_text() + SPY.replace("@FILE@", repr(str(secret_file)))
