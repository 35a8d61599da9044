"""The cost of each event and the cost to serve, from the settings' rates.

Time-driven activity-based costing: an event costs

    handle_s / 60 x cost_per_minute[channel]
    + cost_per_contact            (customer-facing events, see :func:`analytics.kpi.is_contact`)
    + cost_per_manual_step        (is_manual)
    + cost_per_meeting            (channel == "meeting")

unless the export gives an explicit ``cost``, which wins. A channel without a rate costs
nothing per minute (and is listed by :func:`unrated_channels`).
"""

from __future__ import annotations

import polars as pl

from analytics.dataset import Dataset
from analytics.kpi import is_contact
from analytics.schema import Settings


def event_cost(settings: Settings) -> pl.Expr:
    """The expression for one event's cost under ``settings`` (formula in the module doc)."""
    rate = pl.col("channel").replace_strict(
        settings.cost_per_minute, default=0.0, return_dtype=pl.Float64
    )
    modelled = (
        pl.col("handle_s").fill_null(0.0) / 60 * rate
        + pl.when(is_contact()).then(settings.cost_per_contact).otherwise(0.0)
        + pl.when(pl.col("is_manual").fill_null(False))
        .then(settings.cost_per_manual_step)
        .otherwise(0.0)
        + pl.when(pl.col("channel") == "meeting").then(settings.cost_per_meeting).otherwise(0.0)
    )
    return pl.coalesce(pl.col("cost"), modelled).alias("event_cost")


def unrated_channels(dataset: Dataset) -> list[str]:
    """Channels in the events with no per-minute rate in the settings."""
    present = dataset.events["channel"].drop_nulls().unique().to_list()
    return sorted(c for c in present if c not in dataset.settings.cost_per_minute)


def monthly_cost_to_serve(dataset: Dataset) -> pl.DataFrame:
    """Per calendar month: total service cost, cases, and cost per case."""
    return (
        dataset.events.lazy()
        .select(
            pl.col("timestamp").dt.truncate("1mo").dt.date().alias("month"),
            "case_id",
            event_cost(dataset.settings),
        )
        .group_by("month")
        .agg(pl.col("event_cost").sum().alias("cost"), pl.col("case_id").n_unique().alias("cases"))
        .with_columns((pl.col("cost") / pl.col("cases")).alias("cost_per_case"))
        .sort("month")
        .collect()
    )
