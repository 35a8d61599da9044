"""What the Cost page shows, computed: the headline figures of the cost to serve, the
cases a drill-down picks (with their behaviours named), one case's events, and the twins
table cut to what a reader compares.

Conventions: medians are the usual median (the mean of the two middle values for an even
count); other percentiles are Polars' ``nearest`` (an actual case's or customer's cost);
the concentration is exact, not read off the Pareto curve's points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from analytics.cost import (
    TAGS,
    CostView,
    cost_view,
    customer_costs,
    excess_cost,
    pareto,
    period_months,
    priciest,
    quantiles,
    tag_costs,
    twins,
    whale,
)
from analytics.dataset import Dataset, direct
from analytics.measures import fsum

TOP_SHARE = 0.2  # the concentration tile: the most expensive fifth of customers


@dataclass(frozen=True)
class CostSummary:
    """Cost to serve in figures: ``total`` over ``cases``; per case p10, median, p90, p99;
    per customer median, p90 and max; ``top_share``, the share of all cost taken by the
    most expensive :data:`TOP_SHARE` of customers; ``excess``, each case's cost above its
    scenario's standard cases (:func:`~analytics.cost.excess_cost`)."""

    total: float
    cases: int
    case_p10: float
    case_median: float
    case_p90: float
    case_p99: float
    customer_median: float
    customer_p90: float
    customer_max: float
    top_share: float
    excess: float


def top_share(people: pl.DataFrame, share: float = TOP_SHARE) -> float:
    """Share of all service cost taken by the most expensive ``share`` of customers:
    customers ranked by cost (ties by ``customer_id``), the first ``ceil(share x n)`` of
    them; their cost / the total (exactly rounded sums: the same in any row order). 0 when
    nothing costs anything."""
    total = fsum(people["cost"])
    if not people.height or not total:
        return 0.0
    top = math.ceil(share * people.height)
    ranked = people.sort(["cost", "customer_id"], descending=[True, False])
    return fsum(ranked["cost"].head(top)) / total


def summarize(cases: pl.DataFrame, people: pl.DataFrame) -> CostSummary:
    """The headline figures of ``cases`` (:func:`~analytics.cost.case_costs`) and
    ``people`` (:func:`~analytics.cost.customer_costs` of them)."""
    case, person = cases["cost"], people["cost"]

    def q(values: pl.Series, p: float) -> float:
        return float(values.quantile(p, "nearest") or 0.0)

    return CostSummary(
        total=fsum(case),
        cases=cases.height,
        case_p10=q(case, 0.1),
        case_median=float(case.median() or 0.0),  # type: ignore[arg-type]
        case_p90=q(case, 0.9),
        case_p99=q(case, 0.99),
        customer_median=float(person.median() or 0.0),  # type: ignore[arg-type]
        customer_p90=q(person, 0.9),
        customer_max=float(person.max() or 0.0),  # type: ignore[arg-type]
        top_share=top_share(people),
        excess=excess_cost(cases),
    )


def drill(cases: pl.DataFrame, scenario: str | None = None, tag: str | None = None) -> pl.DataFrame:
    """The cases of ``scenario`` (every one when None) that carry ``tag`` (any when None),
    most expensive first, ties by case id."""
    chosen = cases.filter(
        pl.col("scenario") == scenario if scenario else pl.lit(True),
        pl.col(tag) if tag else pl.lit(True),
    )
    return chosen.sort(["cost", "case_id"], descending=[True, False])


def case_list(cases: pl.DataFrame, names: Mapping[str, str]) -> pl.DataFrame:
    """Cases as a reader scans them: id, customer, scenario, start, contacts, channels,
    cost, and ``behaviours``, the names (``names``: tag -> words) of the tags it carries,
    in :data:`~analytics.cost.TAGS` order, joined by ", "."""
    tags = [pl.when(pl.col(g)).then(pl.lit(names.get(g, g))) for g in TAGS if g in cases.columns]
    return cases.select(
        "case_id",
        "customer_id",
        "scenario",
        "start",
        "contacts",
        "channels",
        "cost",
        # The names of the tags set, by a string concatenation that skips the others (a list
        # per row, its nulls dropped and joined: 0.2 s CPU for a 64,000-case scenario).
        pl.concat_str(tags, separator=", ", ignore_nulls=True).alias("behaviours"),
    )


def case_events(events: pl.DataFrame, case_id: str) -> pl.DataFrame:
    """One case's events in order (timestamp, then the export's row order), the columns
    that tell its story."""
    wanted = ("timestamp", "activity", "channel", "resource", "is_manual", "handle_s")
    return (
        events.filter(pl.col("case_id") == case_id)
        .sort("timestamp", "row_nr")
        .select(c for c in wanted if c in events.columns)
    )


def twin_table(pairs: pl.DataFrame) -> pl.DataFrame:
    """:func:`~analytics.cost.twins` groups, the columns a reader compares: who (segment,
    revenue from-to, scenario), how many cases, contacts p10 and p90 and their ratio,
    cost per case p10 and p90."""
    return pairs.select(
        "segment",
        "revenue_from",
        "revenue_to",
        "scenario",
        "cases",
        "contacts_p10",
        "contacts_p90",
        "ratio",
        "cost_p10",
        "cost_p90",
    )


@dataclass(frozen=True)
class CostPage:
    """Everything the Cost page draws for one choice of its view (:func:`page`), computed
    once: ``people`` (:func:`~analytics.cost.customer_costs`, most expensive first, ties by
    id), the headline ``figures``, the per-scenario ``boxes`` (quantiles), the ``pareto``
    and ``whale`` curves (``whale`` None without margins), the behaviour ``tags``, the 15
    ``priciest`` (scenario x behaviour) pairs, the customer ``pairs`` of twins, and the
    first pair's two cases with their events (``pair_cases``, ``pair_events``: low, high)."""

    view: CostView
    months: float
    people: pl.DataFrame
    figures: CostSummary
    boxes: pl.DataFrame
    pareto: pl.DataFrame
    whale: pl.DataFrame | None
    tags: pl.DataFrame
    priciest: pl.DataFrame
    pairs: pl.DataFrame | None
    pair_cases: pl.DataFrame | None
    pair_events: tuple[pl.DataFrame, pl.DataFrame] | None


def page(
    dataset: Dataset,
    collapse: bool | None,
    closing: Sequence[str],
    compute: Callable[..., Any] = direct,
) -> CostPage:
    """The Cost page's figures for the view ``cost_view(dataset, collapse, closing)``;
    ``compute(fn, dataset, *params)`` runs the view (the app passes its cache)."""
    view: CostView = compute(cost_view, dataset, collapse, tuple(closing))
    cases, months = view.cases, period_months(dataset.events)
    people = customer_costs(cases, dataset.customers, months)
    people = people.sort(["cost", "customer_id"], descending=[True, False])
    margins = "margin" in people.columns and people["margin"].null_count() < people.height
    pairs = twins(cases, dataset.customers) if dataset.customers is not None else None
    pair_cases = pair_events = None
    if pairs is not None and pairs.height:
        first = pairs.row(0, named=True)
        ids = [first["low_case"], first["high_case"]]
        pair_cases = cases.filter(pl.col("case_id").is_in(ids))
        low, high = (case_events(dataset.events, i) for i in ids)
        pair_events = (low, high)
    return CostPage(
        view=view,
        months=months,
        people=people,
        figures=summarize(cases, people),
        boxes=quantiles(cases, "cost", "scenario"),
        pareto=pareto(people),
        whale=whale(people) if margins else None,
        tags=tag_costs(cases).drop("mean_cost"),
        priciest=priciest(cases).head(15),
        pairs=pairs,
        pair_cases=pair_cases,
        pair_events=pair_events,
    )


def drill_list(
    dataset: Dataset,
    collapse: bool | None,
    closing: Sequence[str],
    scenario: str,
    tag: str,
    names: tuple[tuple[str, str], ...],
    compute: Callable[..., Any] = direct,
) -> pl.DataFrame:
    """:func:`case_list` of :func:`drill` (``names``: (tag, words) pairs) on the view
    ``cost_view(dataset, collapse, closing)``."""
    view: CostView = compute(cost_view, dataset, collapse, tuple(closing))
    return case_list(drill(view.cases, scenario or None, tag or None), dict(names))
