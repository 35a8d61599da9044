"""Line charts as a plain SVG: Economics' projection and returns curve, the Workshop's
lines, a daily forecast with its interval (a shaded :class:`Band`).

Two plotly figures redrawn on every change of an input were most of the browser's work
there (plotly.js lays out axes, margins and tick labels again, 0.1-0.2 s a chart on this
VM's browser, before the page could take the server's next message). A few lines need
none of it: this draws them at once. Each point's exact value is its hover text
(``<title>``); every text is escaped (:func:`dashboard.escape.svg_text`); pages draw the
result with :func:`dashboard.escape.draw_svg`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dashboard.bars_svg import FONT, INK
from dashboard.escape import svg_text

# The drawing's own width (it scales to its column) is about its column's at 1366-1440 px,
# so its texts keep about their size; the plot area is this share of it high.
WIDTH_PX = 540
PLOT_SHARE = 0.45
FONT_PX = 12
CHAR_PX = 0.6 * FONT_PX  # a character's mean width: room for the tick labels and legend
GRID = "#E4E4E7"
HOVER_PX = 6  # radius of a point's hover target where no marker is drawn


@dataclass(frozen=True)
class Series:
    """A line through ``points`` (x, y), each with its ``hovers`` text; ``name`` is its
    legend entry ("" for none), ``marker`` the radius of the dots drawn on its points (0:
    none, the points still answer the pointer)."""

    name: str
    points: Sequence[tuple[float, float]]
    hovers: Sequence[str]
    color: str
    dashed: bool = False
    marker: float = 3.0


@dataclass(frozen=True)
class Band:
    """The area between ``low`` and ``high`` at each x of ``points`` (x, low, high), an
    interval around a line; ``name`` is its legend entry ("" for none)."""

    name: str
    points: Sequence[tuple[float, float, float]]
    color: str
    opacity: float = 0.15


def nice_ticks(low: float, high: float, count: int = 5, min_step: float = 0.0) -> list[float]:
    """Round values (1, 2 or 5 x 10^k apart, at least ``min_step``) from the first at or
    below ``low`` to the first at or above ``high``: about ``count`` intervals (a single
    value: it and the next whole number)."""
    if low == high:
        return [low, low + 1]
    span = high - low
    magnitude = 10 ** math.floor(math.log10(span / count))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= span / count)
    step = max(step, min_step)
    first, last = math.floor(low / step), math.ceil(high / step)
    return [i * step for i in range(first, last + 1)]


def lines_svg(
    series: Sequence[Series],
    x_label: Callable[[float], str],
    y_label: Callable[[float], str],
    x_title: str = "",
    y_title: str = "",
    x_step: float = 0.0,
    guides: Sequence[float] = (),
    width: float = WIDTH_PX,
    bands: Sequence[Band] = (),
) -> str:
    """The ``series`` on shared axes: y from round values through 0 (gridlines labelled by
    ``y_label``), x over the data's own range (round ticks at least ``x_step`` apart,
    labelled by ``x_label``), dashed vertical ``guides``, shaded ``bands`` under the lines,
    axis titles, and a legend below of the named bands and series, on a drawing ``width``
    wide."""
    xs = [x for s in series for x, _ in s.points] + [x for b in bands for x, _, _ in b.points]
    ys = [y for s in series for _, y in s.points]
    ys += [y for b in bands for _, low, high in b.points for y in (low, high)]
    y_ticks = nice_ticks(min(0.0, *ys), max(0.0, *ys))
    x_low, x_high = min(xs), max(xs)
    y_texts = [y_label(v) for v in y_ticks]
    left = max(len(s) for s in y_texts) * CHAR_PX + 10 + (FONT_PX + 8 if y_title else 0)
    right = width - max(len(x_label(x_high)) * CHAR_PX / 2, 12)
    x_ticks = _fitting_ticks(x_low, x_high, x_step, x_label, right - left)
    top, bottom = 8, 8 + round(PLOT_SHARE * width)

    def px(x: float) -> float:
        return left + (x - x_low) / ((x_high - x_low) or 1.0) * (right - left)

    def py(y: float) -> float:
        return bottom - (y - y_ticks[0]) / (y_ticks[-1] - y_ticks[0]) * (bottom - top)

    parts = []
    for value, text in zip(y_ticks, y_texts, strict=True):
        y = py(value)
        stroke = INK if value == 0 else GRID
        parts.append(f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{y:.1f}" y2="{y:.1f}" ')
        parts.append(f'stroke="{stroke}" stroke-width="{1 if value == 0 else 0.8}"/>')
        parts.append(f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">')
        parts.append(f"{svg_text(text)}</text>")
    for value in x_ticks:
        x = px(value)
        parts.append(f'<text x="{x:.1f}" y="{bottom + FONT_PX + 4}" text-anchor="middle">')
        parts.append(f"{svg_text(x_label(value))}</text>")
    for value in guides:
        x = px(value)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="')
        parts.append(f'{INK}" stroke-opacity="0.5" stroke-dasharray="5 4"/>')
    for band in bands:
        edge = [(px(x), py(high)) for x, _, high in band.points]
        edge += [(px(x), py(low)) for x, low, _ in reversed(band.points)]
        outline = " ".join(f"{x:.1f},{y:.1f}" for x, y in edge)
        parts.append(f'<polygon points="{outline}" fill="{band.color}" ')
        parts.append(f'fill-opacity="{band.opacity}" stroke="none"/>')
    for s in series:
        at = [(px(x), py(y)) for x, y in s.points]
        dash = ' stroke-dasharray="2 3"' if s.dashed else ""
        if len(at) > 1:
            line = " ".join(f"{x:.1f},{y:.1f}" for x, y in at)
            parts.append(f'<polyline points="{line}" fill="none" stroke="{s.color}" ')
            parts.append(f'stroke-width="2"{dash}/>')
        radius, opacity = (s.marker, 1) if s.marker else (HOVER_PX, 0)
        for (x, y), hover in zip(at, s.hovers, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{s.color}" ')
            parts.append(f'fill-opacity="{opacity}"><title>{svg_text(hover)}</title></circle>')
    height = bottom + FONT_PX + 8
    if x_title:
        height += FONT_PX + 6
        middle = (left + right) / 2
        parts.append(f'<text x="{middle:.1f}" y="{height - 4}" text-anchor="middle">')
        parts.append(f"{svg_text(x_title)}</text>")
    if y_title:
        middle = (top + bottom) / 2
        parts.append(f'<text transform="translate({FONT_PX},{middle:.1f}) rotate(-90)" ')
        parts.append(f'text-anchor="middle">{svg_text(y_title)}</text>')
    named = [b for b in bands if b.name] + [s for s in series if s.name]
    legend, height = _legend(named, left, height, width)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" font-family="{FONT}" font-size="{FONT_PX}" fill="{INK}">'
    )
    return "".join([head, *parts, *legend, "</svg>"])


def _fitting_ticks(
    low: float, high: float, step: float, label: Callable[[float], str], room: float
) -> list[float]:
    """Round x ticks within ``low``..``high``, as many as fit ``room`` px with their
    labels apart (6 at most, down to the two ends' round values)."""
    for count in range(6, 0, -1):
        ticks = [v for v in nice_ticks(low, high, count, step) if low <= v <= high]
        widest = max((len(label(v)) for v in ticks), default=0) * CHAR_PX
        if len(ticks) < 2 or (ticks[1] - ticks[0]) / ((high - low) or 1.0) * room > widest + 8:
            return ticks
    return ticks[:1]


def _legend(
    named: Sequence[Series | Band], left: float, top: float, width: float
) -> tuple[list[str], float]:
    """A sample of each series' line (a band's patch) and its name, in rows that wrap at
    the width; the legend's parts and the drawing's height with it."""
    if not named:
        return [], top
    parts: list[str] = []
    x, y = left, top + FONT_PX + 8
    for s in named:
        room = 28 + len(s.name) * CHAR_PX + 18
        if x + room > width and x > left:
            x, y = left, y + FONT_PX + 8
        if isinstance(s, Band):
            parts.append(f'<rect x="{x:.1f}" y="{y - 9}" width="22" height="10" ')
            parts.append(f'fill="{s.color}" fill-opacity="{s.opacity}"/>')
        else:
            dash = ' stroke-dasharray="2 3"' if s.dashed else ""
            parts.append(f'<line x1="{x:.1f}" x2="{x + 22:.1f}" y1="{y - 4}" y2="{y - 4}" ')
            parts.append(f'stroke="{s.color}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="{x + 28:.1f}" y="{y}">{svg_text(s.name)}</text>')
        x += room
    return parts, y + 6
