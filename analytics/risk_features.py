"""Churn-risk features of the time-split model: what each customer's last
``LOOKBACK_DAYS`` of events, cases and surveys say at a cut-off date, the labels (who left
within the horizon after it), the cut-off dates, and the transparent rule points used when
there are too few churners to learn from.

Snapshots. A snapshot at cut-off T describes every customer active at T (signed up before
T, not gone before T) from the ``LOOKBACK_DAYS`` before T, and labels them churned when
``churn_date`` falls in [T, T + horizon). With the data's last day E:

* validation cut-off V = E - horizon + 1 (its labels are complete);
* training cut-offs V - horizon - 30 k days, k = 0..3 (their label windows end before V,
  so nothing from the validation period leaks into training), kept while a full look-back
  fits in the data; the latest one calibrates, the older ones fit;
* scoring cut-off: E + 1 day, labels unknown: the at-risk list.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from analytics.churn import COMPLAINT_PATTERN, active_at
from analytics.cost import case_costs
from analytics.dataset import Dataset
from analytics.kpi import is_contact

LOOKBACK_DAYS = 90
RECENT_DAYS = 30
HORIZON_DAYS = 60

# Feature -> the plain-words reason shown when a customer is far above the population on it.
REASONS: dict[str, str] = {
    "waits_over": "{value:.0f} {value:wait|waits} above the promised time in {days} days",
    "waits_over_trend": "waits above the promise rising: {value:+.1f} a month against before",
    "repeat_contacts": (
        "{value:.0f} repeat {value:contact|contacts} about the same cases in {days} days"
    ),
    "contacts_trend": "contacting more often: {value:+.1f} contacts a month against before",
    "unresolved_cases": "cases not resolved: {value:.0f}",
    "channel_hops": "cases bounced between channels: {value:.0f}",
    "bot_loops": "cases stuck in a bot loop: {value:.0f}",
    "manual_steps": "manual exceptions in their cases: {value:.0f}",
    "cost_to_serve": "cost to serve {value:,.0f} in {days} days",
    "low_nps": "last NPS answer {value:.0f} {value:point|points} below 10",
    "low_csat": "last CSAT answer {value:.0f} {value:point|points} below 5",
    "complaints": "complaints: {value:.0f}",
}
FEATURES = (
    "contacts",
    "contacts_trend",
    "repeat_contacts",
    "waits_over",
    "waits_over_trend",
    "unresolved_cases",
    "channel_hops",
    "bot_loops",
    "manual_steps",
    "cost_to_serve",
    "complaints",
    "tenure_days",
    "monthly_revenue",
    "low_nps",
    "low_csat",
    "surveyed",
)


def features(dataset: Dataset, cutoff: dt.date, cases: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per customer active at ``cutoff``: the model's features, from the
    ``LOOKBACK_DAYS`` before it, plus ``segment``, ``region``, ``scenario`` and
    ``channel`` (the customer's commonest in the look-back) and ``churn_date``.

    * contacts: customer-facing events; repeat contacts = contacts - cases;
    * waits_over: events whose ``wait_s`` exceeds the channel's promised wait;
    * ``*_trend``: (last ``RECENT_DAYS`` count - the earlier days' count scaled to the same
      length), per 30 days: positive when the customer's own level is rising;
    * unresolved_cases: cases with no event resolved; channel_hops, bot_loops, cost_to_serve
      from the per-case behaviour tags and costs (cases started in the look-back);
    * low_nps = 10 - last NPS, low_csat = 5 - last CSAT (0 without an answer; ``surveyed``
      says whether there was one), so larger is always worse.

    A dataset opened from a folder ``cx-radar reduce`` wrote has these rows already for
    the model's default cut-offs (``cases`` then being its own per-case costs, as the
    model passes them): they are read from there, not from the events.
    """
    reduced = dataset.reduced_tables()
    snapshots = None if reduced is None else reduced.features
    if snapshots is not None and (snapshots["cutoff"] == cutoff).any():
        return snapshots.filter(pl.col("cutoff") == cutoff).drop("cutoff", "role")
    customers = dataset.customers
    if customers is None:
        raise ValueError("the risk model needs the customers table")
    start = dt.datetime.combine(cutoff - dt.timedelta(days=LOOKBACK_DAYS), dt.time())
    end = dt.datetime.combine(cutoff, dt.time())
    recent = end - dt.timedelta(days=RECENT_DAYS)
    promised = dataset.settings.promised_wait_s
    window = dataset.events.lazy().filter(
        (pl.col("timestamp") >= start) & (pl.col("timestamp") < end)
    )
    in_recent = pl.col("timestamp") >= recent
    over = (pl.col("wait_s") > pl.col("channel").replace_strict(promised, default=None)).fill_null(
        False
    ) & is_contact()
    contact = is_contact()
    scale = RECENT_DAYS / (LOOKBACK_DAYS - RECENT_DAYS)

    def trend(flag: pl.Expr) -> pl.Expr:
        return (flag & in_recent).sum() - scale * (flag & ~in_recent).sum()

    per_case = window.group_by("customer_id", "case_id").agg(
        (pl.col("outcome") == "resolved").any().alias("resolved")
    )
    by_events = (
        window.group_by("customer_id")
        .agg(
            contact.sum().alias("contacts"),
            trend(contact).alias("contacts_trend"),
            over.sum().alias("waits_over"),
            trend(over).alias("waits_over_trend"),
            pl.col("is_manual").fill_null(False).sum().alias("manual_steps"),
            pl.col("activity")
            .cast(pl.String)
            .str.contains(COMPLAINT_PATTERN)
            .sum()
            .alias("complaints"),
            pl.col("case_id").n_unique().alias("cases"),
            # mode() lists tied values in no set order: the first in sort order wins.
            pl.col("scenario").drop_nulls().mode().sort().first().alias("scenario"),
            pl.col("channel").filter(contact).drop_nulls().mode().sort().first().alias("channel"),
        )
        .join(
            per_case.group_by("customer_id").agg(
                (~pl.col("resolved")).sum().alias("unresolved_cases")
            ),
            on="customer_id",
            how="left",
        )
    )
    if cases is None:
        cases = case_costs(dataset)
    by_cases = (
        cases.lazy()
        .filter((pl.col("start") >= start) & (pl.col("start") < end))
        .group_by("customer_id")
        .agg(
            pl.col("channel_hopping").sum().alias("channel_hops"),
            pl.col("bot_loop").sum().alias("bot_loops"),
            # Summed in whole millionths (integers): the same total in any row order.
            ((pl.col("cost") * 1e6).round().cast(pl.Int64).sum() / 1e6).alias("cost_to_serve"),
        )
    )
    surveys = _last_answers(dataset, end)
    active = customers.lazy().filter(active_at(pl.lit(cutoff)))
    derived = (
        "repeat_contacts",
        "tenure_days",
        "monthly_revenue",
        "low_nps",
        "low_csat",
        "surveyed",
    )
    counts = [f for f in FEATURES if f not in derived]
    frame = (
        active.join(by_events, on="customer_id", how="left")
        .join(by_cases, on="customer_id", how="left")
        .join(surveys, on="customer_id", how="left")
        .with_columns(
            pl.col(counts).fill_null(0).cast(pl.Float64),
            # Signed: the counts are unsigned, and fewer contacts than cases (cases of
            # internal steps only) would wrap to 4.3e9 instead of clipping at 0.
            (pl.col("contacts").fill_null(0).cast(pl.Int64) - pl.col("cases").fill_null(0))
            .clip(lower_bound=0)
            .cast(pl.Float64)
            .alias("repeat_contacts"),
            (pl.lit(cutoff) - pl.col("signup_date"))
            .dt.total_days()
            .fill_null(0)
            .cast(pl.Float64)
            .alias("tenure_days"),
            pl.col("monthly_revenue").fill_null(0.0).cast(pl.Float64),
            (10 - pl.col("nps")).fill_null(0).cast(pl.Float64).alias("low_nps"),
            (5 - pl.col("csat")).fill_null(0).cast(pl.Float64).alias("low_csat"),
            (pl.col("nps").is_not_null() | pl.col("csat").is_not_null())
            .cast(pl.Float64)
            .alias("surveyed"),
        )
    )
    keep = ["customer_id", *FEATURES, "segment", "region", "scenario", "channel", "churn_date"]
    frame = frame.with_columns(
        pl.lit(None, pl.String).alias(c)
        for c in ("segment", "region")
        if c not in customers.columns
    )
    # Joins and group-bys return rows in no set order: every model input is sorted by id.
    return frame.select(keep).collect().sort("customer_id")


def _last_answers(dataset: Dataset, end: dt.datetime) -> pl.LazyFrame:
    surveys = dataset.surveys
    if surveys is None or surveys.is_empty():
        return pl.LazyFrame(
            schema={"customer_id": pl.String, "nps": pl.Float64, "csat": pl.Float64}
        )
    cols = [c for c in ("nps", "csat") if c in surveys.columns]
    # Same-day answers are ordered by their case and values, never by the export's row
    # order, so the "last answer" is the same whatever order the rows came in.
    keys = [k for k in ("date", "case_id", "nps", "csat") if k in surveys.columns]
    return (
        surveys.lazy()
        .filter(pl.col("date") < end.date())
        .group_by("customer_id")
        .agg(
            pl.col(c).filter(pl.col(c).is_not_null()).sort_by(keys).last().cast(pl.Float64)
            for c in cols
        )
        .with_columns(pl.lit(None, pl.Float64).alias(c) for c in ("nps", "csat") if c not in cols)
    )


def labelled(frame: pl.DataFrame, cutoff: dt.date, horizon_days: int = HORIZON_DAYS) -> np.ndarray:
    """1 when the customer left within [cutoff, cutoff + horizon)."""
    until = cutoff + dt.timedelta(days=horizon_days)
    return (
        frame.select(
            (pl.col("churn_date").is_not_null() & (pl.col("churn_date") < until)).cast(pl.Int8)
        )
        .to_series()
        .to_numpy()
    )


def rule_points(frame: pl.DataFrame) -> pl.Series:
    """Transparent rules, one point each: 2+ waits above the promise, 3+ repeat contacts,
    an unresolved case, a bot loop, a channel hop, a complaint, a last NPS of 6 or less."""
    return frame.select(
        (
            (pl.col("waits_over") >= 2).cast(pl.Int8)
            + (pl.col("repeat_contacts") >= 3).cast(pl.Int8)
            + (pl.col("unresolved_cases") >= 1).cast(pl.Int8)
            + (pl.col("bot_loops") >= 1).cast(pl.Int8)
            + (pl.col("channel_hops") >= 1).cast(pl.Int8)
            + (pl.col("complaints") >= 1).cast(pl.Int8)
            + ((pl.col("surveyed") > 0) & (pl.col("low_nps") >= 4)).cast(pl.Int8)
        ).alias("points")
    ).to_series()


def cutoffs(dataset: Dataset, horizon_days: int = HORIZON_DAYS) -> dict[str, list[dt.date]]:
    """The snapshot dates (see the module docstring)."""
    first = dataset.events["timestamp"].min().date()  # type: ignore[union-attr]
    last = dataset.events["timestamp"].max().date()  # type: ignore[union-attr]
    validation = last - dt.timedelta(days=horizon_days - 1)
    earliest = first + dt.timedelta(days=LOOKBACK_DAYS)
    train = [
        validation - dt.timedelta(days=horizon_days + 30 * k)
        for k in range(4)
        if validation - dt.timedelta(days=horizon_days + 30 * k) >= earliest
    ]
    return {"train": train, "validation": [validation], "score": [last + dt.timedelta(days=1)]}
