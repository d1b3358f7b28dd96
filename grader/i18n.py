"""Translation of human-readable strings: ``_("text")``.  For now the identity; the gettext catalogues replace it
(with the same name) so that every string already written through it is translated."""

from __future__ import annotations


def _(message: str) -> str:
    return message
