"""The Forecasts page's cached breach forecast (analytics/sla_summary.py) is the page's old
sequence of calls, with an edited roster carried through its JSON key unchanged."""

from __future__ import annotations

import polars as pl

from analytics.calibration import calibrate_dataset
from analytics.forecast import forecast_all
from analytics.io import load_path
from analytics.sla import breach_points, breach_totals, edit_plan, plan_grid, queue_breaches
from analytics.sla_summary import breach_view, grid_key, roster


def test_the_breach_view_is_the_direct_calls_with_and_without_an_edit(small_dir):
    dataset = load_path(small_dir)
    settings = dataset.settings
    run = forecast_all(dataset, 14, 0.8, 3, "RU")
    done = {(forecast_all, (14, 0.8, 3, "RU")): run}

    def compute(fn, data, *params):  # the app's cache, in miniature: one forecast in all
        if (fn, params) not in done:
            done[fn, params] = fn(data, *params)
        return done[fn, params]

    calibration = calibrate_dataset(dataset, run.interval_s)
    plan = roster(dataset)
    queue = plan["queue"][0]
    grid = plan_grid(plan, queue)
    slot = grid.columns[5]
    edited = grid.with_columns(
        pl.when(pl.col("weekday") == 2).then(0.0).otherwise(pl.col(slot)).alias(slot)
    )
    for key, frame, extra in (("", None, 0), (grid_key(edited), edited, 3)):
        # the page's calls before the cache, spelled out
        roster_now = edit_plan(plan, queue, frame, extra)
        expected = queue_breaches(
            [(s.name, s.forecast) for s in run.intraday], dataset.acd, run.interval_s,
            settings.sla_target_s, settings.sla_goal, roster_now, calibration,
        )  # fmt: skip
        found = breach_view(dataset, 14, 0.8, "RU", queue, key, extra, compute)
        assert found.breaches.equals(expected)
        assert found.totals == breach_totals(expected, run.interval_s)
        assert found.points.equals(breach_points(expected))
    # the edit matters: three more agents everywhere and a slot emptied change the forecast
    first = breach_view(dataset, 14, 0.8, "RU", queue, "", 0, compute)
    assert not first.breaches.equals(found.breaches)
