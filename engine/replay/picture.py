"""The equity-curve picture of a replay: PNG with matplotlib, else a hand-written SVG."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from engine.clock import ns_to_ist
from engine.replay.report import EquityPoint

WIDTH, HEIGHT, PAD = 900, 360, 50


def write_equity_picture(points: Sequence[EquityPoint], stem: Path, title: str) -> Path:
    """Draw net equity over simulated time to ``stem.png`` (or ``stem.svg``); returns the path."""
    try:
        import matplotlib
    except ImportError:
        return _write_svg(points, stem.with_suffix(".svg"), title)
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    path = stem.with_suffix(".png")
    figure, axes = plt.subplots(figsize=(9, 3.6), dpi=100)
    try:
        times = [ns_to_ist(p.ts_ns) for p in points]
        axes.plot(times, [p.equity for p in points], color="#1f77b4", linewidth=1.2)
        axes.set_title(f"{title}: net equity (IST)")
        axes.set_ylabel("rupees")
        axes.grid(alpha=0.3)
        figure.autofmt_xdate()
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path


def _write_svg(points: Sequence[EquityPoint], path: Path, title: str) -> Path:
    values = [p.equity for p in points] or [0.0]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    coords = " ".join(
        f"{PAD + i * step:.1f},{HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD):.1f}"
        for i, v in enumerate(values)
    )
    first = ns_to_ist(points[0].ts_ns).strftime("%Y-%m-%d %H:%M") if points else ""
    last = ns_to_ist(points[-1].ts_ns).strftime("%Y-%m-%d %H:%M") if points else ""
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<text x="{PAD}" y="24" font-size="14">{escape(title)}: net equity (IST)</text>'
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{coords}"/>'
        f'<text x="4" y="{PAD}" font-size="11">{high:,.0f}</text>'
        f'<text x="4" y="{HEIGHT - PAD}" font-size="11">{low:,.0f}</text>'
        f'<text x="{PAD}" y="{HEIGHT - 16}" font-size="11">{first}</text>'
        f'<text x="{WIDTH - PAD - 90}" y="{HEIGHT - 16}" font-size="11">{last}</text>'
        "</svg>\n",
        encoding="utf-8",
    )
    return path
