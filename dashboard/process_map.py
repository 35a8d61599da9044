"""The process map: a :func:`analytics.process_layout.layered_layout` drawn with plotly."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics.process_layout import MapLayout
from dashboard.charts import BLUE, GREY, ORANGE, RED

PAD_PX = 24
FONT_PX = 12
LOOP_FONT_PX = 10
INK = "#18181B"
HEAD_PX = 9  # arrowhead marker size


@st.cache_resource(show_spinner=False, max_entries=64)
def cached_figure(
    key: tuple[object, ...],
    _layout: MapLayout,
    _edges: pl.DataFrame,
    _manual: frozenset[str],
    _standard: frozenset[tuple[str, str]],
    _words: tuple[tuple[str, str], ...],
) -> go.Figure:
    """:func:`process_map_figure`, built once per ``key`` (the dataset's content hash and
    every choice the map depends on, the language included): plotly's validation of a
    map's shapes and annotations takes a few hundred milliseconds a time. Never mutated."""
    del key
    return process_map_figure(_layout, _edges, set(_manual), set(_standard), dict(_words))


def process_map_figure(
    layout: MapLayout,
    edges: pl.DataFrame,
    manual: set[str],
    standard: set[tuple[str, str]],
    words: dict[str, str],
) -> go.Figure:
    """The map drawn at its own pixel size (1 layout unit = 1 px), so labels, laid out not
    to overlap, never do: activities as boxes (orange border where manual exceptions
    enter, tinted when on the standard path); lines 1-7 px thick by their transitions
    (relative to the busiest edge), red for rework and back edges, blue along the
    ``standard`` path, grey for the other deviations; counts and median times on hover
    (``words``: "transitions", "cases", "median", "minutes" in the reader's language); a
    self-loop's count just above its box, in the gap between boxes; arrowheads as markers
    turned along each route's last segment."""
    # Traces, shapes and annotations are collected first and handed over once: adding them
    # one by one revalidates the whole figure each time (seconds for a map of 40 edges).
    # Edges of one colour and (whole-pixel) width share a trace, their routes separated by
    # gaps, each point hovering with its edge's text.
    lines: dict[tuple[str, int], tuple[list[float | None], ...]] = {}
    heads: dict[str, tuple[list[float], list[float], list[float]]] = {}
    shapes: list[dict[str, object]] = []
    notes: list[dict[str, object]] = []
    top = max(int(edges["count"].max() or 1), 1) if edges.height else 1
    for row in edges.iter_rows(named=True):
        edge = (row["source"], row["target"])
        if edge not in layout.routes:
            continue
        points = layout.routes[edge]
        color = RED if row["rework"] or edge in layout.back else BLUE if edge in standard else GREY
        hover = (
            f"{row['source']} → {row['target']}<br>{words['transitions']}: {row['count']:,}"
            f"<br>{words['cases']}: {row['cases']:,}"
            f"<br>{words['median']}: {(row['median_s'] or 0) / 60:,.0f} {words['minutes']}"
        )
        xs, ys, texts = lines.setdefault((color, round(1 + 6 * row["count"] / top)), ([], [], []))
        xs.extend([*(p[0] for p in points), None])
        ys.extend([*(p[1] for p in points), None])
        texts.extend([hover] * len(points) + [None])
        hx, hy, angles = heads.setdefault(color, ([], [], []))
        x, y, angle = arrowhead(points[-2], points[-1])
        hx.append(x)
        hy.append(y)
        angles.append(angle)
    traces = [
        go.Scatter(
            x=xs,
            y=ys,
            text=texts,
            mode="lines",
            line={"color": color, "width": width},
            opacity=0.6,
            hoverinfo="text",
            connectgaps=False,
        )
        for (color, width), (xs, ys, texts) in sorted(lines.items())
    ]
    # Arrowheads as markers, a trace per colour: as annotations (one per edge) plotly.js
    # drew a 35-edge map in 0.3 s instead of 0.06 s, and validated each one on the server.
    traces += [
        go.Scatter(
            x=hx,
            y=hy,
            mode="markers",
            marker={"symbol": "arrow", "size": HEAD_PX, "color": color, "angle": angles},
            hoverinfo="skip",
        )
        for color, (hx, hy, angles) in sorted(heads.items())
    ]
    on_path = {n for e in standard for n in e}
    for name, (x0, y0, x1, y1) in layout.boxes.items():
        shapes.append({
            "type": "rect", "x0": x0, "y0": y0, "x1": x1, "y1": y1,
            "line": {"color": ORANGE if name in manual else "#3F3F46", "width": 2},
            "fillcolor": "#EFF6FF" if name in on_path else "white", "layer": "below",
        })  # fmt: skip
    loops = edges.filter(pl.col("source") == pl.col("target"))
    for row in loops.iter_rows(named=True):
        if row["source"] in layout.boxes:
            x0, y0, x1, _ = layout.boxes[row["source"]]
            notes.append({
                "x": x1, "y": y0, "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                "text": f"↻ {row['count']:,}", "font": {"size": LOOP_FONT_PX, "color": RED},
            })  # fmt: skip
    names = list(layout.boxes)
    traces.append(
        go.Scatter(
            x=[(layout.boxes[n][0] + layout.boxes[n][2]) / 2 for n in names],
            y=[(layout.boxes[n][1] + layout.boxes[n][3]) / 2 for n in names],
            mode="text",
            text=[layout.labels[n].replace("\n", "<br>") for n in names],
            textfont={"size": FONT_PX, "color": INK},
            hovertext=names,
            hoverinfo="text",
        )
    )
    fig = go.Figure(data=traces)
    fig.update_layout(
        shapes=shapes,
        annotations=notes,
        width=int(layout.width + 2 * PAD_PX),
        height=int(layout.height + 2 * PAD_PX),
        margin={"t": 0, "b": 0, "l": 0, "r": 0},
        showlegend=False,
        plot_bgcolor="white",
        xaxis={"visible": False, "range": [-PAD_PX, layout.width + PAD_PX], "fixedrange": True},
        yaxis={"visible": False, "range": [layout.height + PAD_PX, -PAD_PX], "fixedrange": True},
    )
    return fig


def arrowhead(before: tuple[float, float], end: tuple[float, float]) -> tuple[float, float, float]:
    """Where an arrowhead marker goes for a route ending ``before`` -> ``end``, and its
    angle: pulled back along the segment by half its size so its tip, not its centre, meets
    the box; plotly turns a marker clockwise from pointing up, and the y axis runs down
    the screen (``range`` reversed), so a segment (dx, dy) points atan2(dx, -dy)."""
    dx, dy = end[0] - before[0], end[1] - before[1]
    length = math.hypot(dx, dy) or 1.0
    back = HEAD_PX / 2 / length
    return end[0] - dx * back, end[1] - dy * back, math.degrees(math.atan2(dx, -dy))
