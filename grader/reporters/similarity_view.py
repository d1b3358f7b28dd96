"""The class page's similarity section: ``similarity.json`` (written by the similarity step of ``grade``) read as
untrusted-shaped input, checked field by field, and shown as pairs with their shared fractions and the matching
regions side by side.

The document: ``{"tool": str, "threshold": float, "pairs": [{"a": str, "b": str, "shared_a": float,
"shared_b": float, "files": [{"name": str, "code_a": str, "code_b": str, "spans_a": [[start, end], ...],
"spans_b": [...]}]}]}``; spans are character offsets into ``code_a`` / ``code_b``.  Anything else is reported
in the page (:class:`Malformed`), never raised out of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from grader.i18n import _
from grader.reporters.text import clean

#: What one file's code may hold before it is cut (the page stays readable and its size bounded).
MAX_CODE = 20_000
#: Pairs shown at most (the most similar first).
MAX_PAIRS = 200
#: Files per pair and spans per file accepted at most.
MAX_FILES, MAX_SPANS = 100, 5_000
#: The file this section reads, in the gradebook folder, and the most of it that is read.
FILE, MAX_BYTES = "similarity.json", 64 * 2**20


class Malformed(ValueError):
    """similarity.json is not what the similarity step writes: the message says where."""


@dataclass
class SharedFile:
    name: str
    code_a: str
    code_b: str
    spans_a: list[tuple[int, int]]
    spans_b: list[tuple[int, int]]


@dataclass
class Pair:
    a: str
    b: str
    shared_a: float
    shared_b: float
    files: list[SharedFile]


@dataclass
class Similarity:
    tool: str
    threshold: float
    pairs: list[Pair]


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _get(doc: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(doc, dict):
        raise Malformed(f"{where or 'the document'} is not an object")
    if key not in doc:
        raise Malformed(f"{_at(where, key)} is missing")
    value = doc[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Malformed(f"{_at(where, key)} has the wrong type ({type(value).__name__})")
    return value


def _fraction(doc: Any, key: str, where: str) -> float:
    value = float(_get(doc, key, (int, float), where))
    if not 0.0 <= value <= 1.0:  # NaN too
        raise Malformed(f"{_at(where, key)} = {value:g} is not a fraction between 0 and 1")
    return value


def _spans(raw: list[Any], length: int, where: str) -> list[tuple[int, int]]:
    if len(raw) > MAX_SPANS:
        raise Malformed(f"{where} has more than {MAX_SPANS} spans")
    spans = []
    for i, span in enumerate(raw):
        ok = isinstance(span, list) and len(span) == 2 and all(type(v) is int for v in span)
        if not ok or not 0 <= span[0] <= span[1] <= length:
            raise Malformed(f"{where}[{i}] is not a [start, end] within the code (0 to {length})")
        spans.append((span[0], span[1]))
    return spans


def _file(doc: Any, where: str) -> SharedFile:
    code_a, code_b = _get(doc, "code_a", str, where), _get(doc, "code_b", str, where)
    return SharedFile(
        _get(doc, "name", str, where),
        code_a,
        code_b,
        _spans(_get(doc, "spans_a", list, where), len(code_a), f"{where}.spans_a"),
        _spans(_get(doc, "spans_b", list, where), len(code_b), f"{where}.spans_b"),
    )


def read(path: Path) -> str | Malformed | None:
    """The file's text; None where there is none; a :class:`Malformed` (returned, for the page to show) where
    it cannot be read, is not UTF-8 or is larger than :data:`MAX_BYTES`."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Malformed(f"it cannot be read ({exc.strerror})")
    if len(data) > MAX_BYTES:
        return Malformed(f"it is larger than {MAX_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return Malformed("it is not UTF-8 text")


def parse(text: str) -> Similarity:
    """The document, checked; :class:`Malformed` saying where it is not as described."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Malformed(f"it is not JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    pairs = []
    for i, p in enumerate(_get(doc, "pairs", list, "")):
        where = f"pairs[{i}]"
        files = _get(p, "files", list, where)
        if len(files) > MAX_FILES:
            raise Malformed(f"{where}.files has more than {MAX_FILES} files")
        pairs.append(
            Pair(
                _get(p, "a", str, where),
                _get(p, "b", str, where),
                _fraction(p, "shared_a", where),
                _fraction(p, "shared_b", where),
                [_file(f, f"{where}.files[{j}]") for j, f in enumerate(files)],
            )
        )
    pairs.sort(key=lambda p: -max(p.shared_a, p.shared_b))
    return Similarity(_get(doc, "tool", str, ""), _fraction(doc, "threshold", ""), pairs)


def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans sorted, overlapping and touching ones joined, empty ones dropped."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def highlighted(code: str, spans: list[tuple[int, int]]) -> str:
    """``code`` as escaped HTML with each matching region in a ``<mark>``; cut at :data:`MAX_CODE` characters.
    Offsets are into the raw code, so it is cut and escaped piece by piece, never shifted by the escaping."""
    cut = len(code) > MAX_CODE
    code = code[:MAX_CODE]

    def text(piece: str) -> str:  # control characters out; the length is already capped
        return escape(clean(piece, MAX_CODE + 1))

    out, at = [], 0
    for start, end in merged([(s, min(e, len(code))) for s, e in spans if s < len(code)]):
        out += [text(code[at:start]), "<mark>", text(code[start:end]), "</mark>"]
        at = end
    out.append(text(code[at:]))
    if cut:
        out.append(escape(_("\n… (cut here: the file is longer)")))
    return "".join(out)


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _pair_html(p: Pair, feedback_link: Any) -> str:
    head = escape(_("{a} ({shared_a} of it shared) and {b} ({shared_b} of it shared)")).format(
        a=feedback_link(p.a), shared_a=_pct(p.shared_a), b=feedback_link(p.b), shared_b=_pct(p.shared_b)
    )
    parts = [f'<details class="pair"><summary>{head}</summary>']
    for f in p.files:
        parts.append(
            f"<h4>{escape(clean(f.name, 200))}</h4>"
            f'<div class="sbs"><div><div class="meta">{escape(clean(p.a, 200))}</div>'
            f"<pre>{highlighted(f.code_a, f.spans_a)}</pre></div>"
            f'<div><div class="meta">{escape(clean(p.b, 200))}</div>'
            f"<pre>{highlighted(f.code_b, f.spans_b)}</pre></div></div>"
        )
    parts.append("</details>")
    return "".join(parts)


def section(text: str | Malformed | None, feedback_link: Any) -> str:
    """The section's HTML: "not run" without a file, a clear message for a malformed one, else the pairs.
    ``text``: what :func:`read` returned.  ``feedback_link(name)`` makes the (escaped) link to a feedback page."""
    parts = [f'<section id="similarity"><h2>{escape(_("Similarity"))}</h2>']
    if text is None:
        parts.append(f"<p>{escape(_('Not run: there is no similarity.json in this gradebook.'))}</p>")
    else:
        try:
            if isinstance(text, Malformed):
                raise text
            sim = parse(text)
        except Malformed as exc:
            message = _("similarity.json could not be shown: {problem}").format(problem=clean(str(exc), 500))
            parts.append(f'<p class="problem">{escape(message)}</p>')
        else:
            intro = _("{tool}, threshold {threshold}: {n} pairs above it.").format(
                tool=clean(sim.tool, 100), threshold=f"{sim.threshold:g}", n=len(sim.pairs)
            )
            parts.append(f"<p>{escape(intro)}</p>")
            if len(sim.pairs) > MAX_PAIRS:
                more = _("The {n} most similar pairs are shown.").format(n=MAX_PAIRS)
                parts.append(f"<p>{escape(more)}</p>")
            parts += [_pair_html(p, feedback_link) for p in sim.pairs[:MAX_PAIRS]]
    parts.append("</section>")
    return "".join(parts)
