"""Observed churn: monthly rates with binomial intervals, overall and by segment."""

from __future__ import annotations

import datetime as dt

import polars as pl
from statsmodels.stats.proportion import proportion_confint


def monthly_churn(
    customers: pl.DataFrame,
    first: dt.date,
    last: dt.date,
    by: str | None = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Monthly churn rate for each calendar month that starts on or after ``first`` and ends
    on or before ``last`` (full months only).

    Definition: ``churn_rate = churned / active_at_start``, where ``active_at_start`` counts
    customers who signed up before the month (or have no sign-up date) and had not left
    before it, and ``churned`` those of them whose ``churn_date`` falls in the month.
    Customers who join during a month do not count for it. ``low``/``high`` are Wilson
    score intervals at level ``1 - alpha`` (statsmodels ``proportion_confint``).

    Returns one row per month (and per ``by`` value): ``month``, ``active_at_start``,
    ``churned``, ``churn_rate``, ``low``, ``high``, ``revenue_lost`` (monthly revenue of
    the customers who left, where ``monthly_revenue`` is known).
    """
    months = _full_months(first, last)
    if not months:
        return pl.DataFrame(
            schema={
                "month": pl.Date,
                "active_at_start": pl.UInt32,
                "churned": pl.UInt32,
                "churn_rate": pl.Float64,
                "low": pl.Float64,
                "high": pl.Float64,
                "revenue_lost": pl.Float64,
            }
        )
    grid = pl.DataFrame({"month": [m for m, _ in months], "month_end": [e for _, e in months]})
    keys = [by] if by else []
    signup = pl.col("signup_date") if "signup_date" in customers.columns else pl.lit(None)
    revenue = pl.col("monthly_revenue") if "monthly_revenue" in customers.columns else pl.lit(None)
    base = customers.select(
        *keys,
        signup.cast(pl.Date).alias("signup_date"),
        pl.col("churn_date").cast(pl.Date),
        revenue.cast(pl.Float64).alias("monthly_revenue"),
    )
    active = (pl.col("signup_date").is_null() | (pl.col("signup_date") < pl.col("month"))) & (
        pl.col("churn_date").is_null() | (pl.col("churn_date") >= pl.col("month"))
    )
    left = active & (pl.col("churn_date") < pl.col("month_end"))
    table = (
        base.join(grid, how="cross")
        .group_by("month", *keys)
        .agg(
            active.sum().alias("active_at_start"),
            left.sum().alias("churned"),
            pl.col("monthly_revenue").filter(left).sum().alias("revenue_lost"),
        )
        .filter(pl.col("active_at_start") > 0)
        .sort("month", *keys)
    )
    low, high = proportion_confint(
        table["churned"].to_numpy(),
        table["active_at_start"].to_numpy(),
        alpha=alpha,
        method="wilson",
    )
    return table.with_columns(
        (pl.col("churned") / pl.col("active_at_start")).alias("churn_rate"),
        pl.Series("low", low),
        pl.Series("high", high),
    ).select(
        "month", *keys, "active_at_start", "churned", "churn_rate", "low", "high", "revenue_lost"
    )


def _full_months(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Calendar months ``[start, end)`` lying wholly inside ``[first, last]``."""
    start = first if first.day == 1 else _next_month(first)
    out = []
    while True:
        end = _next_month(start)
        if end > last + dt.timedelta(days=1):
            return out
        out.append((start, end))
        start = end


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
