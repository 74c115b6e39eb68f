"""Charts drawn on the server as inline SVG: no script, printed as shown.

Each chart is an image with a title for screen readers (``role="img"``); the table
beside it carries the same figures, which is what the page's readers and its tests read.
Colours are WCAG AA on white, and every bar and point also carries its figure in text.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR = "#0b5cad"
MET = "#1a7f37"
MISSED = "#cf222e"
INK = "#1b1f24"
GRID = "#d0d7de"


def _open(chart_id: str, width: int, height: int) -> str:
    ident = escape(chart_id)
    return (
        f'<svg class="chart" id="{ident}" role="img" aria-labelledby="{ident}-t"'
        f' viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet"'
        ' xmlns="http://www.w3.org/2000/svg">'
    )


def bars(chart_id: str, title: str, rows: Sequence[tuple[str, int]], colour: str = BAR) -> Markup:
    """Horizontal bars, one a row, its label on the left and its count at its end."""
    width, label_w, row_h = 520, 190, 26
    height = max(1, len(rows)) * row_h + 8
    top = max([v for _, v in rows] + [1])
    parts = [
        _open(chart_id, width, height),
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
    ]
    span = width - label_w - 60
    for i, (name, value) in enumerate(rows):
        y = 4 + i * row_h
        w = round(span * value / top) if value else 0
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="13" fill="{INK}">'
            f"{escape(name)}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1)}" height="{row_h - 8}"'
            f' fill="{colour}"/>'
            f'<text x="{label_w + w + 6}" y="{y + 17}" font-size="13" fill="{INK}">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def shares(chart_id: str, title: str, series: Sequence[tuple[str, Sequence[float | None]]],
           months: Sequence[str]) -> Markup:  # fmt: skip
    """Lines of shares (0 to 1) over months; a month with nothing started has no point."""
    width, height, left, bottom, top = 560, 220, 44, 40, 12
    plot_w, plot_h = width - left - 12, height - bottom - top
    step = plot_w / max(1, len(months) - 1)
    colours = (MET, BAR, MISSED)
    dashes = ("", "6 3", "2 3")
    parts = [
        _open(chart_id, width, height),
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
    ]
    for pct in (0, 50, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(
            f'<line x1="{left}" x2="{width - 12}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12"'
            f' fill="{INK}">{pct}%</text>'
        )
    for i, month in enumerate(months):
        if i % 2 == len(months) % 2 or i == len(months) - 1:
            x = left + i * step
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle" font-size="11"'
                f' fill="{INK}">{escape(month[2:])}</text>'
            )
    for n, (name, values) in enumerate(series):
        colour, dash = colours[n % len(colours)], dashes[n % len(dashes)]
        points = [
            (left + i * step, top + plot_h * (1 - v)) for i, v in enumerate(values) if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"'
                + (f' stroke-dasharray="{dash}"' if dash else "")
                + "/>"
            )
        for x, y in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
        legend_x = left + n * 250
        parts.append(
            f'<line x1="{legend_x}" x2="{legend_x + 24}" y1="{height - 8}" y2="{height - 8}"'
            f' stroke="{colour}" stroke-width="2"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + f'/><text x="{legend_x + 30}" y="{height - 4}" font-size="12" fill="{INK}">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
