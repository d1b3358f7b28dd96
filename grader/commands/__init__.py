"""The subcommands of ``deepgrade``: one module per command, each with ``add(subparsers)`` (see
``grader.cli``)."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""
