"""Tiny inline-SVG charts for report.html: no JavaScript, no external files, opens offline.

Every piece of text is HTML-escaped; numbers are formatted here, so callers pass plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

W, H = 460, 260
PAD_L, PAD_R, PAD_T, PAD_B = 48, 16, 16, 40
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def _frame(
    x_label: str,
    y_label: str,
    x_ticks: Sequence[tuple[float, str]],
    y_ticks: Sequence[tuple[float, str]],
    body: str,
    title: str,
) -> str:
    """Axes, ticks and labels around `body`; tick positions are already in pixels."""
    x0, x1, y0, y1 = PAD_L, W - PAD_R, H - PAD_B, PAD_T
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#444"/>',
        f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#444"/>',
    ]
    for px, label in x_ticks:
        parts.append(f'<line x1="{px:.1f}" y1="{y0}" x2="{px:.1f}" y2="{y0 + 4}" stroke="#444"/>')
        parts.append(
            f'<text x="{px:.1f}" y="{y0 + 16}" font-size="11" text-anchor="middle">{escape(label)}</text>'
        )
    for py, label in y_ticks:
        parts.append(f'<line x1="{x0}" y1="{py:.1f}" x2="{x1}" y2="{py:.1f}" stroke="#eee"/>')
        parts.append(
            f'<text x="{x0 - 6}" y="{py + 4:.1f}" font-size="11" text-anchor="end">{escape(label)}</text>'
        )
    parts.append(body)
    parts.append(
        f'<text x="{(x0 + x1) / 2:.1f}" y="{H - 6}" font-size="12" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    parts.append(
        f'<text x="12" y="{(y0 + y1) / 2:.1f}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 12 {(y0 + y1) / 2:.1f})">{escape(y_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    series: dict[str, Sequence[tuple[float, float]]],
    *,
    x_label: str,
    y_label: str,
    title: str,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] = (0.0, 1.0),
    x_ticks: Sequence[float] | None = None,
) -> str:
    """One polyline with dots per series, and a legend. Empty series are left out."""
    series = {k: list(v) for k, v in series.items() if v}
    if not series:
        return '<p class="muted">(no data to plot)</p>'
    xs = [x for pts in series.values() for x, _ in pts]
    lo, hi = x_range or (min(xs), max(xs))
    hi = hi if hi > lo else lo + 1
    ylo, yhi = y_range

    def px(x: float) -> float:
        return PAD_L + (x - lo) / (hi - lo) * (W - PAD_L - PAD_R)

    def py(y: float) -> float:
        return H - PAD_B - (min(max(y, ylo), yhi) - ylo) / (yhi - ylo) * (H - PAD_T - PAD_B)

    body = []
    for i, (name, pts) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        body += [
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{colour}">'
            f"<title>{escape(name)}: ({_num(x)}, {y:.3f})</title></circle>"
            for x, y in pts
        ]
        ly = PAD_T + 14 + 16 * i
        body.append(
            f'<rect x="{W - PAD_R - 130}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{W - PAD_R - 115}" y="{ly}" font-size="11">{escape(name)}</text>'
        )
    at = x_ticks if x_ticks is not None else [lo + (hi - lo) * t / 5 for t in range(6)]
    y_ticks = [(py(ylo + (yhi - ylo) * t / 5), f"{ylo + (yhi - ylo) * t / 5:.1f}") for t in range(6)]
    return _frame(x_label, y_label, [(px(x), _num(x)) for x in at], y_ticks, "".join(body), title)


def histogram(values: Sequence[float], *, x_label: str, title: str, bins: int = 30) -> str:
    """Counts in equal-width bins from 0 to the largest value."""
    if not values:
        return '<p class="muted">(no data to plot)</p>'
    hi = max(values) or 1.0
    width = hi / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int(v / width))] += 1
    top = max(counts)
    inner_w, inner_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    bw = inner_w / bins
    body = [
        f'<rect x="{PAD_L + i * bw + 0.5:.1f}" y="{H - PAD_B - c / top * inner_h:.1f}" '
        f'width="{max(bw - 1, 0.5):.1f}" height="{c / top * inner_h:.1f}" fill="{COLOURS[0]}">'
        f"<title>{_num(i * width)}–{_num((i + 1) * width)}: {c}</title></rect>"
        for i, c in enumerate(counts)
        if c
    ]
    x_ticks = [(PAD_L + inner_w * t / 5, _num(hi * t / 5)) for t in range(6)]
    y_ticks = [(H - PAD_B - inner_h * t / 4, _num(top * t / 4)) for t in range(5)]
    return _frame(x_label, "questions", x_ticks, y_ticks, "".join(body), title)


def _num(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 10 or float(x).is_integer() else f"{x:.2f}"
