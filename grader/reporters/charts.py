"""Charts for self-contained pages: small SVG documents built as text (no plotting library, no fonts to embed),
returned as ``data:`` URIs for an ``<img>``.  An SVG in an ``<img>`` runs no script and loads nothing, so a
label, though always escaped here, could not do harm even if it held markup."""

from __future__ import annotations

import base64
import math
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


#: Colours of a line chart's series, in order (a series named like the reference is dashed as well).
LINES = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2 or 5 times a power of ten apart) from ``low`` to ``high``."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    return [k * step for k in range(first, math.floor(high / step + 1e-9) + 1)]


def lines(
    curves: dict[str, list[float]], *, title: str = "", xlabel: str = "step", width: int = 450, height: int = 270
) -> str:
    """One line per series of ``curves`` against its step (1, 2, …; the axis labelled ``xlabel``), with a legend;
    on a log scale when every value is positive (losses span decades: the tail shows).  Values that are not finite
    break the line.

    >>> svg = lines({"loss": [2.3, 0.4], "reference loss": [2.3, 0.3]}, title="training")
    >>> svg.startswith("<svg") and svg.count("<polyline") == 2
    True
    """
    steps = max((len(vals) for vals in curves.values()), default=1)
    series = {name: _drawn(values) for name, values in curves.items()}
    finite = [v for points in series.values() for _, v in points if math.isfinite(v)]
    log = bool(finite) and min(finite) > 0
    # linear: clipped where a span would overflow (a student's loss of 1e308 is drawn as 1e150)
    scale = (lambda v: math.log10(v)) if log else (lambda v: max(-_CLIP, min(_CLIP, v)))
    low, high = (min(map(scale, finite)), max(map(scale, finite))) if finite else (0.0, 1.0)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    left, right, top, bottom = 58, 12, 26 if title else 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(step: float) -> float:
        return left + plot_w * ((step - 1) / (steps - 1) if steps > 1 else 0.5)

    def y(value: float) -> float:
        return top + plot_h * (1 - (scale(value) - low) / (high - low))

    body = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>']
    if title:
        body.append(f'<text x="{left + plot_w / 2:.1f}" y="16" text-anchor="middle" {_FONT}>{escape(title)}</text>')
    if log:  # the extremes, and powers of ten between them (at most five, none too close to an extreme)
        every = max(1, math.ceil((high - low) / 5))
        inside = [
            k
            for k in range(math.ceil(low), math.floor(high) + 1, every)
            if min(k - low, high - k) * plot_h > 14 * (high - low)
        ]
        y_ticks = [10.0**low, *(10.0**k for k in inside), 10.0**high]
    else:
        y_ticks = _ticks(low, high)
    for v in y_ticks:
        ty = y(v)
        body.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{left + plot_w}" y2="{ty:.1f}" stroke="#eee"/>')
        body.append(f'<text x="{left - 4}" y="{ty + 4:.1f}" text-anchor="end" {_FONT}>{v:.3g}</text>')
    for s in (t for t in _ticks(1, steps) if t == int(t)) if steps > 1 else [1.0]:
        tx = x(s)
        body.append(f'<text x="{tx:.1f}" y="{top + plot_h + 15}" text-anchor="middle" {_FONT}>{int(s)}</text>')
    label = escape(xlabel)
    body.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" {_FONT}>{label}</text>')
    for i, (name, points) in enumerate(series.items()):
        colour = LINES[i % len(LINES)]
        dash = ' stroke-dasharray="5 3"' if "reference" in name else ""
        for run in _finite_runs(points):
            xy = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in run)
            body.append(f'<polyline points="{xy}" fill="none" stroke="{colour}" stroke-width="1.6"{dash}/>')
        ly = top + 8 + 15 * i
        lx = left + plot_w - 150
        body.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 20}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash}/>')
        body.append(f'<text x="{lx + 24}" y="{ly + 4}" {_FONT}>{escape(name)}</text>')
    return _svg(width, height, body)


#: Values beyond this are drawn at it on a linear scale (the span of two of them stays a finite float).
_CLIP = 1e150
#: Points drawn per series at most: the plot is a few hundred pixels wide.
_DRAWN = 600


def _drawn(values: list[float]) -> list[tuple[int, float]]:
    """The (step, value) pairs drawn of ``values``: at most :data:`_DRAWN`, evenly strided, the last always kept, so
    a chart's size does not grow with the series (a student's training loop decides how many losses it reports)."""
    stride = max(1, math.ceil((len(values) - 1) / (_DRAWN - 1)))  # the strided part leaves room for the last
    points = [(step, values[step - 1]) for step in range(1, len(values) + 1, stride)]
    if values and points[-1][0] != len(values):
        points.append((len(values), values[-1]))
    return points


def _finite_runs(points: list[tuple[int, float]]) -> list[list[tuple[int, float]]]:
    """``points`` in runs of finite values (a NaN or an infinity ends a run)."""
    runs: list[list[tuple[int, float]]] = [[]]
    for step, v in points:
        if math.isfinite(v):
            runs[-1].append((step, v))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]
