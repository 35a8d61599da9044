"""Contact-volume forecasts per channel or queue, daily and intra-day, chosen by backtest.

Series:

* daily: customer contacts (every channel but ``internal``) per channel and day, from
  ``events``;
* intra-day: offered contacts per queue and report interval, from ``acd`` (or, without
  it, contacts per channel and hour from ``events``), on the opening-hours grid: the times
  of day the report ever covers, every day. A day is then ``slots`` points, a week
  ``7 x slots``.

Models, each with a prediction interval at ``level`` (80 % by default):

* ``seasonal_naive``: the value one week earlier (y[t - m]); interval sd = the sd of
  in-sample week-on-week differences x sqrt(weeks ahead);
* ``weekly_average``: the mean of the same weekday (and slot) over the last 4 weeks;
  interval sd = the in-sample sd of that rule's errors;
* ``ets`` (daily): statsmodels ``ETSModel``, additive error, damped additive trend and
  additive weekly seasonality, with its analytic interval;
* ``mstl`` (intra-day): statsmodels ``MSTL`` with daily and weekly periods; the seasonally
  adjusted series gets a damped-trend ``ETSModel`` (with its interval), the seasonal
  components continue their last cycle.

Public holidays of ``country`` come from the ``holidays`` package. Their effect is a
factor: the median over past holidays of the day's volume / the mean of the same weekday
one and two weeks either side. Holidays are divided by it before fitting (so they do not
distort the weekly pattern) and future holidays are multiplied by it. With fewer than two
past holidays to learn from, the factor is 1 and the forecast says so.

Model choice: a rolling-origin backtest. The last ``folds`` windows of ``horizon`` points
are each forecast from the history before them. Per model:

* MASE = mean |error| / mean in-sample |y[t] - y[t - m]| (the seasonal-naive in-sample
  error at the weekly period m, from each fold's training part);
* sMAPE = 100 x mean 2 |error| / (|actual| + |forecast|) (0 where both are 0);
* WAPE = sum |error| / sum actual; interval coverage = share of actuals inside it.

The model with the lowest MASE is used; the seasonal-naive baseline wins ties, and a model
that does not beat it is never shown as better than it.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import holidays
import numpy as np
import pandas as pd
import polars as pl
from scipy.stats import norm

from analytics.calibration import Calibration, calibrate
from analytics.dataset import Dataset
from analytics.kpi import is_contact
from analytics.sla import has_staffing, interval_seconds, queue_breaches

BASELINE = "seasonal_naive"
DAILY_MODELS = (BASELINE, "weekly_average", "ets")
INTRADAY_MODELS = (BASELINE, "weekly_average", "mstl")
AVERAGE_WEEKS = 4
MIN_HOLIDAYS = 2


@dataclass(frozen=True)
class Prediction:
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class SeriesForecast:
    """One series: its backtest, the chosen model and the forecast with its interval."""

    name: str
    frequency: str  # "daily" or "intraday"
    model: str
    beats_baseline: bool
    metrics: pl.DataFrame  # model, mase, smape, wape, coverage, folds
    history: pl.DataFrame  # time, volume
    forecast: pl.DataFrame  # time, mean, lower, upper, sd, holiday
    holiday_factor: float
    holidays_seen: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "frequency": self.frequency,
            "model": self.model,
            "beats_baseline": self.beats_baseline,
            "holiday_factor": round(self.holiday_factor, 4),
            "holidays_seen": self.holidays_seen,
            "notes": list(self.notes),
            "metrics": [
                {
                    k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                    for k, v in r.items()
                }
                for r in self.metrics.to_dicts()
            ],
            "forecast": [{**r, "time": r["time"].isoformat()} for r in self.forecast.to_dicts()],
        }


@dataclass(frozen=True)
class ForecastRun:
    """Every series of a dataset, plus what the breach forecast needs."""

    horizon_days: int
    level: float
    country: str
    daily: tuple[SeriesForecast, ...]
    intraday: tuple[SeriesForecast, ...]
    interval_s: float
    intraday_source: str  # "acd" or "events"


# ---------------------------------------------------------------- series from a dataset


def daily_series(events: pl.DataFrame) -> pl.DataFrame:
    """Contacts per channel and day (``series``, ``time``, ``volume``), zeros filled from
    each channel's first day to the data's last day."""
    counts = (
        events.lazy()
        .filter(is_contact() & pl.col("channel").is_not_null())
        .group_by(pl.col("channel").alias("series"), pl.col("timestamp").dt.date().alias("day"))
        .agg(pl.len().alias("volume"))
        .collect()
    )
    if counts.height == 0:
        return pl.DataFrame(
            schema={"series": pl.String, "time": pl.Datetime("us"), "volume": pl.Float64}
        )
    last = counts["day"].max()
    grid = (
        counts.group_by("series")
        .agg(pl.date_ranges(pl.col("day").min(), pl.lit(last)).alias("day"))
        .explode("day")
    )
    return (
        grid.join(counts, on=["series", "day"], how="left")
        .select(
            "series",
            pl.col("day").cast(pl.Datetime("us")).alias("time"),
            pl.col("volume").fill_null(0).cast(pl.Float64),
        )
        .sort("series", "time")
    )


def intraday_series(dataset: Dataset) -> tuple[pl.DataFrame, float, str]:
    """Offered contacts per queue and interval on the opening-hours grid.

    Returns (frame of ``series``, ``time``, ``volume``; interval seconds; source). From
    ``acd`` when it has rows, else hourly contacts per channel from ``events``.
    """
    acd = dataset.acd
    if acd is not None and acd.height:
        interval_s = interval_seconds(acd)
        rows = acd.select(
            pl.col("queue").fill_null("all").alias("series")
            if "queue" in acd.columns
            else pl.lit("all").alias("series"),
            pl.col("interval_start").alias("time"),
            pl.col("offered").cast(pl.Float64).alias("volume"),
        )
        source = "acd"
    else:
        interval_s = 3600.0
        rows = (
            dataset.events.filter(is_contact() & pl.col("channel").is_not_null())
            .group_by(
                pl.col("channel").alias("series"),
                pl.col("timestamp").dt.truncate("1h").alias("time"),
            )
            .agg(pl.len().cast(pl.Float64).alias("volume"))
        )
        source = "events"
    rows = rows.group_by("series", "time").agg(pl.col("volume").sum())
    if rows.height == 0:
        return rows, interval_s, source
    slots = rows.select("series", pl.col("time").dt.time().alias("slot")).unique()
    days = (
        rows.group_by("series")
        .agg(
            pl.date_ranges(pl.col("time").min().dt.date(), pl.col("time").max().dt.date()).alias(
                "day"
            )
        )
        .explode("day")
    )
    grid = days.join(slots, on="series").select(
        "series", pl.col("day").dt.combine(pl.col("slot")).cast(pl.Datetime("us")).alias("time")
    )
    frame = (
        grid.join(rows, on=["series", "time"], how="left")
        .with_columns(pl.col("volume").fill_null(0.0))
        .sort("series", "time")
    )
    return frame, interval_s, source


# ---------------------------------------------------------------- holidays


def holiday_dates(country: str, first: dt.date, last: dt.date) -> set[dt.date]:
    """Public holidays of ``country`` (ISO code) between two dates; unknown code: ValueError."""
    try:
        calendar = holidays.country_holidays(country, years=range(first.year, last.year + 1))
    except NotImplementedError as exc:
        raise ValueError(f"no public-holiday calendar for country code {country!r}") from exc
    return {d for d in calendar if first <= d <= last}


def holiday_factor(days: list[dt.date], totals: np.ndarray, off: set[dt.date]) -> tuple[float, int]:
    """(factor, holidays used): the median of volume / same-weekday neighbours on holidays.

    Neighbours are the same weekday 7 and 14 days either side that are not holidays.
    """
    by_day = dict(zip(days, totals, strict=True))
    ratios = []
    for d in days:
        if d not in off:
            continue
        near = [
            by_day[n]
            for k in (-14, -7, 7, 14)
            if (n := d + dt.timedelta(days=k)) in by_day and n not in off
        ]
        if len(near) >= 2 and np.mean(near) > 0:
            ratios.append(by_day[d] / float(np.mean(near)))
    if len(ratios) < MIN_HOLIDAYS:
        return 1.0, len(ratios)
    return float(np.clip(np.median(ratios), 0.0, 3.0)), len(ratios)


# ---------------------------------------------------------------- models


def _seasonal_naive(y: np.ndarray, m: int, h: int, z: float) -> Prediction:
    steps = np.arange(h)
    mean = y[len(y) - m + steps % m]
    diffs = y[m:] - y[:-m]
    sd = float(np.std(diffs, ddof=1)) if diffs.size > 1 else 0.0
    half = z * sd * np.sqrt(steps // m + 1)
    return Prediction(mean, mean - half, mean + half)


def _weekly_average(y: np.ndarray, m: int, h: int, z: float) -> Prediction:
    k = max(1, min(AVERAGE_WEEKS, len(y) // m))
    last = y[len(y) - k * m :].reshape(k, m).mean(axis=0)
    mean = last[np.arange(h) % m]
    # In-sample errors of the same rule: each point against the mean of the k weeks before.
    past = np.stack([y[i * m : len(y) - (k - i) * m] for i in range(k)]).mean(axis=0)
    errors = y[k * m :] - past
    sd = float(np.std(errors, ddof=1)) if errors.size > 1 else 0.0
    half = z * sd * np.sqrt(1 + 1 / k)
    return Prediction(mean, mean - half, mean + half)


def _ets_interval(model: object, n: int, h: int, alpha: float) -> Prediction:
    # statsmodels needs a pandas index here (with plain arrays it fails on ``.index``).
    frame = model.get_prediction(start=n, end=n + h - 1).summary_frame(alpha=alpha)  # type: ignore[attr-defined]
    return Prediction(
        frame["mean"].to_numpy(), frame["pi_lower"].to_numpy(), frame["pi_upper"].to_numpy()
    )


def _ets_fit(y: np.ndarray, season: int | None = None) -> object:
    """Additive-error, damped-additive-trend ETS, with additive seasonality of ``season``
    when given; heuristic initialisation (0.03 s a fit instead of 0.4 s, AIC within 1 %)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = {"seasonal": "add", "seasonal_periods": season} if season else {}
    return ETSModel(
        pd.Series(y),
        error="add",
        trend="add",
        damped_trend=True,
        initialization_method="heuristic",
        **seasonal,
    ).fit(disp=False)


def _ets(y: np.ndarray, m: int, h: int, alpha: float) -> Prediction:
    return _ets_interval(_ets_fit(y, m), len(y), h, alpha)


def _mstl(y: np.ndarray, day: int, h: int, alpha: float) -> Prediction:
    from statsmodels.tsa.seasonal import MSTL

    week = 7 * day
    # One inner loop, no robustness passes: 5x faster and as close on counts (measured).
    parts = MSTL(y, periods=(day, week), stl_kwargs={"inner_iter": 1, "outer_iter": 0}).fit()
    seasonal = np.asarray(parts.seasonal).reshape(len(y), -1)
    trend = _ets_fit(y - seasonal.sum(axis=1))
    base = _ets_interval(trend, len(y), h, alpha)
    steps = np.arange(h)
    future = seasonal[len(y) - day + steps % day, 0] + seasonal[len(y) - week + steps % week, 1]
    return Prediction(base.mean + future, base.lower + future, base.upper + future)


def _predict(model: str, y: np.ndarray, day: int, week: int, h: int, level: float) -> Prediction:
    z = float(norm.ppf(0.5 + level / 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels convergence chatter; failures raise
        if model == BASELINE:
            p = _seasonal_naive(y, week, h, z)
        elif model == "weekly_average":
            p = _weekly_average(y, week, h, z)
        elif model == "ets":
            p = _ets(y, week, h, 1 - level)
        else:
            p = _mstl(y, day, h, 1 - level)
    if not (np.isfinite(p.mean).all() and np.isfinite(p.lower).all()):
        raise FloatingPointError(f"{model} produced non-finite values")
    return p


def min_history(model: str, day: int, week: int) -> int:
    """Points a model needs: two weeks, or four for the weekly average and MSTL."""
    return {BASELINE: week + 1, "weekly_average": 2 * week, "ets": 2 * week}.get(model, 3 * week)


# ---------------------------------------------------------------- backtest


def error_metrics(actual: np.ndarray, predicted: Prediction, scale: float) -> dict[str, float]:
    """Sums the backtest needs from one fold (see the module docstring for the formulas)."""
    err = np.abs(actual - predicted.mean)
    denom = np.abs(actual) + np.abs(predicted.mean)
    smape = np.where(denom > 0, 2 * err / np.where(denom > 0, denom, 1), 0.0)
    inside = (actual >= predicted.lower) & (actual <= predicted.upper)
    return {
        "scaled": float(err.sum() / scale) if scale > 0 else np.nan,
        "smape": float(smape.sum()),
        "abs": float(err.sum()),
        "actual": float(np.abs(actual).sum()),
        "inside": float(inside.sum()),
        "n": float(actual.size),
    }


def backtest(
    y: np.ndarray, models: tuple[str, ...], day: int, week: int, h: int, folds: int, level: float
) -> pl.DataFrame:
    """Rolling-origin backtest: per model MASE, sMAPE, WAPE, coverage and folds used."""
    sums: dict[str, dict[str, float]] = {m: {} for m in models}
    used = dict.fromkeys(models, 0)
    for k in range(folds, 0, -1):
        origin = len(y) - k * h
        train, actual = y[:origin], y[origin : origin + h]
        if origin <= week:
            continue
        scale = float(np.mean(np.abs(train[week:] - train[:-week])))
        for model in models:
            if origin < min_history(model, day, week):
                continue
            try:
                p = _predict(model, train, day, week, h, level)
            except (ValueError, np.linalg.LinAlgError, FloatingPointError):
                continue
            for key, value in error_metrics(actual, _clip(p), scale).items():
                sums[model][key] = sums[model].get(key, 0.0) + value
            used[model] += 1
    rows = []
    for model in models:
        s = sums[model]
        n = s.get("n", 0.0)
        rows.append(
            {
                "model": model,
                "mase": s["scaled"] / n if n else np.nan,
                "smape": 100 * s["smape"] / n if n else np.nan,
                "wape": s["abs"] / s["actual"] if n and s["actual"] > 0 else np.nan,
                "coverage": s["inside"] / n if n else np.nan,
                "folds": used[model],
            }
        )
    return pl.DataFrame(rows, schema_overrides={"folds": pl.Int64})


def choose(metrics: pl.DataFrame) -> str:
    """The lowest-MASE model; the seasonal-naive baseline wins ties and unknowns."""
    best, best_mase = BASELINE, np.inf
    for row in metrics.iter_rows(named=True):
        mase = row["mase"]
        if row["model"] == BASELINE:
            mase = mase if mase is not None and np.isfinite(mase) else np.inf
            if mase <= best_mase:
                best, best_mase = BASELINE, mase
        elif mase is not None and np.isfinite(mase) and mase < best_mase:
            best, best_mase = row["model"], mase
    base = metrics.filter(pl.col("model") == BASELINE)["mase"]
    if best != BASELINE and base.len() and np.isfinite(base[0]) and best_mase >= base[0]:
        return BASELINE
    return best


def _clip(p: Prediction) -> Prediction:
    """Volumes are never negative."""
    return Prediction(np.maximum(p.mean, 0), np.maximum(p.lower, 0), np.maximum(p.upper, 0))


# ---------------------------------------------------------------- one series


def forecast_series(
    name: str,
    times: list[dt.datetime],
    y: np.ndarray,
    *,
    frequency: str,
    slots: list[dt.time],
    horizon_days: int,
    off: set[dt.date],
    level: float = 0.8,
    folds: int = 3,
) -> SeriesForecast:
    """Backtest, choose and forecast one series on a regular grid of ``slots`` per day."""
    day = len(slots)
    week = 7 * day
    h = horizon_days * day
    models = DAILY_MODELS if frequency == "daily" else INTRADAY_MODELS
    dates = [t.date() for t in times]
    unique_days = sorted(set(dates))
    totals = np.bincount(
        np.searchsorted(np.array(unique_days), np.array(dates)),
        weights=y,
        minlength=len(unique_days),
    )
    factor, seen = holiday_factor(unique_days, totals, off)
    is_off = np.array([d in off for d in dates])
    adjusted = np.where(is_off, y / factor, y) if factor > 0 else y
    notes: list[str] = []
    if seen < MIN_HOLIDAYS:
        notes.append(f"{seen} past holiday(s) to learn from: holidays are not adjusted")
    if len(y) < week + 1:
        raise ValueError(f"series {name!r} has {len(y)} points; a forecast needs over a week")
    metrics = backtest(adjusted, models, day, week, h, folds, level)
    model = choose(metrics)
    if metrics.filter(pl.col("model") == BASELINE)["folds"][0] == 0:
        notes.append("too short for a backtest: the seasonal-naive baseline is used")
    try:
        pred = (
            _predict(model, adjusted, day, week, h, level)
            if len(y) >= min_history(model, day, week)
            else _predict(BASELINE, adjusted, day, week, h, level)
        )
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        notes.append(f"{model} failed on the full history: the seasonal-naive baseline is used")
        model = BASELINE
        pred = _predict(BASELINE, adjusted, day, week, h, level)
    future = [
        dt.datetime.combine(unique_days[-1] + dt.timedelta(days=1 + i // day), slots[i % day])
        for i in range(h)
    ]
    future_off = np.array([t.date() in off for t in future])
    scale = np.where(future_off, factor, 1.0)
    pred = _clip(Prediction(pred.mean * scale, pred.lower * scale, pred.upper * scale))
    z = float(norm.ppf(0.5 + level / 2))
    forecast = pl.DataFrame(
        {
            "time": future,
            "mean": pred.mean,
            "lower": pred.lower,
            "upper": pred.upper,
            "sd": (pred.upper - pred.lower) / (2 * z),
            "holiday": future_off,
        },
        schema_overrides={"time": pl.Datetime("us")},
    )
    base = metrics.filter(pl.col("model") == BASELINE)["mase"][0]
    chosen = metrics.filter(pl.col("model") == model)["mase"][0]
    return SeriesForecast(
        name=name,
        frequency=frequency,
        model=model,
        beats_baseline=model != BASELINE and chosen < base,
        metrics=metrics,
        history=pl.DataFrame(
            {"time": times, "volume": y}, schema_overrides={"time": pl.Datetime("us")}
        ),
        forecast=forecast,
        holiday_factor=factor,
        holidays_seen=seen,
        notes=tuple(notes),
    )


# ---------------------------------------------------------------- every series


class SeriesInput(NamedTuple):
    """One series on its grid: ``slots`` times of day, every day from the first to the last."""

    frequency: str
    name: str
    times: list[dt.datetime]
    y: np.ndarray
    slots: list[dt.time]


def series_inputs(frame: pl.DataFrame, frequency: str) -> list[SeriesInput]:
    """Split a ``series``/``time``/``volume`` frame into one input per series."""
    jobs = []
    for (name,), part in frame.partition_by("series", as_dict=True, maintain_order=True).items():
        times = part["time"].to_list()
        slots = sorted({t.time() for t in times}) if frequency == "intraday" else [dt.time(0)]
        jobs.append(SeriesInput(frequency, str(name), times, part["volume"].to_numpy(), slots))
    return jobs


def forecast_all(
    dataset: Dataset,
    horizon_days: int = 14,
    level: float = 0.8,
    folds: int = 3,
    country: str | None = None,
) -> ForecastRun:
    """Forecast every daily and intra-day series of ``dataset`` (see the module docstring).

    Series no longer than a week are left out, nothing guessed.
    """
    if horizon_days < 1:
        raise ValueError("the horizon must be at least one day")
    country = country or dataset.settings.holiday_country
    daily = daily_series(dataset.events)
    intra, interval_s, source = intraday_series(dataset)
    jobs = series_inputs(daily, "daily") + series_inputs(intra, "intraday")
    jobs = [j for j in jobs if len(j.y) > 7 * len(j.slots)]
    if not jobs:
        return ForecastRun(horizon_days, level, country, (), (), interval_s, source)
    first = min(j.times[0] for j in jobs).date()
    last = max(j.times[-1] for j in jobs).date() + dt.timedelta(days=horizon_days)
    off = holiday_dates(country, first, last)
    results = forecast_many(jobs, horizon_days, off, level, folds)
    return ForecastRun(
        horizon_days,
        level,
        country,
        tuple(r for r in results if r.frequency == "daily"),
        tuple(r for r in results if r.frequency == "intraday"),
        interval_s,
        source,
    )


def forecast_many(
    jobs: list[SeriesInput],
    horizon_days: int,
    off: set[dt.date],
    level: float = 0.8,
    folds: int = 3,
) -> list[SeriesForecast]:
    """``forecast_series`` for each input (sequential: two worker processes were measured
    slower on this 2-core machine, see ``benchmarks/RESULTS.md``)."""
    run = partial(_forecast_job, horizon_days=horizon_days, off=off, level=level, folds=folds)
    return [run(job) for job in jobs]


def _forecast_job(
    job: SeriesInput, horizon_days: int, off: set[dt.date], level: float, folds: int
) -> SeriesForecast:
    return forecast_series(
        job.name,
        job.times,
        job.y,
        frequency=job.frequency,
        slots=job.slots,
        horizon_days=horizon_days,
        off=off,
        level=level,
        folds=folds,
    )


def breaches(
    run: ForecastRun, dataset: Dataset, calibration: Calibration | None = None
) -> pl.DataFrame | None:
    """The SLA breach forecast of every queue against the report's recent roster,
    calibrated on the report's history (``calibration``, or fitted here by
    :func:`analytics.calibration.calibrate`), or None when the intra-day series do not come
    from an ``acd`` report with agents."""
    if run.intraday_source != "acd" or not has_staffing(dataset.acd):
        return None
    acd: pl.DataFrame = dataset.acd  # type: ignore[assignment]
    target, goal = dataset.settings.sla_target_s, dataset.settings.sla_goal
    if calibration is None:
        calibration = calibrate(acd, run.interval_s, target, goal)
    return queue_breaches(
        [(s.name, s.forecast) for s in run.intraday],
        acd,
        run.interval_s,
        target,
        goal,
        calibration=calibration,
    )
