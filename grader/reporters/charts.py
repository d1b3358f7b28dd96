"""Charts for self-contained pages: small SVG documents built as text (no plotting library, no fonts to embed),
returned as ``data:`` URIs for an ``<img>``.  An SVG in an ``<img>`` runs no script and loads nothing, so a
label, though always escaped here, could not do harm even if it held markup."""

from __future__ import annotations

import base64
from html import escape

#: Colours of the stacked bars: full marks, partial, zero (and the histogram's bars).
FULL, PARTIAL, ZERO, BAR = "#2e7d32", "#f9a825", "#c62828", "#1565c0"
_FONT = 'font-family="sans-serif" font-size="11"'


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _svg(width: int, height: int, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><rect width="{width}" height="{height}" fill="#fff"/>'
        + "".join(body)
        + "</svg>"
    )


def histogram(bands: list[tuple[str, int]], *, width: int = 640, height: int = 240) -> str:
    """Vertical bars, one per (label, count), the count above each bar."""
    top, bottom, left = 20, 40, 10
    most = max((n for _, n in bands), default=0) or 1
    slot = (width - 2 * left) / max(1, len(bands))
    plot = height - top - bottom
    body = [f'<line x1="{left}" y1="{top + plot}" x2="{width - left}" y2="{top + plot}" stroke="#888"/>']
    for i, (label, n) in enumerate(bands):
        h = plot * n / most
        x = left + i * slot
        body.append(
            f'<rect x="{x + 4:.1f}" y="{top + plot - h:.1f}" width="{slot - 8:.1f}" height="{h:.1f}" fill="{BAR}"/>'
        )
        cx = x + slot / 2
        body.append(f'<text x="{cx:.1f}" y="{top + plot - h - 4:.1f}" text-anchor="middle" {_FONT}>{n}</text>')
        body.append(f'<text x="{cx:.1f}" y="{top + plot + 16:.1f}" text-anchor="middle" {_FONT}>{escape(label)}</text>')
    return _svg(width, height, body)


def stacked(
    rows: list[tuple[str, tuple[float, float, float]]], legend: tuple[str, str, str], *, width: int = 760
) -> str:
    """One horizontal bar per (label, (full, partial, zero) fractions), in the order given, with a legend."""
    row, label_w, top = 18, 190, 26
    height = top + row * len(rows) + 10
    bar_w = width - label_w - 20
    colours = (FULL, PARTIAL, ZERO)
    body = []
    for i, (name, colour) in enumerate(zip(legend, colours)):
        lx = label_w + i * 130
        body.append(f'<rect x="{lx}" y="6" width="12" height="12" fill="{colour}"/>')
        body.append(f'<text x="{lx + 16}" y="16" {_FONT}>{escape(name)}</text>')
    for j, (label, fractions) in enumerate(rows):
        y = top + j * row
        body.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" {_FONT}>{escape(label)}</text>')
        x = float(label_w)
        for frac, colour in zip(fractions, colours):
            w = bar_w * max(0.0, frac)
            if w > 0:
                body.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row - 4}" fill="{colour}"/>')
            x += w
    return _svg(width, height, body)
