"""Isolation: the worker that runs student code (``worker/``), the launchers that sandbox it
(``sandbox.py``) and the forbidden-import policy (``policy.py``)."""
