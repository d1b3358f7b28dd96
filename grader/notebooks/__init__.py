"""Notebooks: an nbgrader course written from the reference (``course``) and solution cells read back into
modules (``extract``)."""
