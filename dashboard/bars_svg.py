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
VALUE_ROOM = 0.16  # of the width, kept on each side for the bars' end labels (at least)
CHAR_PX = 0.6 * LABEL_PX  # a character's mean width, generous: room for the end labels
# The app's own font: Streamlit 1.67 serves it as "Source Sans" (the older name after it)
FONT = "'Source Sans', 'Source Sans Pro', sans-serif"
INK = "#31333F"
HALO = 'stroke="#FFFFFF" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'


@dataclass(frozen=True)
class Bar:
    """One bar from ``start`` to ``end`` (in the data's units), its ``color``, the short
    ``text`` written at its end and the ``hover`` text."""

    start: float
    end: float
    color: str
    text: str
    hover: str


def bars_svg(
    rows: list[tuple[str, list[Bar]]],
    base: float = 0.0,
    base_text: str = "",
    width: float = WIDTH_PX,
) -> str:
    """Each row a label above its bars, on one value scale shared by every row and running
    through ``base`` (a vertical line there, with ``base_text`` under it), on a drawing
    ``width`` wide (about its column's width on screen, so that its texts keep their size).
    A bar's end label sits beyond its end, on the side it grows to."""
    values = [base] + [v for _, bars in rows for b in bars for v in (b.start, b.end)]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    # Each side keeps room for the longest end label ("228,8 млн ₽" on a narrow drawing).
    longest = max((len(b.text) for _, bars in rows for b in bars), default=0)
    room = max(width * VALUE_ROOM, longest * CHAR_PX + 8)
    inner = width - 2 * room

    def x(value: float) -> float:
        return room + (value - low) / span * inner

    height = ROW_PX * len(rows) + (LABEL_PX + 6 if base_text else 4)
    line = x(base)
    bottom = ROW_PX * len(rows)
    # The base line first, under the rows, a piece a row: over a row whose label may reach
    # it (at a generous width a character) it starts below the label, which it would strike
    # through (the halo hides it under the letters, not between the words); bars starting
    # at the base hide it where they meet.
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height}" '
        f'width="100%" font-family="{FONT}" font-size="{LABEL_PX}" fill="{INK}">',
    ]
    for i, (label, _) in enumerate(rows):
        top = i * ROW_PX
        start = top + LABEL_PX + 2 if len(label) * CHAR_PX + 4 >= line else top
        parts.append(
            f'<line x1="{line:.1f}" x2="{line:.1f}" y1="{start}" y2="{top + ROW_PX}" '
            f'stroke="{INK}"/>'
        )
    for i, (label, bars) in enumerate(rows):
        top = i * ROW_PX
        parts.append(f'<text x="0" y="{top + LABEL_PX - 2}" {HALO}>{svg_text(label)}</text>')
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
    if base_text:
        parts.append(
            f'<text x="{line:.1f}" y="{bottom + LABEL_PX}" text-anchor="middle">'
            f"{svg_text(base_text)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
