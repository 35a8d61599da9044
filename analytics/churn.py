"""Observed churn: monthly rates with binomial intervals, overall and by segment."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from analytics.dataset import Dataset


def wilson(count: Any, nobs: Any, alpha: float = 0.05) -> tuple[Any, Any]:
    """Wilson score intervals of ``count`` successes in ``nobs`` (numbers or arrays):
    statsmodels ``proportion_confint``, imported here, as it takes seconds to import and
    most pages never need it."""
    from statsmodels.stats.proportion import proportion_confint

    return proportion_confint(count, nobs, alpha=alpha, method="wilson")


def active_at(month: pl.Expr) -> pl.Expr:
    """Customers active at the start of ``month``: signed up before it (or no sign-up
    date) and not gone before it."""
    return (pl.col("signup_date").is_null() | (pl.col("signup_date") < month)) & (
        pl.col("churn_date").is_null() | (pl.col("churn_date") >= month)
    )


def dataset_churn(dataset: Dataset, by: str | None = None) -> pl.DataFrame | None:
    """:func:`monthly_churn` over the full months of the dataset's events; None without a
    customers table or events."""
    events, customers = dataset.events, dataset.customers
    if customers is None or events.is_empty():
        return None
    first, last = events["timestamp"].min(), events["timestamp"].max()
    return monthly_churn(customers, first.date(), last.date(), by=by)  # type: ignore[union-attr]


LTV_MONTHS = 3


def ltv_churn_rate(dataset: Dataset) -> float | None:
    """The monthly churn every LTV divides by: the mean of :func:`dataset_churn`'s rates over
    the last ``LTV_MONTHS`` (3) full months (fewer when the data has fewer), so
    ``LTV = monthly revenue / ltv_churn_rate``. None without a customers table or a full
    month, or when nobody left in those months (the lifetime is then unknown, not infinite).

    Recent months rather than the first ones: LTV values the customers of today, at today's
    churn. The Risk page, Economics, escalation and the CLI all use this one rate.
    """
    table = dataset_churn(dataset)
    if table is None or table.is_empty():
        return None
    rate = float(table.tail(LTV_MONTHS)["churn_rate"].mean())  # type: ignore[arg-type]
    return rate if rate > 0 else None


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
    # In customer order, so each month's float sums do not depend on the export's row order.
    base = customers.sort("customer_id").select(
        *keys,
        signup.cast(pl.Date).alias("signup_date"),
        pl.col("churn_date").cast(pl.Date),
        revenue.cast(pl.Float64).alias("monthly_revenue"),
    )
    active = active_at(pl.col("month"))
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
    low, high = wilson(table["churned"].to_numpy(), table["active_at_start"].to_numpy(), alpha)
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


COMPLAINT_PATTERN = r"(?i)complain|жалоб|претензи"


def loud_customers(events: pl.DataFrame, surveys: pl.DataFrame | None) -> pl.DataFrame:
    """The customers the company has heard from: an event whose activity matches
    ``COMPLAINT_PATTERN`` (complaint, жалоба, претензия) or a survey answer, anywhere in the
    data. Everyone else is *silent*. One column, ``customer_id``, unique and sorted."""
    complained = events.filter(
        pl.col("activity").cast(pl.String).str.contains(COMPLAINT_PATTERN)
    ).select("customer_id")
    answered = surveys.select("customer_id") if surveys is not None else complained.clear()
    return pl.concat([complained, answered]).unique().sort("customer_id")


def silent_churn_share(
    events: pl.DataFrame, customers: pl.DataFrame, surveys: pl.DataFrame | None
) -> tuple[float | None, int]:
    """Share of churned customers who are silent (not among :func:`loud_customers`).
    Returns ``(share, churned)``; share is None without churners."""
    churned = customers.filter(pl.col("churn_date").is_not_null()).select("customer_id")
    if churned.is_empty():
        return None, 0
    silent = churned.join(loud_customers(events, surveys), on="customer_id", how="anti").height
    return silent / churned.height, churned.height


def churn_by_nps(
    customers: pl.DataFrame,
    surveys: pl.DataFrame,
    data_end: dt.date,
    horizon_days: int = 60,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Churn after a survey answer, by NPS band (detractor 0-6, passive 7-8, promoter 9-10).

    Each answer counts once: did that customer leave within ``horizon_days`` after it?
    Answers later than ``data_end - horizon_days`` are left out (their outcome is not
    known yet), as are answers of customers who had already left. ``monthly`` converts the
    horizon probability to a monthly rate, ``1 - (1 - p)^(30.4 / horizon_days)``; ``low``
    and ``high`` are its Wilson bounds at level ``1 - alpha``.
    """
    cutoff = data_end - dt.timedelta(days=horizon_days)
    answers = (
        surveys.filter(pl.col("nps").is_not_null() & (pl.col("date") <= cutoff))
        .join(customers.select("customer_id", "churn_date"), on="customer_id", how="inner")
        .filter(pl.col("churn_date").is_null() | (pl.col("churn_date") > pl.col("date")))
        .with_columns(
            pl.when(pl.col("nps") >= 9)
            .then(pl.lit("promoter"))
            .when(pl.col("nps") >= 7)
            .then(pl.lit("passive"))
            .otherwise(pl.lit("detractor"))
            .alias("band"),
            (pl.col("churn_date") <= pl.col("date") + pl.duration(days=horizon_days))
            .fill_null(False)
            .alias("left"),
        )
    )
    table = answers.group_by("band").agg(
        pl.len().alias("answers"), pl.col("left").sum().alias("left")
    )
    order = {"detractor": 0, "passive": 1, "promoter": 2}
    table = table.sort(pl.col("band").replace_strict(order, return_dtype=pl.Int8))
    if table.is_empty():
        return table.with_columns(
            *(pl.lit(None, pl.Float64).alias(c) for c in ("rate", "monthly", "low", "high"))
        )
    low, high = wilson(table["left"].to_numpy(), table["answers"].to_numpy(), alpha)
    to_month = 30.4 / horizon_days

    def monthly(p: pl.Expr) -> pl.Expr:
        return 1 - (1 - p) ** to_month

    return table.with_columns(
        (pl.col("left") / pl.col("answers")).alias("rate"),
        monthly(pl.col("left") / pl.col("answers")).alias("monthly"),
        monthly(pl.Series(low)).alias("low"),
        monthly(pl.Series(high)).alias("high"),
    )
