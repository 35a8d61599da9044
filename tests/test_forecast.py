"""Forecasts: hand-worked MASE and baselines, ETS against statsmodels, the plug-in
interface, missing days, bounded holidays, offsets, ``as_of``, a holdout with a known
answer, and the planted understaffing of the sample company."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import polars as pl
import pytest

import analytics.forecast as fc
from analytics.forecast import (
    BASELINE,
    HOLIDAY_BOUNDS,
    Model,
    Prediction,
    _seasonal_naive,
    _weekly_average,
    backtest,
    choose,
    daily_series,
    error_sums,
    ets_fit,
    ets_forecast,
    fill_missing,
    forecast_all,
    forecast_series,
    holiday_factor,
    mase,
)
from analytics.io import load_path
from analytics.sample import UNDERSTAFFED_SLOTS
from analytics.sla import has_staffing, queue_breaches
from tests.conftest import SAMPLE_DIR

START = dt.datetime(2024, 1, 1)  # a Monday
DAILY = [dt.time(0)]
NAN = np.nan


def _days(n: int) -> list[dt.datetime]:
    return [START + dt.timedelta(days=i) for i in range(n)]


# ---------------------------------------------------------------- metrics and baselines


def test_mase_by_hand():
    history = np.array([1, 2, 3, 4, 5, 6, 7, 3, 2, 5, 4, 5, 6, NAN])
    # Week-on-week changes: |3-1|, |2-2|, |5-3|, |4-4|, |5-5|, |6-6| (the NaN pair is
    # left out): mean 4 / 6. Errors: |10-12| = 2, |20-15| = 5 (the NaN actual is left out).
    value = mase(np.array([10, NAN, 20]), np.array([12, 5, 15]), history, 7)
    assert value == pytest.approx(3.5 / (4 / 6))
    assert np.isnan(mase(np.array([1.0]), np.array([1.0]), np.ones(14), 7))  # scale 0


def test_error_sums_by_hand():
    actual = np.array([10.0, 0.0, 20.0, NAN])
    pred = Prediction(
        np.array([12.0, 0.0, 15.0, 3]), np.array([9.0, 0, 16, 0]), np.array([13.0, 1, 18, 9])
    )
    m = error_sums(actual, pred)
    assert m["smape"] == pytest.approx(2 * 2 / 22 + 0 + 2 * 5 / 35)  # 0/0 counts as 0
    assert (m["abs"], m["actual"], m["n"]) == (7.0, 30.0, 3.0)  # WAPE = 7 / 30
    assert m["inside"] == 2  # 10 in [9, 13], 0 in [0, 1]; 20 is above [16, 18]


def test_baselines_by_hand_skip_missing_points():
    y = np.arange(1.0, 15.0)  # two weeks: 1..7, 8..14
    naive = _seasonal_naive(y, 1, 9, 0.8)
    assert naive.mean.tolist() == [8, 9, 10, 11, 12, 13, 14, 8, 9]
    # Week-on-week changes are all 7, so their sd is 0 and so is the interval.
    assert (naive.upper == naive.mean).all()
    assert _weekly_average(y, 1, 3, 0.8).mean.tolist() == [4.5, 5.5, 6.5]  # (1+8)/2, ...
    y[7] = NAN  # the second Monday is missing: the last Monday seen is the first one
    assert _seasonal_naive(y, 1, 1, 0.8).mean.tolist() == [1]
    # Five weeks of Mondays 1, 2, NaN, 4, 5: the last four present are 1, 2, 4, 5.
    mondays = np.full(35, 50.0)
    mondays[::7] = [1, 2, NAN, 4, 5]
    assert _weekly_average(mondays, 1, 1, 0.8).mean[0] == 3.0


def test_fill_missing_uses_the_same_weekday_nearby():
    y = np.array([10.0] * 7 + [20.0] * 7 + [30.0] * 7)
    y[8] = NAN
    # Neighbours 7 days either side: 10 and 30.
    assert fill_missing(y, 7)[8] == 20.0


def test_choose_never_prefers_a_model_that_does_not_beat_the_best_baseline():
    def metrics(naive: float, average: float, ets: float) -> pl.DataFrame:
        return pl.DataFrame(
            {"model": [BASELINE, "weekly_average", "ets"], "mase": [naive, average, ets]}
        )

    assert choose(metrics(1.0, 0.95, 0.85)) == "ets"  # 0.85 < 0.95 x (1 - 10 %) = 0.855
    assert choose(metrics(1.0, 0.95, 0.86)) == "weekly_average"  # within the margin
    assert choose(metrics(1.0, 0.9, 0.9)) == "weekly_average"  # a tie goes to the baseline
    assert choose(metrics(0.8, 0.9, 0.9)) == BASELINE  # the best baseline
    assert choose(metrics(1.0, NAN, NAN)) == BASELINE  # a failed model is not chosen
    assert choose(metrics(NAN, NAN, 2.0)) == "ets"  # no baseline could run


# ---------------------------------------------------------------- ETS


def test_ets_recursion_matches_statsmodels_with_the_same_states():
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    rng = np.random.default_rng(0)
    y = np.array([9.0, 7, 6, 6, 5, 2, 1])[np.arange(42) % 7] * 10 + rng.normal(0, 2, 42)
    alpha, beta, gamma, phi = 0.3, 0.05, 0.1, 0.9
    x0 = np.array([50.0, 0.5, 1, 2, 3, 4, 5, 6, 7])
    sse, _ = fc._ets_sse((alpha, beta, gamma, phi), y, np.ones(42, bool), 7)
    f, g, w = fc._ets_matrices(alpha, beta, gamma, phi, 7)
    x = x0.copy()
    for v in y:
        x = f @ x + g * (v - w @ x)
    fit = fc.EtsFit(alpha, beta, gamma, phi, 7, x0, x, 4.0, 0.0)
    reference = ETSModel(
        pd.Series(y),
        error="add",
        trend="add",
        damped_trend=True,
        seasonal="add",
        seasonal_periods=7,
        initialization_method="known",
        initial_level=x0[0],
        initial_trend=x0[1],
        initial_seasonal=x0[2:][::-1],  # statsmodels lists the oldest seasonal state last
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smoothed = reference.smooth([alpha, beta, gamma, phi])
    # The least-squares initial states fit at least as well as these hand-set ones.
    assert sse <= float((smoothed.resid**2).sum())
    ours = ets_forecast(fit, 10, 0.8)
    frame = smoothed.get_prediction(start=42, end=51).summary_frame(alpha=0.2)
    assert np.allclose(ours.mean, frame["mean"])
    # Same mean and the same class-1 variance formula with our sigma2 = 4.
    expected = [
        np.sqrt(4 * (1 + sum(c**2 for c in _c(alpha, beta, gamma, phi, k)))) for k in range(10)
    ]
    assert np.allclose((ours.upper - ours.mean) / 1.2815515655446004, expected)


def _c(alpha: float, beta: float, gamma: float, phi: float, k: int) -> list[float]:
    """Hyndman et al. (2008) Table 6.1, ETS(A,Ad,A): c_j = alpha + beta phi_j + gamma d_j,
    phi_j = phi + ... + phi^j, d_j = 1 when j is a multiple of the season (7)."""
    return [
        alpha + beta * sum(phi**i for i in range(1, j + 1)) + gamma * (j % 7 == 0)
        for j in range(1, k + 1)
    ]


def test_estimated_states_fit_as_well_as_statsmodels_estimated():
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    rng = np.random.default_rng(4)
    y = np.array([12.0, 11, 10, 10, 9, 4, 3])[np.arange(56) % 7] * 10 + rng.normal(0, 4, 56)
    ours = ets_fit(y, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = ETSModel(
            pd.Series(y),
            error="add",
            trend="add",
            damped_trend=True,
            seasonal="add",
            seasonal_periods=7,
            initialization_method="estimated",
        ).fit(disp=False)
    assert ours.sse <= reference.sse * 1.001
    assert 0 <= ours.beta <= ours.alpha and 0 <= ours.gamma <= 1 - ours.alpha


# ---------------------------------------------------------------- the plug-in interface


def test_a_model_is_one_entry_in_models(monkeypatch):
    pattern = np.array([120.0, 110, 100, 100, 90, 40, 30])

    def truth(t: np.ndarray) -> np.ndarray:
        return pattern[t % 7] + 1.5 * t  # a weekly pattern on a rising level

    y = truth(np.arange(70)) + np.random.default_rng(1).normal(0, 8, 70)

    def oracle(y: np.ndarray, day: int, h: int, level: float) -> Prediction:
        mean = truth(len(y) + np.arange(h))  # the truth without the noise
        return Prediction(mean, mean - 10, mean + 10)

    monkeypatch.setattr(fc, "MODELS", (*fc.MODELS, Model("oracle", oracle, 1, ("daily",))))
    result = forecast_series(
        "s", _days(70), y, frequency="daily", slots=DAILY, horizon_days=7, off=set()
    )
    assert "oracle" in result.metrics["model"].to_list()
    assert result.model == "oracle" and result.beats_baseline
    assert result.forecast["mean"].to_list() == truth(np.arange(70, 77)).tolist()


def test_every_model_returns_h_points_with_an_ordered_interval():
    rng = np.random.default_rng(3)
    y = np.array([9.0, 7, 6, 6, 5, 2, 1])[np.arange(4 * 7 * 3) % 3] + rng.normal(0, 1, 84)
    y[[10, 40]] = NAN
    for model in fc.MODELS:
        p = model.predict(y, 3, 5, 0.8)  # 3 points a day
        assert p.mean.shape == (5,), model.name
        assert (p.lower <= p.mean).all() and (p.mean <= p.upper).all(), model.name
    # MSTL is tried on half hours, not on 5-minute data (288 points a day, ~10 s a fit).
    assert "mstl" in [m.name for m in fc.candidates("intraday", 48)]
    assert [m.name for m in fc.candidates("intraday", 288)] == [BASELINE, "weekly_average"]


def test_backtest_imitates_use_with_the_forecasts_horizon():
    y = np.arange(70.0)
    seen: list[tuple[int, int]] = []

    def spy(y: np.ndarray, day: int, h: int, level: float) -> Prediction:
        seen.append((len(y), h))
        return Prediction(np.zeros(h), np.zeros(h), np.zeros(h))

    backtest(y, (Model("spy", spy, 1),), 1, 14, 3, 0.8)
    assert seen == [(42, 14), (49, 14), (56, 14)]  # origins a week apart, the last n - h
    assert fc.backtest_folds(7, 3) == 3 and fc.backtest_folds(21, 3) == fc.MAX_FOLDS == 6


# ---------------------------------------------------------------- missing days, holidays


def test_missing_days_are_missing_and_closed_weekdays_zero():
    # Two channels over three weeks; no event at all on Wed 10 Jan (an export gap) and on
    # any Sunday (closed); chat has no contact on Tue 2 Jan, a day the export covers.
    days = [START + dt.timedelta(days=i) for i in range(21)]
    open_days = [d for d in days if d.isoweekday() != 7 and d.day != 10]
    events = pl.DataFrame(
        {
            "timestamp": [d + dt.timedelta(hours=10) for d in open_days]
            + [d + dt.timedelta(hours=11) for d in open_days if d.day != 2],
            "channel": ["phone"] * len(open_days) + ["chat"] * (len(open_days) - 1),
        }
    )
    out = daily_series(events)
    phone = dict(zip(*out.filter(pl.col("series") == "phone")[["time", "volume"]], strict=True))
    chat = dict(zip(*out.filter(pl.col("series") == "chat")[["time", "volume"]], strict=True))
    assert phone[dt.datetime(2024, 1, 10)] is None  # missing, not zero
    assert phone[dt.datetime(2024, 1, 7)] == 0.0  # Sunday: closed
    assert chat[dt.datetime(2024, 1, 2)] == 0.0  # covered by the export, no chat contact
    assert phone[dt.datetime(2024, 1, 9)] == 1.0


def _weekly_series(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pattern = np.array([120.0, 110, 100, 100, 90, 40, 30])
    return pattern, pattern[np.arange(n) % 7] + rng.normal(0, 8, n)


def test_missing_days_do_not_drag_the_forecast_down():
    pattern, y = _weekly_series(12 * 7, seed=6)
    y[[71, 72, 78, 79, 80]] = NAN  # five recent weekdays absent from the export
    result = forecast_series(
        "s", _days(y.size), y, frequency="daily", slots=DAILY, horizon_days=7, off=set()
    )
    assert np.abs(result.forecast["mean"].to_numpy() - pattern).max() < 20
    assert result.history["volume"].null_count() == 5
    assert result.notes[0].key == "missing_days"
    assert "5 day(s) absent" in str(result.notes[0])


def test_holidays_are_learned_from_present_ones_and_applied():
    pattern, y = _weekly_series(40 * 7, seed=5)
    times = _days(y.size)
    off = {times[i].date() for i in (30, 60, 95, 130, 170, 200, 250)}
    y = np.array([v * 0.5 if t.date() in off else v for v, t in zip(y, times, strict=True)])
    y[[60, 130]] = NAN  # two holidays absent from the export: not learned from
    factor, seen = holiday_factor([t.date() for t in times], y, off)
    assert seen == 5 and factor == pytest.approx(0.5, abs=0.08)
    future_holiday = (times[-1] + dt.timedelta(days=3)).date()
    result = forecast_series(
        "s", times, y, frequency="daily", slots=DAILY, horizon_days=7, off=off | {future_holiday}
    )
    row = result.forecast.filter(pl.col("holiday")).row(0, named=True)
    assert row["mean"] == pytest.approx(0.5 * pattern[(y.size + 2) % 7], rel=0.2)
    assert result.holiday_factor == factor


def test_holiday_factor_is_bounded():
    days = [START.date() + dt.timedelta(days=i) for i in range(70)]
    totals = np.full(70, 100.0)
    off = {days[20], days[41]}
    totals[[20, 41]] = 0.0  # two holidays recorded with no calls at all
    assert holiday_factor(days, totals, off) == (HOLIDAY_BOUNDS[0], 2)
    totals[[20, 41]] = 900.0
    assert holiday_factor(days, totals, off) == (HOLIDAY_BOUNDS[1], 2)
    totals[[20, 41]] = NAN  # absent from the export: nothing learned
    assert holiday_factor(days, totals, off) == (1.0, 0)


def test_too_few_holidays_leave_them_unadjusted():
    _, y = _weekly_series(8 * 7, seed=1)
    result = forecast_series(
        "s", _days(y.size), y, frequency="daily", slots=DAILY, horizon_days=7, off=set()
    )
    assert result.holiday_factor == 1.0
    assert [n.key for n in result.notes] == ["few_holidays"]


# ---------------------------------------------------------------- recovery and holdout


def test_intraday_mstl_runs_and_keeps_the_daily_profile():
    slots = [dt.time(8 + h) for h in range(10)]
    rng = np.random.default_rng(2)
    profile = np.array([2.0, 5, 9, 12, 12, 10, 9, 7, 4, 2])
    weeks = 6
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
    monday = result.forecast["mean"].to_numpy()[:10]  # the horizon starts on a Monday
    assert np.abs(monday - profile).mean() < 1.0
    assert result.forecast.height == 70


def test_holdout_chosen_model_is_no_worse_than_the_weekly_average():
    # A stable weekly pattern with noise and a few missing days: the best predictor is
    # the long-run weekday mean, which the 4-week average approximates. Over five seeds,
    # the model chosen by the backtest must do at least as well on the last 4 weeks.
    chosen, average = [], []
    for seed in range(5):
        _, y = _weekly_series(20 * 7, seed=seed)
        y[np.random.default_rng(seed).choice(110, 4, replace=False)] = NAN
        history, actual = y[:-28], y[-28:]
        result = forecast_series(
            "s", _days(history.size), history, frequency="daily", slots=DAILY,
            horizon_days=28, off=set(),
        )  # fmt: skip
        chosen.append(mase(actual, result.forecast["mean"].to_numpy(), history, 7))
        average.append(mase(actual, _weekly_average(history, 1, 28, 0.8).mean, history, 7))
    assert np.mean(chosen) <= np.mean(average)


# ---------------------------------------------------------------- a whole dataset


def test_unknown_holiday_country_is_a_clear_error(small_dir):
    with pytest.raises(ValueError, match="no public-holiday calendar for country code 'XX'"):
        forecast_all(load_path(small_dir), 7, country="XX")


def test_as_of_cuts_the_history(small_dir):
    dataset = load_path(small_dir)
    last = dataset.events["timestamp"].max().date()
    as_of = last - dt.timedelta(days=10)
    run = forecast_all(dataset, 7, folds=1, as_of=as_of)
    assert run.as_of == as_of
    for s in run.daily + run.intraday:
        assert s.history["time"].max().date() == as_of
        assert s.forecast["time"].min().date() == as_of + dt.timedelta(days=1)
    # The same as a dataset that never had the later rows.
    stop = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0))
    cut = replace(
        dataset,
        events=dataset.events.filter(pl.col("timestamp") < stop),
        acd=dataset.acd.filter(pl.col("interval_start") < stop),
    )
    again = forecast_all(cut, 7, folds=1)
    assert [s.forecast["mean"].to_list() for s in run.intraday] == [
        s.forecast["mean"].to_list() for s in again.intraday
    ]


def test_offsets_convert_to_the_dataset_zone_and_are_reported(tmp_path):
    # Two weeks of calls at 07:00 UTC ("Z"): 10:00 in Moscow, the dataset's zone.
    rows = ["case_id,customer_id,timestamp,activity,channel"]
    for d in range(15):
        for k in range(5 + d % 7):
            day = dt.date(2024, 3, 1) + dt.timedelta(days=d)
            rows.append(f"c{d}_{k},u{k},{day}T07:00:00Z,request,phone")
    (tmp_path / "events.csv").write_text("\n".join(rows) + "\n")
    dataset = load_path(tmp_path)
    assert dataset.events["timestamp"].dt.hour().unique().to_list() == [10]
    assert any("UTC offset" in w and "Europe/Moscow" in w for w in dataset.report.warnings)
    run = forecast_all(dataset, 7)
    assert run.offset_columns == ("events.timestamp",)
    assert run.timezone == "Europe/Moscow"


@pytest.fixture(scope="module")
def sample_run():
    dataset = load_path(SAMPLE_DIR)
    return dataset, forecast_all(dataset, horizon_days=21)


def test_sample_forecasts_are_honest_about_the_baseline(sample_run):
    _, run = sample_run
    assert {s.name for s in run.daily} >= {"phone", "chat", "email", "bot"}
    assert [s.name for s in run.intraday] == ["phone"]
    for s in run.daily + run.intraday:
        assert s.mase(s.model) <= s.mase(s.baseline)
        assert s.beats_baseline == (s.model != s.baseline and s.mase(s.model) < s.mase(s.baseline))
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


def test_cli_forecast_as_of(small_dir, capsys):
    from analytics.cli import main

    assert (
        main(["forecast", str(small_dir), "--horizon", "7", "--as-of", "2025-02-10", "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert {s["forecast"][0]["time"][:10] for s in out["series"]} == {"2025-02-11"}
    with pytest.raises(SystemExit) as stop:  # argparse: a usage message, not a traceback
        main(["forecast", str(small_dir), "--as-of", "10.02.2025"])
    assert stop.value.code == 2 and "--as-of" in capsys.readouterr().err


def test_planned_agents_show_as_whole_people_unless_a_plan_has_a_fraction():
    from dashboard.forecast_view import BREACHES, breach_kinds

    whole = pl.DataFrame({"agents": [3.0, 2.0, None]})
    assert breach_kinds(whole) == {**BREACHES, "agents": "count"}
    averaged = pl.DataFrame({"agents": [3.0, 6.5]})  # 6 and 7 agents in past weeks
    assert breach_kinds(averaged)["agents"] == "number"
