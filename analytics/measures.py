"""One definition per business figure that several pages show.

Overview, Risk, Economics, Escalations and the command line take these figures from here
(or from the one function named below), so the same data shows the same number on every
page. Money is summed with ``math.fsum`` (the exactly rounded sum, whatever the order of
the terms), so a figure does not depend on the row order of the exports either.

* **Active customers**: signed up on or before the data's last day (or no sign-up date),
  no ``churn_date`` on or before it and not flagged ``churned``: :func:`active_customers`.
  The base the risk model scores and the Economics page starts from.
* **LTV churn**: the mean monthly churn of the last three full months,
  :func:`analytics.churn.ltv_churn_rate`.
* **ARPU**: the mean ``monthly_revenue`` of the active customers (where known).
* **LTV** of a customer = monthly revenue / LTV churn (margin 1: revenue, not profit);
  the LTV per customer on Economics = ARPU / LTV churn, the mean of the Risk page's LTVs.
* **Revenue at risk** = sum over the active customers of P(leave within 60 days) x LTV:
  :func:`revenue_at_risk` of the risk model's scored customers.
* **Silent**: no complaint event and no survey answer anywhere in the data
  (:func:`analytics.churn.loud_customers` lists the others).
* **Alerts to act on**: open alerts within their owner's weekly budget, digests left out:
  :func:`analytics.escalation.to_act_on`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import polars as pl

from analytics.churn import active_at, ltv_churn_rate
from analytics.dataset import Dataset


def data_end(dataset: Dataset) -> dt.date | None:
    """The last day with an event: "today" for every figure of the dataset."""
    last = dataset.events["timestamp"].max()
    return last.date() if last is not None else None  # type: ignore[union-attr]


@dataclass(frozen=True)
class Span:
    """What the data covers: events, distinct customers among them, first and last day."""

    events: int
    customers: int
    first: dt.date | None
    last: dt.date | None


def span(dataset: Dataset) -> Span:
    """:class:`Span` of the dataset's events (the sidebar's caption)."""
    events = dataset.events
    first = events["timestamp"].min()
    return Span(
        events=events.height,
        customers=events["customer_id"].n_unique(),
        first=first.date() if first is not None else None,  # type: ignore[union-attr]
        last=data_end(dataset),
    )


def active_customers(dataset: Dataset) -> pl.DataFrame | None:
    """The customers active at the end of the data (see the module docstring), sorted by
    ``customer_id``; None without a customers table or events."""
    customers, end = dataset.customers, data_end(dataset)
    if customers is None or end is None:
        return None
    active = active_at(pl.lit(end + dt.timedelta(days=1)))
    if "churned" in customers.columns:
        active = active & ~pl.col("churned").fill_null(False)
    return customers.filter(active).sort("customer_id")


def fsum(values: pl.Series) -> float:
    """The exactly rounded sum of the non-null values: the same float in any order."""
    return math.fsum(values.drop_nulls().to_list())


@dataclass(frozen=True)
class Base:
    """The customer base today: how many, their revenue, and the LTV every page uses.

    ``arpu = revenue / with_revenue`` (customers whose ``monthly_revenue`` is known);
    ``ltv = arpu / ltv_churn`` (None when either is unknown).
    """

    customers: int
    with_revenue: int
    revenue: float | None
    ltv_churn: float | None

    @property
    def arpu(self) -> float | None:
        return self.revenue / self.with_revenue if self.revenue is not None else None

    @property
    def ltv(self) -> float | None:
        arpu = self.arpu
        return arpu / self.ltv_churn if arpu is not None and self.ltv_churn else None


def customer_base(dataset: Dataset) -> Base | None:
    """:class:`Base` of a dataset; None without a customers table or events."""
    active = active_customers(dataset)
    if active is None:
        return None
    known = (
        active["monthly_revenue"].drop_nulls()
        if "monthly_revenue" in active.columns
        else pl.Series([], dtype=pl.Float64)
    )
    return Base(
        customers=active.height,
        with_revenue=known.len(),
        revenue=fsum(known) if known.len() else None,
        ltv_churn=ltv_churn_rate(dataset),
    )


def revenue_at_risk(scored: pl.DataFrame) -> float | None:
    """Revenue at risk = sum over the scored (active) customers of ``p_churn x ltv``: the
    ``revenue_at_risk`` column of :attr:`analytics.risk.RiskModel.scored`, summed exactly.
    None when no customer's LTV is known (no churn to divide by)."""
    known = scored["revenue_at_risk"].fill_nan(None).drop_nulls()
    return fsum(known) if known.len() or scored.is_empty() else None
