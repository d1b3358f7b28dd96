"""Plots for reports: a training check's curves (the student's loss beside the reference's) as a PNG."""

from __future__ import annotations

import base64
import io


def curves_png(curves: dict[str, list[float]], title: str = "") -> bytes:
    """One small line chart of every series in ``curves`` (matplotlib, Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 3.0), dpi=90)
    ax = fig.subplots()
    for name, values in curves.items():
        style = "--" if "reference" in name else "-"
        ax.plot(range(1, len(values) + 1), values, style, label=name, linewidth=1.6)
    ax.set_xlabel("step")
    ax.set_ylabel("value")
    if title:
        ax.set_title(title, fontsize=9)
    values = [v for vals in curves.values() for v in vals]
    if values and min(values) > 0:  # losses span decades: a log scale shows the tail
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def curves_data_uri(curves: dict[str, list[float]], title: str = "") -> str:
    """The chart as a ``data:`` URI, to embed in a self-contained HTML page."""
    return "data:image/png;base64," + base64.b64encode(curves_png(curves, title)).decode("ascii")
