"""Forecasts: hand-checked baselines and metrics, recovery of known patterns, holidays,
model choice against the baseline, and the planted understaffing of the sample company."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from analytics.forecast import (
    BASELINE,
    Prediction,
    _seasonal_naive,
    _weekly_average,
    choose,
    daily_series,
    error_metrics,
    forecast_all,
    forecast_series,
    holiday_factor,
)
from analytics.io import load_path
from analytics.sample import UNDERSTAFFED_SLOTS
from analytics.sla import has_staffing, queue_breaches
from tests.conftest import SAMPLE_DIR

START = dt.datetime(2024, 1, 1)  # a Monday
DAILY = [dt.time(0)]


def _days(n: int) -> list[dt.datetime]:
    return [START + dt.timedelta(days=i) for i in range(n)]


def test_baselines_by_hand():
    y = np.arange(1.0, 15.0)  # two weeks: 1..7, 8..14
    naive = _seasonal_naive(y, 7, 9, z=1.0)
    assert naive.mean.tolist() == [8, 9, 10, 11, 12, 13, 14, 8, 9]
    # Week-on-week differences are all 7, so their sd is 0 and so is the interval.
    assert (naive.upper == naive.mean).all()
    avg = _weekly_average(y, 7, 3, z=1.0)
    assert avg.mean.tolist() == [4.5, 5.5, 6.5]  # mean of 1 and 8, 2 and 9, 3 and 10


def test_error_metrics_by_hand():
    actual = np.array([10.0, 0.0, 20.0])
    pred = Prediction(np.array([12.0, 0.0, 15.0]), np.array([9.0, 0, 16]), np.array([13.0, 1, 18]))
    m = error_metrics(actual, pred, scale=2.0)
    assert m["scaled"] == (2 + 0 + 5) / 2.0  # sum |e| / scale; MASE divides by n
    assert m["smape"] == pytest.approx(2 * 2 / 22 + 0 + 2 * 5 / 35)  # 0/0 counts as 0
    assert (m["abs"], m["actual"]) == (7.0, 30.0)  # WAPE = 7 / 30
    assert m["inside"] == 2  # 10 in [9, 13], 0 in [0, 1]; 20 is above [16, 18]


def test_choose_never_prefers_a_model_that_does_not_beat_the_baseline():
    def metrics(base: float, ets: float) -> pl.DataFrame:
        return pl.DataFrame({"model": [BASELINE, "ets"], "mase": [base, ets]})

    assert choose(metrics(1.0, 0.9)) == "ets"
    assert choose(metrics(1.0, 1.0)) == BASELINE  # a tie goes to the baseline
    assert choose(metrics(0.8, 0.9)) == BASELINE
    assert choose(metrics(1.0, float("nan"))) == BASELINE  # a failed model is not chosen


def _weekly_series(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pattern = np.array([120.0, 110, 100, 100, 90, 40, 30])
    return pattern, pattern[np.arange(n) % 7] + rng.normal(0, 8, n)


def test_ets_recovers_a_weekly_pattern_and_beats_seasonal_naive():
    pattern, y = _weekly_series(26 * 7, seed=3)
    result = forecast_series(
        "s", _days(y.size), y, frequency="daily", slots=DAILY, horizon_days=14, off=set()
    )
    m = {r["model"]: r for r in result.metrics.to_dicts()}
    # Seasonal naive carries last week's noise (error sd ~ 8 x sqrt 2); a smoother does not.
    assert m["ets"]["mase"] < m[BASELINE]["mase"]
    assert result.model != BASELINE and result.beats_baseline
    truth = pattern[np.arange(y.size, y.size + 14) % 7]
    assert np.abs(result.forecast["mean"].to_numpy() - truth).mean() < 8
    assert (result.forecast["lower"] <= result.forecast["mean"]).all()
    assert result.forecast["time"][0] == START + dt.timedelta(days=y.size)


def test_holidays_are_learned_and_applied():
    pattern, y = _weekly_series(40 * 7, seed=5)
    times = _days(y.size)
    off = {times[i].date() for i in (30, 60, 95, 130, 170, 200, 250)}
    y = np.array([v * 0.5 if t.date() in off else v for v, t in zip(y, times, strict=True)])
    factor, seen = holiday_factor([t.date() for t in times], y, off)
    assert seen == 7 and factor == pytest.approx(0.5, abs=0.08)
    future_holiday = (times[-1] + dt.timedelta(days=3)).date()
    result = forecast_series(
        "s",
        times,
        y,
        frequency="daily",
        slots=DAILY,
        horizon_days=7,
        off=off | {future_holiday},
    )
    row = result.forecast.filter(pl.col("holiday")).row(0, named=True)
    normal = pattern[(y.size + 2) % 7]
    assert row["mean"] == pytest.approx(0.5 * normal, rel=0.2)
    assert result.holiday_factor == factor


def test_too_few_holidays_leave_them_unadjusted():
    _, y = _weekly_series(8 * 7, seed=1)
    result = forecast_series(
        "s", _days(y.size), y, frequency="daily", slots=DAILY, horizon_days=7, off=set()
    )
    assert result.holiday_factor == 1.0
    assert any("holiday" in note for note in result.notes)


def test_intraday_mstl_runs_and_keeps_the_daily_profile():
    slots = [dt.time(8 + h) for h in range(10)]
    rng = np.random.default_rng(2)
    profile = np.array([2.0, 5, 9, 12, 12, 10, 9, 7, 4, 2])
    weeks = 10
    y = np.concatenate(
        [profile * (0.5 if d % 7 >= 5 else 1.0) for d in range(weeks * 7)]
    ) + rng.normal(0, 0.5, weeks * 70)
    times = [
        dt.datetime.combine(START.date() + dt.timedelta(days=d), s)
        for d in range(weeks * 7)
        for s in slots
    ]
    result = forecast_series(
        "q", times, y, frequency="intraday", slots=slots, horizon_days=7, off=set()
    )
    assert set(result.metrics["model"]) == {BASELINE, "weekly_average", "mstl"}
    assert result.metrics.filter(pl.col("model") == "mstl")["folds"][0] == 3
    monday = result.forecast["mean"].to_numpy()[:10]  # the horizon starts on a Monday
    assert np.abs(monday - profile).mean() < 1.0
    assert result.forecast.height == 70


def test_daily_series_fills_missing_days_with_zero():
    events = pl.DataFrame(
        {
            "timestamp": [START, START, START + dt.timedelta(days=2)],
            "channel": ["phone", "phone", "phone"],
        }
    )
    out = daily_series(events)
    assert out["volume"].to_list() == [2.0, 0.0, 1.0]


def test_unknown_holiday_country_is_a_clear_error(small_dir):
    with pytest.raises(ValueError, match="no public-holiday calendar for country code 'XX'"):
        forecast_all(load_path(small_dir), 7, country="XX")


@pytest.fixture(scope="module")
def sample_run():
    dataset = load_path(SAMPLE_DIR)
    return dataset, forecast_all(dataset, horizon_days=21)


def test_sample_forecasts_are_honest_about_the_baseline(sample_run):
    _, run = sample_run
    assert {s.name for s in run.daily} >= {"phone", "chat", "email", "bot"}
    assert [s.name for s in run.intraday] == ["phone"]
    for s in run.daily + run.intraday:
        mase = dict(zip(s.metrics["model"], s.metrics["mase"], strict=True))
        assert s.beats_baseline == (s.model != BASELINE and mase[s.model] < mase[BASELINE])
        assert mase[s.model] <= mase[BASELINE]
    # The sample's holidays start 30 % of a day's cases (follow-ups spill into them), so
    # every channel learns a factor well below a normal day.
    assert all(0.2 < s.holiday_factor < 0.55 for s in run.daily if s.name != "meeting")


def test_planted_understaffing_shows_up_as_breach_points(sample_run):
    dataset, run = sample_run
    assert has_staffing(dataset.acd)
    settings = dataset.settings
    breaches = queue_breaches(
        [(s.name, s.forecast) for s in run.intraday],
        dataset.acd,
        run.interval_s,
        settings.sla_target_s,
        settings.sla_goal,
    )
    workdays = breaches.filter(~pl.col("holiday"))
    hour = pl.col("time").dt.hour()
    planted = pl.lit(False)
    for day, first, last in UNDERSTAFFED_SLOTS:
        planted = planted | ((pl.col("weekday") == day + 1) & (hour >= first) & (hour < last))
    flagged = workdays.with_columns(planted.alias("planted"))
    # Every planted interval on a working day is a likely breach ...
    assert flagged.filter("planted").height >= 10
    assert flagged.filter("planted")["p_breach"].min() >= 0.75
    # ... and nothing outside the planted hours is as sure.
    assert flagged.filter(pl.col("p_breach") >= 0.9)["planted"].all()


def test_planted_understaffing_becomes_sla_alerts(sample_run):
    from analytics.escalation import Inputs, Rules, fire
    from analytics.forecast import breaches

    dataset, run = sample_run
    rules = Rules(tuple(r for r in Rules.default().rules if r.signal == "sla_breach"))
    alerts = fire(rules, Inputs(breaches=breaches(run, dataset), interval_s=run.interval_s))
    # One alert per queue and weekday, so next week's run finds the same ids.
    assert sorted(a["zone"] for a in alerts) == ["queue phone Fri", "queue phone Mon"]
    friday = next(a for a in alerts if a["zone"].endswith("Fri"))
    assert all(t.endswith(("17:00", "17:30")) for t in friday["evidence"]["intervals"])
