"""Horizontal bars as a plain SVG, for the Economics page's definitions and sensitivity.

A handful of bars needs no plotly figure: four of them on the page were most of the
browser's work on every change of an input (plotly.js lays out axes, fonts and a toolbar
per chart). An SVG string is drawn at once; the exact amount of each bar is its hover text
(``<title>``) and its end carries a short label. Every text is escaped
(:func:`dashboard.escape.svg_text`); pages draw it with :func:`dashboard.escape.draw_svg`.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.escape import svg_text

WIDTH_PX = 640  # the drawing's own width; it scales to its column
ROW_PX = 40  # a label line above a bar, and a gap
BAR_PX = 16
LABEL_PX = 13  # the label line's height
VALUE_ROOM = 0.16  # of the width, kept on each side for the bars' end labels
FONT = "'Source Sans Pro', sans-serif"
INK = "#31333F"


@dataclass(frozen=True)
class Bar:
    """One bar from ``start`` to ``end`` (in the data's units), its ``color``, the short
    ``text`` written at its end and the ``hover`` text."""

    start: float
    end: float
    color: str
    text: str
    hover: str


def bars_svg(rows: list[tuple[str, list[Bar]]], base: float = 0.0, base_text: str = "") -> str:
    """Each row a label above its bars, on one value scale shared by every row and running
    through ``base`` (a vertical line there, with ``base_text`` under it). A bar's end label
    sits beyond its end, on the side it grows to."""
    values = [base] + [v for _, bars in rows for b in bars for v in (b.start, b.end)]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    inner = WIDTH_PX * (1 - 2 * VALUE_ROOM)

    def x(value: float) -> float:
        return WIDTH_PX * VALUE_ROOM + (value - low) / span * inner

    height = ROW_PX * len(rows) + (LABEL_PX + 6 if base_text else 4)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH_PX} {height}" '
        f'width="100%" font-family="{FONT}" font-size="{LABEL_PX}" fill="{INK}">'
    ]
    for i, (label, bars) in enumerate(rows):
        top = i * ROW_PX
        parts.append(f'<text x="0" y="{top + LABEL_PX - 2}">{svg_text(label)}</text>')
        for bar in bars:
            left, right = sorted((x(bar.start), x(bar.end)))
            up = bar.end >= bar.start
            y = top + LABEL_PX + 2
            at, anchor = (right + 4, "start") if up else (left - 4, "end")
            parts.append(
                f"<g><title>{svg_text(bar.hover)}</title>"
                f'<rect x="{left:.1f}" y="{y}" width="{max(right - left, 1):.1f}" '
                f'height="{BAR_PX}" fill="{bar.color}"/>'
                f'<text x="{at:.1f}" y="{y + BAR_PX - 3}" text-anchor="{anchor}">'
                f"{svg_text(bar.text)}</text></g>"
            )
    line = x(base)
    bottom = ROW_PX * len(rows)
    parts.append(f'<line x1="{line:.1f}" x2="{line:.1f}" y1="0" y2="{bottom}" stroke="{INK}"/>')
    if base_text:
        parts.append(
            f'<text x="{line:.1f}" y="{bottom + LABEL_PX}" text-anchor="middle">'
            f"{svg_text(base_text)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
