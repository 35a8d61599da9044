"""The Forecasts page's SLA breach forecast under the reader's roster, computed once per
choice (forecast settings, queue, edited grid, extra agents) instead of on every redraw.

The figures are :func:`analytics.sla.queue_breaches` of the intra-day forecasts against
:func:`analytics.sla.weekly_plan` edited by :func:`analytics.sla.edit_plan`, calibrated by
:func:`analytics.calibration.calibrate_dataset`: the same functions the page called itself.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from analytics.calibration import calibrate_dataset
from analytics.dataset import Dataset, direct
from analytics.forecast import forecast_all, run_breaches
from analytics.sla import (
    BreachTotals,
    breach_points,
    breach_totals,
    edit_plan,
    weekly_plan,
)


def roster(dataset: Dataset) -> pl.DataFrame:
    """:func:`~analytics.sla.weekly_plan` of the dataset's ``acd`` report (which has agents)."""
    assert dataset.acd is not None
    return weekly_plan(dataset.acd)


def grid_key(grid: pl.DataFrame | None) -> str:
    """An edited roster grid as a cache parameter ("" for none): its JSON."""
    return "" if grid is None else grid.write_json()


@dataclass(frozen=True)
class BreachView:
    """Every queue's intervals with P(breach) (``breaches``), their ``totals`` and the 20
    likeliest (``points``)."""

    breaches: pl.DataFrame
    totals: BreachTotals
    points: pl.DataFrame


def breach_view(
    dataset: Dataset,
    horizon: int,
    level: float,
    country: str,
    queue: str,
    grid: str,
    extra: int,
    compute: Callable[..., Any] = direct,
) -> BreachView:
    """The breach forecast of ``forecast_all(dataset, horizon, level, 3, country)`` against
    the roster with ``queue``'s agents from ``grid`` (:func:`grid_key` of an edited
    :func:`~analytics.sla.plan_grid`, "" for none) and ``extra`` agents in every slot."""
    run = compute(forecast_all, dataset, horizon, level, 3, country)
    calibration = compute(calibrate_dataset, dataset, run.interval_s)
    edited = pl.read_json(io.StringIO(grid)) if grid else None
    plan = edit_plan(compute(roster, dataset), queue, edited, extra)
    assert dataset.acd is not None
    breaches = run_breaches(run, dataset.acd, dataset.settings, plan, calibration)
    return BreachView(breaches, breach_totals(breaches, run.interval_s), breach_points(breaches))
