"""Plotly figure builders: frames in, figures out; no business math here."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

GREEN = "#15803D"
RED = "#B91C1C"
GREY = "#71717A"


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
