"""Notebooks: an nbgrader course written from the reference (``course``) and solution cells read back into
modules (``extract``)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def nbformat() -> ModuleType:
    """nbformat, imported without jsonschema's optional IRI syntax checker.

    Where ``rfc3987_syntax`` is installed (jupyter-events brings it with ``jsonschema[format-nongpl]``),
    importing jsonschema imports it, and it builds its grammars: about 1 s of CPU in every process that reads
    a notebook, every kernel that runs an autograder cell among them.  No notebook schema has a ``format`` of
    ``iri``, so nbformat's validation loses nothing.  Where jsonschema is imported already, nothing changes.
    """
    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # its import fails: jsonschema goes on
        try:
            importlib.import_module("jsonschema")
        finally:
            del sys.modules["rfc3987_syntax"]
    import nbformat as module

    return module
