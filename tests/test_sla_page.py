"""The Forecasts page's arithmetic, moved out of the page: recent delivery, service level
by slot, the editable roster, breach totals and the forecast overview, on tiny inputs."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from analytics.forecast import SeriesForecast, overview
from analytics.sla import (
    breach_totals,
    edit_plan,
    plan_grid,
    recent,
    service_level_by_slot,
)

MON = dt.datetime(2025, 3, 3, 9, 0)  # a Monday


def _rows() -> pl.DataFrame:
    # Unsorted; the Tuesday 09:30 slot is missing (a gap, not zero).
    starts = [
        MON + dt.timedelta(weeks=5),
        MON,
        MON + dt.timedelta(minutes=30),
        MON + dt.timedelta(weeks=1, days=1),
    ]
    return pl.DataFrame(
        {
            "interval_start": starts,
            "offered": [10, 20, 5, 8],
            "answered_in_target": [9, 10, 5, 2],
        }
    )


def test_recent_keeps_the_last_weeks_after_the_cut():
    rows = _rows()
    # last start is Monday of week 5; four weeks back is Monday of week 1 (not kept: strictly after)
    assert recent(rows, weeks=4)["interval_start"].to_list() == [
        MON + dt.timedelta(weeks=5),
        MON + dt.timedelta(weeks=1, days=1),
    ]
    assert recent(rows, weeks=6).height == 4


def test_service_level_by_slot_pools_the_weeks():
    table = service_level_by_slot(_rows())
    assert table.select("weekday", "slot").rows() == [
        (1, dt.time(9, 0)),
        (1, dt.time(9, 30)),
        (2, dt.time(9, 0)),
    ]
    # Monday 09:00: (9 + 10) / (10 + 20) = 0.6333; Monday 09:30: 5 / 5; Tuesday: 2 / 8
    assert table["service_level"].to_list() == pytest.approx([19 / 30, 1.0, 0.25])


PLAN = pl.DataFrame(
    {
        "queue": ["a", "a", "a", "b"],
        "weekday": [2, 1, 1, 1],
        "slot": [dt.time(9), dt.time(9, 30), dt.time(9), dt.time(9)],
        "agents": [4.0, 3.0, 5.0, 2.0],
        "aht_s": [180.0] * 4,
    }
)


def test_plan_grid_is_a_weekday_by_time_table():
    grid = plan_grid(PLAN, "a")
    assert grid.columns == ["weekday", "09:00", "09:30"]
    assert grid.rows() == [(1, 5.0, 3.0), (2, 4.0, None)]


def test_edit_plan_takes_the_edits_then_adds_extra_agents_never_below_zero():
    grid = pl.DataFrame({"weekday": [1, 2], "09:00": [7.0, None], "09:30": [3.0, None]})
    plan = edit_plan(PLAN, "a", grid, extra=-3)
    got = {(r["queue"], r["weekday"], r["slot"]): r["agents"] for r in plan.iter_rows(named=True)}
    assert got == {
        ("a", 1, dt.time(9)): 4.0,  # edited to 7, minus 3
        ("a", 1, dt.time(9, 30)): 0.0,  # 3 - 3
        ("a", 2, dt.time(9)): 1.0,  # left empty: keeps 4, minus 3
        ("b", 1, dt.time(9)): 0.0,  # another queue: 2 - 3, clipped at 0
    }
    assert edit_plan(PLAN, "a")["agents"].to_list() == PLAN["agents"].to_list()


def test_breach_totals_by_hand():
    breaches = pl.DataFrame({"p_breach": [0.9, 0.5, 0.49, 0.0], "gap": [2.0, -1.0, 0.5, None]})
    totals = breach_totals(breaches, interval_s=1800)
    assert totals.likely == 2  # 0.9 and 0.5 (the threshold counts)
    assert totals.expected == pytest.approx(1.89)
    assert totals.short_hours == pytest.approx((2.0 + 0.5) * 0.5)  # half-hour intervals


def _series(name: str, model: str, beats: bool) -> SeriesForecast:
    metrics = pl.DataFrame(
        {
            "model": ["seasonal_naive", "ets"],
            "mase": [1.2, 0.9],
            "smape": [20.0, 15.5],
            "wape": [0.2, 0.15],
            "coverage": [0.7, 0.8],
            "folds": [3, 3],
        }
    )
    forecast = pl.DataFrame({"time": [MON, MON], "mean": [10.5, 4.25]})
    return SeriesForecast(
        name, "daily", model, "seasonal_naive", beats, metrics, pl.DataFrame(), forecast, 1.0, 0
    )


def test_overview_reports_the_chosen_model_beside_the_baseline():
    table = overview([_series("phone", "ets", True), _series("chat", "seasonal_naive", False)])
    assert table.rows(named=True) == [
        {
            "series": "phone",
            "frequency": "daily",
            "model": "ets",
            "beats": True,
            "mase": 0.9,
            "baseline_mase": 1.2,
            "smape": 15.5,
            "coverage": 0.8,
            "total": 14.75,
        },
        {
            "series": "chat",
            "frequency": "daily",
            "model": "seasonal_naive",
            "beats": False,
            "mase": 1.2,
            "baseline_mase": 1.2,
            "smape": 20.0,
            "coverage": 0.7,
            "total": 14.75,
        },
    ]
