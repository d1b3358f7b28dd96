"""Messages shown without saying whose they are: every student's name, and each word of it, replaced.

A check's message can hold what the student's code raised or printed (``raise ValueError("alice's try")``), and
a path can hold the submission's name, so removing the one student's name is not enough: every name of the
class is removed, case-insensitively, as a whole word, together with each of its parts (``alice_smith``:
``alice`` and ``smith`` too) of at least :data:`MIN_PART` characters."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: What a name becomes.
PLACEHOLDER = "<student>"
#: Parts of a name shorter than this are left alone (``a`` or ``x1`` would erase half of any message).
MIN_PART = 3


def _words(names: Iterable[str]) -> list[str]:
    words = set()
    for name in names:
        if not name:
            continue
        words.add(name.casefold())
        words.update(p.casefold() for p in re.split(r"[\W_]+", name) if len(p) >= MIN_PART)
    return sorted(words, key=lambda w: (-len(w), w))  # the longest first: "alice_smith" before "alice"


def pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """One regular expression matching any of the names, or any of their parts, as a whole word."""
    words = _words(names)
    if not words:
        return None
    return re.compile(r"(?<![^\W_])(?:" + "|".join(map(re.escape, words)) + r")(?![^\W_])", re.IGNORECASE)


def anonymise(text: str, names: Iterable[str] | re.Pattern[str] | None) -> str:
    """``text`` with every name (see the module) replaced by :data:`PLACEHOLDER`."""
    rx = names if isinstance(names, re.Pattern) or names is None else pattern(names)
    return text if rx is None else rx.sub(PLACEHOLDER, text)
