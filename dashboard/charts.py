"""Plotly figure builders: frames in, figures out; no business math here."""

from __future__ import annotations

# Plotly checks its values against pandas' types with an unlocked look into sys.modules,
# so a figure built while another thread (the launcher's preload, another session's first
# forecast) is still importing pandas met a half-initialised module and failed
# ("partially initialized module 'pandas' has no attribute 'Series"; the Overview's chart on
# about half of make run's first visits). Every figure module imports this one: pandas is
# whole before any figure is built (a concurrent import waits on the module's lock).
import pandas  # noqa: F401
import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

GREEN = "#15803D"
RED = "#B91C1C"
GREY = "#71717A"
BLUE = "#2563EB"


def story_figure(story: pl.DataFrame, title: str, sla: str, nps: str, churn: str) -> go.Figure:
    """Classic metrics (top) against monthly churn with its interval (bottom)."""
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=(f"{sla} · {nps}", churn),
    )
    months = story["month"].to_list()
    if "sla" in story.columns:
        fig.add_trace(
            go.Scatter(
                x=months,
                y=(story["sla"] * 100).to_list(),
                name=sla,
                mode="lines+markers",
                line={"color": GREEN},
            ),
            row=1,
            col=1,
        )
    if "nps" in story.columns:
        fig.add_trace(
            go.Scatter(
                x=months,
                y=story["nps"].to_list(),
                name=nps,
                mode="lines+markers",
                line={"color": GREY, "dash": "dot"},
            ),
            row=1,
            col=1,
        )
    if "churn" in story.columns:
        high = (story["churn_high"] * 100).to_list()
        low = (story["churn_low"] * 100).to_list()
        fig.add_trace(
            go.Scatter(
                x=months + months[::-1],
                y=high + low[::-1],
                fill="toself",
                fillcolor="rgba(185,28,28,0.15)",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
            ),
            row=2,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=months,
                y=(story["churn"] * 100).to_list(),
                name=churn,
                mode="lines+markers",
                line={"color": RED},
            ),
            row=2,
            col=1,
        )
    fig.update_layout(
        title=title, height=520, margin={"t": 80, "b": 30}, legend={"orientation": "h", "y": -0.08}
    )
    return fig


def projection_figure(projection: pl.DataFrame, labels: dict[str, str], month: str) -> go.Figure:
    """Cumulative revenue lost by month under each convention."""
    fig = go.Figure()
    styles = {
        "replacement_revenue_lost": {"color": RED},
        "revenue_lost": {"color": GREY},
        "revenue_lost_discounted": {"color": GREY, "dash": "dot"},
    }
    for column, label in labels.items():
        fig.add_trace(
            go.Scatter(
                x=projection["month"].to_list(),
                y=projection[column].to_list(),
                name=label,
                mode="lines+markers",
                line=styles[column],
            )
        )
    fig.update_layout(
        height=360,
        margin={"t": 20, "b": 40},
        xaxis_title=month,
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


ORANGE = "#EA580C"


def quantile_boxes(stats: pl.DataFrame, label: str) -> go.Figure:
    """Box plots from precomputed quantiles (``group``, ``p10``, ``p25``, ``p50``, ``p75``,
    ``p90``), so a million cases never travel to the browser."""
    fig = go.Figure(
        go.Box(
            x=stats["group"].to_list(),
            q1=stats["p25"].to_list(),
            median=stats["p50"].to_list(),
            q3=stats["p75"].to_list(),
            lowerfence=stats["p10"].to_list(),
            upperfence=stats["p90"].to_list(),
            marker_color=GREY,
            name=label,
        )
    )
    fig.update_layout(height=340, margin={"t": 10, "b": 30}, yaxis_title=label)
    return fig


def share_curve(
    frame: pl.DataFrame, x: str, y: str, x_title: str, y_title: str, diagonal: bool = True
) -> go.Figure:
    """A cumulative-share curve (Pareto, whale, coverage), optionally with the diagonal."""
    fig = go.Figure(
        go.Scatter(x=frame[x].to_list(), y=frame[y].to_list(), mode="lines", line={"color": RED})
    )
    if diagonal:
        fig.add_trace(
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"color": GREY, "dash": "dot"})
        )
    fig.update_layout(
        height=320,
        margin={"t": 10, "b": 40},
        xaxis_title=x_title,
        yaxis_title=y_title,
        showlegend=False,
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
    )
    return fig


def forecast_figure(
    history: pl.DataFrame, forecast: pl.DataFrame, labels: dict[str, str]
) -> go.Figure:
    """Recent history, the forecast and its interval band (``labels``: actual, forecast,
    interval, and the axis titles x_axis and y_axis)."""
    fig = go.Figure()
    band_x = forecast["time"].to_list()
    fig.add_trace(
        go.Scatter(
            x=band_x + band_x[::-1],
            y=forecast["upper"].to_list() + forecast["lower"].to_list()[::-1],
            fill="toself",
            fillcolor="rgba(37, 99, 235, 0.15)",
            line={"width": 0},
            name=labels["interval"],
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=history["time"].to_list(),
            y=history["volume"].to_list(),
            name=labels["actual"],
            line={"color": GREY},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=band_x, y=forecast["mean"].to_list(), name=labels["forecast"], line={"color": BLUE}
        )
    )
    return fig.update_layout(
        height=340,
        margin={"t": 30, "b": 10},
        legend={"orientation": "h"},
        xaxis_title=labels.get("x_axis"),
        yaxis_title=labels.get("y_axis"),
    )


def heatmap_figure(
    frame: pl.DataFrame,
    row: str,
    column: str,
    value: str,
    title: str,
    *,
    scale: str = "RdYlGn",
    zmin: float | None = None,
    zmax: float | None = None,
    percent: bool = False,
) -> go.Figure:
    """``value`` laid out as ``row`` x ``column`` (e.g. day x time of day)."""
    grid = frame.pivot(
        on=column, index=row, values=value, aggregate_function="mean", sort_columns=True
    )
    columns = [c for c in grid.columns if c != row]
    z = grid.select(columns).to_numpy()
    text_z = z * 100 if percent else z
    fig = go.Figure(
        go.Heatmap(
            z=text_z,
            x=columns,
            y=[str(v) for v in grid[row].to_list()],
            colorscale=scale,
            zmin=None if zmin is None else zmin * (100 if percent else 1),
            zmax=None if zmax is None else zmax * (100 if percent else 1),
            hovertemplate="%{y} %{x}: %{z:.0f}" + ("%" if percent else "") + "<extra></extra>",
            colorbar={"ticksuffix": "%" if percent else ""},
        )
    )
    fig.update_layout(
        title=title, height=max(260, 22 * grid.height + 120), margin={"t": 40, "b": 10}
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return fig


def bars_figure(
    labels: list[str], values: list[float], title: str, errors: list[float] | None = None
) -> go.Figure:
    """Horizontal bars, largest on top; a bar below zero in grey (an importance that hurt)."""
    fig = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=[BLUE if v >= 0 else GREY for v in values],
            error_x=None if errors is None else {"type": "data", "array": errors},
        )
    )
    fig.update_layout(
        title=title, height=max(240, 28 * len(labels) + 90), margin={"t": 40, "b": 10}
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def control_chart(
    weeks: list[object],
    values: list[float],
    ewma: list[float],
    upper: list[float],
    lower: list[float],
    labels: dict[str, str],
    started: object | None = None,
    share: bool = False,
) -> go.Figure:
    """A weekly indicator, its EWMA and the control limits, with the zone's start marked;
    a share's axis in percent."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=weeks, y=values, name=labels["value"], mode="markers", marker={"color": GREY})
    )
    fig.add_trace(go.Scatter(x=weeks, y=ewma, name="EWMA", line={"color": BLUE}))
    fig.add_trace(
        go.Scatter(x=weeks, y=upper, name=labels["limits"], line={"color": RED, "dash": "dash"})
    )
    fig.add_trace(
        go.Scatter(x=weeks, y=lower, showlegend=False, line={"color": RED, "dash": "dash"})
    )
    if started is not None:
        fig.add_vline(x=str(started), line={"color": ORANGE, "dash": "dot"})
        fig.add_annotation(
            x=str(started), y=1, yref="paper", text=labels["started"], showarrow=False
        )
    fig.update_layout(height=340, margin={"t": 30, "b": 10}, legend={"orientation": "h"})
    if share:
        fig.update_yaxes(tickformat=".1~%")  # 3%, 3.5%: trailing zeros trimmed
    return fig


def calibration_figure(
    history: pl.DataFrame, curve: tuple[list[float], list[float]] | None, labels: dict[str, str]
) -> go.Figure:
    """Delivered against the model's service level per history interval, as the density of
    intervals on a 25 x 25 grid, with the diagonal (the model taken at its word) and the
    calibration map (``curve``: knots x, y). A density, not a point per interval: thousands
    of WebGL markers took 0.6-0.9 s to draw in a browser without a GPU, the grid 0.15 s."""
    cells = {"start": 0, "end": 1, "size": 0.04}
    fig = go.Figure(
        go.Histogram2d(
            x=history["model_sl"].to_list(),
            y=history["realized"].to_list(),
            xbins=cells,
            ybins=cells,
            colorscale=[[0, "rgba(255,255,255,0)"], [1, GREY]],
            zmin=0,
            showscale=False,
            name=labels["intervals"],
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"dash": "dot", "color": RED},
            name=labels["diagonal"],
        )
    )
    if curve is not None:
        fig.add_trace(
            go.Scatter(
                x=curve[0],
                y=curve[1],
                mode="lines",
                line={"color": BLUE, "width": 3},
                name=labels["map"],
            )
        )
    fig.update_layout(
        title=labels["title"], height=380, margin={"t": 40, "b": 10}, legend={"orientation": "h"}
    )
    fig.update_xaxes(title=labels["x"], range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title=labels["y"], range=[0, 1], tickformat=".0%")
    return fig


def reliability_figure(bins: pl.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Observed breach share against the predicted P(breach) per bin (``predicted``,
    ``observed``, ``intervals``); on the diagonal when the probabilities are calibrated."""
    fig = go.Figure(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"dash": "dot", "color": GREY},
            name=labels["diagonal"],
        )
    )
    fig.add_trace(
        go.Scatter(
            x=bins["predicted"].to_list(),
            y=bins["observed"].to_list(),
            mode="lines+markers",
            marker={
                "size": (6 + 14 * (bins["intervals"] / bins["intervals"].max()).sqrt()).to_list(),
                "color": BLUE,
            },
            customdata=bins["intervals"].to_list(),
            hovertemplate="%{x:.0%} → %{y:.0%} (%{customdata})<extra></extra>",
            name=labels["observed"],
        )
    )
    fig.update_layout(
        title=labels["title"], height=380, margin={"t": 40, "b": 10}, legend={"orientation": "h"}
    )
    fig.update_xaxes(title=labels["x"], range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title=labels["y"], range=[0, 1], tickformat=".0%")
    return fig


def lines_figure(x: list[object], series: list[tuple[str, list[float]]], title: str) -> go.Figure:
    """A few series over the same x (months), one line each: the first green, then grey
    dotted, then red (the classic metrics, then what they hide)."""
    styles = ({"color": GREEN}, {"color": GREY, "dash": "dot"}, {"color": RED})
    fig = go.Figure()
    for (name, values), style in zip(series, styles, strict=False):
        fig.add_trace(go.Scatter(x=x, y=values, name=name, mode="lines+markers", line=style))
    fig.update_layout(
        title=title, height=340, margin={"t": 40, "b": 10}, legend={"orientation": "h"}
    )
    return fig
