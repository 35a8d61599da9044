"""What the Risk page shows, computed from a trained :class:`~analytics.risk.RiskModel`:
the money column it reads, the headline figures, the model comparison, and the list of
customers at risk with their reasons in words.

Money: with a churn history, revenue at risk is ``p_churn x LTV`` per customer
(``revenue_at_risk``); without one there is no LTV, and it is a month's revenue at risk,
``p_churn x monthly revenue`` (``revenue_at_risk_month``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from analytics.dataset import Dataset, direct
from analytics.measures import revenue_at_risk
from analytics.risk import RiskModel, at_risk, reason_words, silent_at_risk, train


def money_column(model: RiskModel) -> str:
    """``revenue_at_risk`` with an LTV (a churn history), else ``revenue_at_risk_month``."""
    return "revenue_at_risk" if model.ltv_churn else "revenue_at_risk_month"


@dataclass(frozen=True)
class RiskFigures:
    """``at_risk``: the sum of the money column over the active customers (None when no
    LTV is known); ``expected``: expected leavers, the sum of their probabilities;
    ``silent`` and ``silent_money``: the silent customers among the riskiest and their
    money at risk (None without events: nobody can be called silent)."""

    at_risk: float | None
    expected: float
    silent: int | None
    silent_money: float | None


def figures(model: RiskModel, has_events: bool) -> RiskFigures:
    scored, column = model.scored, money_column(model)
    total = revenue_at_risk(scored) if model.ltv_churn else float(scored[column].sum())
    quiet = silent_at_risk(scored) if has_events else None
    return RiskFigures(
        at_risk=total,
        expected=float(scored["p_churn"].sum()),
        silent=None if quiet is None else quiet.height,
        silent_money=None if quiet is None else float(quiet[column].sum()),
    )


def validation_table(model: RiskModel, names: Mapping[str, str]) -> pl.DataFrame:
    """The models compared on validation (``names``: model -> words), with ``used``
    marking the one that scores the customers."""
    rows = [v.__dict__ for v in model.validations]
    return pl.DataFrame(rows).with_columns(
        (pl.col("model") == model.method).alias("used"),
        pl.col("model").replace_strict(dict(names), default=pl.col("model")),
    )


def customer_list(
    model: RiskModel,
    silent_only: bool,
    templates: Mapping[str, str],
    has_events: bool,
    lang: str = "en",
) -> pl.DataFrame:
    """The riskiest customers (the silent ones only with ``silent_only``), most money at
    risk first, then the highest probability, then customer id. Columns: customer_id,
    p_churn, the money column, the model's slices present, silent (with events),
    ``main_reason`` (the strongest, "" without one) and ``reasons``, all of them as a
    list: each customer's reasons in words (``templates``: reason key -> words in ``lang``,
    see :func:`~analytics.risk.reason_words`), strongest first."""
    scored, column = model.scored, money_column(model)
    listed = (silent_at_risk(scored) if silent_only else at_risk(scored)).sort(
        column, "p_churn", "customer_id", descending=[True, True, False], nulls_last=True
    )
    words = pl.Series("reasons", reason_words(listed, templates, lang), dtype=pl.List(pl.String))
    slices = [s for s in model.slices if s in listed.columns]
    return listed.with_columns(words, words.list.first().fill_null("").alias("main_reason")).select(
        "customer_id",
        "p_churn",
        column,
        *slices,
        *(["silent"] if has_events else []),
        "main_reason",
        "reasons",
    )


def at_risk_list(
    dataset: Dataset,
    silent_only: bool,
    templates: tuple[tuple[str, str], ...],
    lang: str = "en",
    compute: Callable[..., Any] = direct,
) -> pl.DataFrame:
    """:func:`customer_list` of the dataset's risk model (``compute(train, dataset)``; the app
    passes its cache), ``templates`` as (reason key, words) pairs in ``lang``: one cached
    list per language and choice instead of wording every customer's reasons on each redraw."""
    model = compute(train, dataset)
    return customer_list(model, silent_only, dict(templates), dataset.events.height > 0, lang)
