"""deepgrade: grade deep-learning exercises without ever running student code in the grader's process.

The public surface is small: :mod:`grader.registry` (``exercise``), :mod:`grader.checks` (``check``
helpers), :mod:`grader.runner` (``grade``) and :mod:`grader.reporters` (``report``).
"""

__version__ = "0.1.0"
