"""The process map: a :func:`analytics.process_layout.layered_layout` drawn as an SVG.

Plain SVG, not a plotly figure: the map is boxes, lines and words at fixed pixel places,
with no axes to zoom, and a plotly figure cost the server 60-150 ms to build and the browser
about as much again to draw on every scenario change; an SVG string is built in a few
milliseconds and drawn by the browser at once. Hover text is each element's ``<title>``.
Every name is escaped (:func:`dashboard.escape.svg_text`); the page draws the map with
:func:`dashboard.escape.draw_svg`.
"""

from __future__ import annotations

import math

import polars as pl

from analytics.process_layout import LINE_PX, MapLayout
from dashboard.charts import BLUE, GREY, ORANGE, RED
from dashboard.escape import svg_text
from dashboard.fmt import number

PAD_PX = 24
FONT_PX = 12
LOOP_FONT_PX = 11  # 10 read as 9 px once the map is scaled into the column
INK = "#18181B"
HEAD_PX = 9  # arrowhead length and width
HIT_PX = 10  # an invisible stroke this wide around each line catches the pointer for hover
# Plotly's font, which the layout's character width (CHAR_PX) was measured against.
FONT = "'Open Sans', verdana, arial, sans-serif"


def process_map_svg(
    layout: MapLayout,
    edges: pl.DataFrame,
    manual: set[str],
    standard: set[tuple[str, str]],
    words: dict[str, str],
) -> str:
    """The map drawn at its own pixel size (1 layout unit = 1 px, scaled down only in a
    narrower column), so labels, laid out not to overlap, never do: activities as boxes
    (orange border where manual exceptions enter, tinted when on the standard path); lines
    1-7 px thick by their transitions (relative to the busiest edge), red for rework and
    back edges, blue along the ``standard`` path, grey for the other deviations, each ending
    in an arrowhead; counts and median times on hover (``words``: "transitions", "cases",
    "median", "minutes" in the reader's language); a self-loop's count just above its box's
    right corner, in the gap between boxes. Every name is escaped (it comes from the data)."""
    width, height = layout.width + 2 * PAD_PX, layout.height + 2 * PAD_PX
    on_path = {n for e in standard for n in e}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="{-PAD_PX} {-PAD_PX} {width:.0f} {height:.0f}" font-family="{FONT}" '
        'style="max-width:100%;height:auto;background:white">'
    ]
    for name, (x0, y0, x1, y1) in layout.boxes.items():
        border = ORANGE if name in manual else "#3F3F46"
        fill = "#EFF6FF" if name in on_path else "white"
        parts.append(
            f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" '
            f'fill="{fill}" stroke="{border}" stroke-width="2"/>'
        )
    top = max(int(edges["count"].max() or 1), 1) if edges.height else 1
    for row in edges.iter_rows(named=True):
        edge = (row["source"], row["target"])
        if edge not in layout.routes:
            continue
        points = layout.routes[edge]
        color = RED if row["rework"] or edge in layout.back else BLUE if edge in standard else GREY
        hover = (
            f"{row['source']} → {row['target']}\n{words['transitions']}: {number(row['count'])}"
            f"\n{words['cases']}: {number(row['cases'])}"
            f"\n{words['median']}: {number((row['median_s'] or 0) / 60)} {words['minutes']}"
        )
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        head = " ".join(f"{x:.1f},{y:.1f}" for x, y in arrowhead(points[-2], points[-1]))
        parts.append(
            f"<g><title>{svg_text(hover)}</title>"
            f'<polyline points="{line}" fill="none" stroke="{color}" stroke-opacity="0.6" '
            f'stroke-width="{round(1 + 6 * row["count"] / top)}"/>'
            f'<polygon points="{head}" fill="{color}"/>'
            f'<polyline points="{line}" fill="none" stroke="transparent" '
            f'stroke-width="{HIT_PX}"/></g>'
        )
    for name, (x0, y0, x1, y1) in layout.boxes.items():
        lines = layout.labels[name].split("\n")
        x, y = (x0 + x1) / 2, (y0 + y1) / 2 - (len(lines) - 1) * LINE_PX / 2
        spans = "".join(
            f'<tspan x="{x:.1f}" dy="{LINE_PX if i else 0}">{svg_text(text)}</tspan>'
            for i, text in enumerate(lines)
        )
        parts.append(
            f"<g><title>{svg_text(name)}</title>"
            f'<text y="{y:.1f}" font-size="{FONT_PX}" fill="{INK}" text-anchor="middle" '
            f'dominant-baseline="central">{spans}</text></g>'
        )
    loops = edges.filter(pl.col("source") == pl.col("target"))
    for row in loops.iter_rows(named=True):
        if row["source"] in layout.boxes:
            _, y0, x1, _ = layout.boxes[row["source"]]
            parts.append(
                f'<text x="{x1:.1f}" y="{y0 - 3:.1f}" font-size="{LOOP_FONT_PX}" fill="{RED}" '
                f'text-anchor="end">↻ {number(row["count"])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def arrowhead(
    before: tuple[float, float], end: tuple[float, float]
) -> tuple[tuple[float, float], ...]:
    """The arrowhead of a route ending ``before`` -> ``end``: a triangle whose tip is the
    route's end (on the target box's border), ``HEAD_PX`` long back along the last segment
    and ``HEAD_PX`` wide across it."""
    dx, dy = end[0] - before[0], end[1] - before[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length  # along the segment
    bx, by = end[0] - ux * HEAD_PX, end[1] - uy * HEAD_PX  # the base's midpoint
    half = HEAD_PX / 2
    return end, (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)
