"""Untrusted text in reports: every string that came from the worker (check messages, notes, error rows)
passes through :func:`clean` before a reporter prints it, and Markdown puts it in a :func:`fence`."""

from __future__ import annotations

import re
import unicodedata

#: At most this many characters of one message reach a report.
MAX_CHARS = 4000
TRUNCATED = "… (truncated)"
#: Control, format (bidi overrides, zero-width), line/paragraph separators and lone surrogates go; \n and \t stay.
_DROP = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def clean(text: object, limit: int = MAX_CHARS) -> str:
    """``text`` as a report may print it: control and invisible characters removed (\\n and \\t kept, \\r\\n
    made \\n), at most ``limit`` characters, ending in "… (truncated)" when cut."""
    s = str(text).replace("\r\n", "\n")
    s = "".join(ch for ch in s if ch in "\n\t" or unicodedata.category(ch) not in _DROP)
    if len(s) > limit:
        s = s[: max(0, limit - len(TRUNCATED))] + TRUNCATED
    return s


def fence(text: object) -> list[str]:
    """Markdown lines of a fenced code block holding :func:`clean` ``(text)``, whatever it holds: the fence
    is longer than any run of backticks inside (so no line can close it); put it at the top level."""
    body = clean(text)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    mark = "`" * max(3, longest + 1)
    return [mark + "text", *body.split("\n"), mark]


def one_line(text: object, limit: int = 300) -> str:
    """:func:`clean` on one line (newlines and tabs become spaces): for table cells and summaries."""
    return clean(re.sub(r"\s*[\n\t]\s*", " ", str(text)).strip(), limit)
