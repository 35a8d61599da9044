"""Contact-volume forecasts per channel or queue, daily and intra-day, chosen by a backtest
that imitates their use.

Series:

* daily: customer contacts (every channel but ``internal``) per channel and day, from
  ``events``;
* intra-day: offered contacts per queue and report interval, from ``acd`` (or, without
  it, contacts per channel and hour from ``events``), on the opening-hours grid: the times
  of day the report ever covers, every day. A day is ``slots`` points, a week ``7 x slots``.

Missing is not zero. Exports leave out holidays, outages and closed days alike, so a day
the source has no row for is *missing* (NaN), never a day without contacts. Zero is
written only where the data says so: a series without contacts on a day the source
covers (an interval or channel absent from a day that has other rows), and a *closed
weekday*, one the source covers on fewer than ``CLOSED_SHARE`` (1 in 5) of its weeks,
such as the Sunday of a centre closed on Sundays. Missing points are left out of every
error, scale and factor; averages skip them, and ETS and MSTL, which need a complete
series, see them filled with the mean of the same weekday and slot up to two weeks away.

Models are plug-ins (:class:`Model`: a name, the history it needs, one fit-and-predict
call returning the mean and a ``level`` interval), listed once in ``MODELS``:

* ``seasonal_naive`` (baseline): the last value seen at the same weekday and slot;
  interval sd = sd of in-sample week-on-week changes x sqrt(weeks ahead);
* ``weekly_average`` (baseline): the mean of the last 4 values seen at the same weekday
  and slot; interval sd = in-sample sd of that rule's errors x sqrt(1 + 1/4);
* ``ets`` (daily): ETS(A,Ad,A), additive error, damped additive trend, additive weekly
  seasonality, with smoothing parameters *and initial states* estimated (:func:`ets_fit`),
  and its analytic interval;
* ``ets_average`` (daily): the mean of the ``ets`` and ``weekly_average`` forecasts and
  of their interval bounds (combining two forecasts cancels part of their errors);
* ``mstl`` (intra-day): statsmodels ``MSTL`` with daily and weekly periods; the seasonally
  adjusted series gets a damped-trend ETS (with its interval), the seasonal components
  repeat their last cycle.

Public holidays of ``country`` come from the ``holidays`` package. Their effect is a
factor learned only from holidays present in the data: the median, over such holidays,
of the day's volume / the mean of the same weekday 7 and 14 days either side (present,
not holidays), clipped to ``HOLIDAY_BOUNDS`` (0.1..2). With fewer than two holidays to
learn from it is 1 and a note says so. History holidays are divided by it before
fitting; forecast holidays are multiplied by it, in the backtest as in use.

Model choice: a rolling-origin backtest that imitates the use: forecasts of the page's
own horizon from origins a week apart (a weekly re-planning) over the last ``folds``
horizons of history (at most ``MAX_FOLDS`` origins), each from the history before it,
with the holiday factor applied, scored on the counts as recorded. Per model:

* MASE (:func:`mase`) = mean |error| / mean in-sample |y[t] - y[t - week]| (the
  seasonal-naive error of each fold's history), pooled over folds by their points;
* sMAPE = 100 x mean 2 |error| / (|actual| + |forecast|) (0 where both are 0);
* WAPE = sum |error| / sum actual; interval coverage = share of actuals inside it.

The best baseline (lowest MASE) is used unless another model beats it by more than
``MARGIN`` (10 %), so the choice never scores worse in the backtest than the best baseline.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import NamedTuple

import holidays
import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view
from scipy import optimize, signal
from scipy.stats import norm

from analytics.calibration import Calibration, calibrate
from analytics.dataset import Dataset
from analytics.kpi import is_contact
from analytics.parsing import OFFSET_LABEL
from analytics.schema import Settings
from analytics.sla import has_staffing, interval_seconds, queue_breaches, report_until

BASELINE = "seasonal_naive"
AVERAGE_WEEKS = 4
MIN_HOLIDAYS = 2
HOLIDAY_BOUNDS = (0.1, 2.0)
CLOSED_SHARE = 0.2
MARGIN = 0.10
MAX_FOLDS = 6
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Prediction:
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


# ---------------------------------------------------------------- notes

_NOTES = {
    "few_holidays": "{seen} past holiday(s) in the data to learn from: holidays in the "
    "horizon are forecast as normal days",
    "missing_days": "{days} day(s) absent from the export are treated as missing, not as "
    "zero contacts",
    "closed": "closed on {weekdays} (almost never in the data): those days count as zero",
    "no_backtest": "no backtest was possible (too short, or no week-on-week change to "
    "scale errors by): the seasonal-naive baseline is used",
    "fallback": "{model} failed on the full history: the seasonal-naive baseline is used",
}


@dataclass(frozen=True)
class Note:
    """A remark about one series: a key the UI translates and its values (``weekdays``
    are ISO numbers, 1 = Monday); ``str()`` gives the English text."""

    key: str
    values: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        values = dict(self.values)
        if "weekdays" in values:
            values["weekdays"] = ", ".join(WEEKDAYS[d - 1] for d in values["weekdays"])  # type: ignore[attr-defined]
        return _NOTES[self.key].format(**values)


# ---------------------------------------------------------------- the model interface

Predictor = Callable[[np.ndarray, int, int, float], Prediction]


@dataclass(frozen=True)
class Model:
    """A forecasting method the backtest can choose.

    ``predict(y, day, h, level)`` fits on the history ``y`` (NaN = missing; ``day`` points
    a day, ``7 * day`` a week) and returns the next ``h`` points with a ``level`` interval.
    ``min_weeks``: history it needs, in weeks; ``frequencies``: the series it applies to;
    ``max_day``: the most points a day it can afford (None: any); ``baseline``: a simple
    rule that the chosen model must not lose to.
    """

    name: str
    predict: Predictor
    min_weeks: int
    frequencies: tuple[str, ...] = ("daily", "intraday")
    baseline: bool = False
    max_day: int | None = None

    def min_history(self, day: int) -> int:
        return self.min_weeks * 7 * day


def _z(level: float) -> float:
    return float(norm.ppf(0.5 + level / 2))


# ---------------------------------------------------------------- baselines


def _by_week(y: np.ndarray, week: int) -> np.ndarray:
    """``y`` as rows of whole weeks ending at its last point (the front padded with NaN):
    column ``j`` holds the weekday and slot of forecast steps ``j``, ``j + week``, ..."""
    pad = (-len(y)) % week
    return np.concatenate([np.full(pad, np.nan), y]).reshape(-1, week)


def _recent_mean(table: np.ndarray, k: int) -> np.ndarray:
    """Per column, the mean of its last ``k`` present values; where a column has none,
    the mean of all present values (0 when there are none at all)."""
    present = ~np.isnan(table)
    from_end = np.cumsum(present[::-1], axis=0)[::-1]
    keep = present & (from_end <= k)
    count = keep.sum(axis=0)
    total = np.where(keep, table, 0.0).sum(axis=0)
    fallback = float(table[present].mean()) if present.any() else 0.0
    return np.where(count > 0, total / np.maximum(count, 1), fallback)


def _sd(errors: np.ndarray) -> float:
    errors = errors[np.isfinite(errors)]
    return float(np.std(errors, ddof=1)) if errors.size > 1 else 0.0


def _seasonal_naive(y: np.ndarray, day: int, h: int, level: float) -> Prediction:
    week, steps = 7 * day, np.arange(h)
    mean = _recent_mean(_by_week(y, week), 1)[steps % week]
    half = _z(level) * _sd(y[week:] - y[:-week]) * np.sqrt(steps // week + 1)
    return Prediction(mean, mean - half, mean + half)


def _weekly_average(y: np.ndarray, day: int, h: int, level: float) -> Prediction:
    week, k = 7 * day, AVERAGE_WEEKS
    table = _by_week(y, week)
    mean = _recent_mean(table, k)[np.arange(h) % week]
    # In-sample errors of the same rule: each week against the mean of the k weeks before.
    errors = np.empty(0)
    if table.shape[0] > k:
        before = sliding_window_view(table, k, axis=0)[:-1]
        present = ~np.isnan(before)
        count = present.sum(axis=-1)
        past = np.where(present, before, 0.0).sum(axis=-1) / np.where(count > 0, count, np.nan)
        errors = (table[k:] - past).ravel()
    half = _z(level) * _sd(errors) * np.sqrt(1 + 1 / k)
    return Prediction(mean, mean - half, mean + half)


# ---------------------------------------------------------------- ETS with estimated states


@dataclass(frozen=True)
class EtsFit:
    """A fitted ETS(A,Ad,A) (``period`` 0: ETS(A,Ad,N)).

    States ``x = (level, trend, s_t, s_t-1, ..., s_t-m+1)``; one step:
    ``yhat = w'x``, ``e = y - yhat``, ``x <- F x + g e``, with ``w = (1, phi, 0.., 1)``,
    ``g = (alpha, beta, gamma, 0..)``.
    """

    alpha: float
    beta: float
    gamma: float
    phi: float
    period: int
    initial: np.ndarray  # x_0, estimated
    states: np.ndarray  # x_n, after the last point
    sigma2: float  # SSE / observed points (the maximum-likelihood variance)
    sse: float


def _ets_matrices(
    alpha: float, beta: float, gamma: float, phi: float, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = 2 + m
    f = np.zeros((k, k))
    f[0, :2] = 1.0, phi
    f[1, 1] = phi
    g, w = np.zeros(k), np.zeros(k)
    g[:2], w[:2] = (alpha, beta), (1.0, phi)
    if m:
        f[2, k - 1] = 1.0  # the new seasonal state starts from the one a season ago
        f[3:, 2 : k - 1] = np.eye(m - 1)  # the others move one place back
        g[2], w[k - 1] = gamma, 1.0
    return f, g, w


def _powers(row: np.ndarray, matrix: np.ndarray, n: int) -> np.ndarray:
    """Rows ``row @ matrix**k`` for k = 0..n-1, by doubling (log2 n matrix products)."""
    out, power = row[None, :], matrix
    while out.shape[0] < n:
        out = np.vstack([out, out @ power])
        power = power @ power
    return out[:n]


def _ets_sse(
    params: tuple[float, float, float, float], y: np.ndarray, observed: np.ndarray, m: int
) -> tuple[float, np.ndarray]:
    """SSE of one-step errors at the best initial states, and those states.

    With ``D = F - g w'`` the states follow ``x_t = D x_t-1 + g y_t``, so the one-step
    forecast ``yhat_t = w' D^(t-1) x_0 + sum_j w' D^(t-1-j) g y_j`` is linear in ``x_0``:
    the states that minimise the SSE are a least-squares solution (the level and the
    seasonal states share one degree of freedom; lstsq takes the minimum-norm one).
    """
    f, g, w = _ets_matrices(*params, m)
    n = len(y)
    with np.errstate(all="ignore"):
        h = _powers(w, f - np.outer(g, w), n)  # h[k] = w' D^k
        impulse = h @ g
        # Direct convolution is faster on short series, FFT on long intra-day ones.
        conv = np.convolve if n < 512 else signal.fftconvolve
        driven = np.concatenate([[0.0], conv(y, impulse)[: n - 1]])
        target = (y - driven)[observed]
        design = h[observed]
        if not (np.isfinite(design).all() and np.isfinite(target).all()):
            return np.inf, np.zeros(len(w))
        x0, *_ = np.linalg.lstsq(design, target, rcond=None)
        e = target - design @ x0
    return float(e @ e), x0


# Where the optimiser starts (a, b, c, phi). One start: on 16 generated daily series it
# reached the SSE of the better of two starts (0.1, 0.1, 0.1, 0.95) and (0.5, 0.05, 0.3,
# 0.9) within 0.001 % on every one, at half the cost.
ETS_STARTS = ((0.3, 0.05, 0.1, 0.9),)


def ets_fit(y: np.ndarray, period: int, observed: np.ndarray | None = None) -> EtsFit:
    """Fit ETS(A,Ad,A) by least squares (= maximum likelihood for additive errors).

    The initial states are concentrated out (:func:`_ets_sse`), so the optimiser searches
    only ``alpha`` in (0, 1), ``beta = b alpha``, ``gamma = c (1 - alpha)`` with ``b, c`` in
    [0, 1], and ``phi`` in [0.8, 0.98] (statsmodels' usual bounds), from ``ETS_STARTS``.
    ``y`` must be complete; ``observed`` marks the points that count in the SSE.
    """
    observed = np.ones(len(y), bool) if observed is None else observed
    m = period

    def unpack(z: np.ndarray) -> tuple[float, float, float, float]:
        a, b, c, phi = z
        return float(a), float(b * a), float(c * (1 - a)), float(phi)

    def objective(z: np.ndarray) -> float:
        sse, _ = _ets_sse(unpack(z), y, observed, m)
        return float(np.log(sse + 1e-12)) if np.isfinite(sse) else 1e6

    bounds = [(1e-4, 0.9999), (0.0, 1.0), (0.0, 1.0 if m else 0.0), (0.8, 0.98)]
    best = None
    for start in ETS_STARTS:
        z0 = np.array(start) if m else np.array([start[0], start[1], 0.0, start[3]])
        # log(SSE) to 1e-7 is far finer than the forecasts can tell apart, and half the cost.
        res = optimize.minimize(
            objective, z0, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-7}
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    params = unpack(best.x)
    sse, x0 = _ets_sse(params, y, observed, m)
    if not np.isfinite(sse):
        raise FloatingPointError("ETS found no stable fit")
    f, g, w = _ets_matrices(*params, m)
    x = x0.copy()
    for value in y:  # run the states to the end of the history
        x = f @ x + g * (value - w @ x)
    return EtsFit(*params, m, x0, x, sse / max(int(observed.sum()), 1), sse)


def ets_forecast(fit: EtsFit, h: int, level: float) -> Prediction:
    """Mean ``w' F^(k-1) x_n`` at step k, and the class-1 variance of Hyndman et al.
    (2008): ``sigma2 (1 + sum_{j<k} c_j^2)`` with ``c_j = w' F^(j-1) g``."""
    f, g, w = _ets_matrices(fit.alpha, fit.beta, fit.gamma, fit.phi, fit.period)
    rows = _powers(w, f, h)
    mean = rows @ fit.states
    c = rows @ g
    var = fit.sigma2 * (1 + np.concatenate([[0.0], np.cumsum(c[:-1] ** 2)]))
    half = _z(level) * np.sqrt(var)
    return Prediction(mean, mean - half, mean + half)


def _shift(y: np.ndarray, k: int) -> np.ndarray:
    out = np.full(len(y), np.nan)
    if k > 0:
        out[k:] = y[:-k]
    else:
        out[:k] = y[-k:]
    return out


def fill_missing(y: np.ndarray, week: int) -> np.ndarray:
    """``y`` with each missing point replaced by the mean of the same weekday and slot up
    to two weeks either side, else of all weeks, else by 0 (for models that need a
    complete series; the points stay out of every error)."""
    gaps = np.isnan(y)
    if not gaps.any():
        return y
    near = np.stack([_shift(y, k * week) for k in (-2, -1, 1, 2)])
    count = (~np.isnan(near)).sum(axis=0)
    local = np.nansum(near, axis=0) / np.where(count > 0, count, np.nan)
    pad = (-len(y)) % week
    column = _recent_mean(_by_week(y, week), len(y))
    overall = column[(np.arange(len(y)) + pad) % week]
    return np.where(gaps, np.where(np.isnan(local), overall, local), y)


def _ets(y: np.ndarray, day: int, h: int, level: float) -> Prediction:
    return _ets_cached(y.tobytes(), day, h, level)


@lru_cache(maxsize=16)
def _ets_cached(data: bytes, day: int, h: int, level: float) -> Prediction:
    # Cached: ``ets_average`` asks for the same fit as ``ets`` in every backtest fold.
    y, week = np.frombuffer(data), 7 * day
    fit = ets_fit(fill_missing(y, week), week, ~np.isnan(y))
    return ets_forecast(fit, h, level)


def _ets_average(y: np.ndarray, day: int, h: int, level: float) -> Prediction:
    a, b = _ets(y, day, h, level), _weekly_average(y, day, h, level)
    return Prediction((a.mean + b.mean) / 2, (a.lower + b.lower) / 2, (a.upper + b.upper) / 2)


def _mstl(y: np.ndarray, day: int, h: int, level: float) -> Prediction:
    from statsmodels.tsa.seasonal import MSTL

    week = 7 * day
    # The forecast needs only the last cycles and the recent trend: decomposing the last
    # 8 weeks instead of a year is 6x faster.
    y = y[max(0, len(y) - 8 * week) :]
    filled = fill_missing(y, week)
    # One inner loop, no robustness passes: 5x faster and as close on counts (measured).
    parts = MSTL(filled, periods=(day, week), stl_kwargs={"inner_iter": 1, "outer_iter": 0}).fit()
    seasonal = np.asarray(parts.seasonal).reshape(len(y), -1)
    base = ets_forecast(ets_fit(filled - seasonal.sum(axis=1), 0, ~np.isnan(y)), h, level)
    steps = np.arange(h)
    n = len(y)
    future = seasonal[n - day + steps % day, 0] + seasonal[n - week + steps % week, 1]
    return Prediction(base.mean + future, base.lower + future, base.upper + future)


# Every model, baselines first (they win ties). A new model is one line here.
MODELS: tuple[Model, ...] = (
    Model(BASELINE, _seasonal_naive, 1, baseline=True),
    Model("weekly_average", _weekly_average, 2, baseline=True),
    Model("ets", _ets, 3, ("daily",)),
    Model("ets_average", _ets_average, 3, ("daily",)),
    # MSTL on 5-minute data (288 points a day) costs about 10 s a fit: half hours at most.
    Model("mstl", _mstl, 3, ("intraday",), max_day=48),
)


def candidates(frequency: str, day: int = 1) -> tuple[Model, ...]:
    """The models the backtest tries on a ``daily`` or ``intraday`` series of ``day``
    points a day."""
    return tuple(
        m for m in MODELS if frequency in m.frequencies and (m.max_day is None or day <= m.max_day)
    )


def _model(name: str) -> Model:
    return next(m for m in MODELS if m.name == name)


def _predict(model: Model, y: np.ndarray, day: int, h: int, level: float) -> Prediction:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels convergence chatter; failures raise
        p = model.predict(y, day, h, level)
    if not (np.isfinite(p.mean).all() and np.isfinite(p.lower).all()):
        raise FloatingPointError(f"{model.name} produced non-finite values")
    return p


# ---------------------------------------------------------------- backtest


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, period: int) -> float:
    """Mean absolute scaled error (Hyndman & Koehler 2006):
    ``mean |actual - forecast| / mean |history[t] - history[t - period]|``, both means over
    the points present (not NaN). NaN when no actual is present or the scale is 0."""
    err = np.abs(actual - forecast)
    changes = np.abs(history[period:] - history[:-period])
    err, changes = err[~np.isnan(err)], changes[~np.isnan(changes)]
    if not err.size or not changes.size or changes.mean() == 0:
        return float("nan")
    return float(err.mean() / changes.mean())


def error_sums(actual: np.ndarray, predicted: Prediction) -> dict[str, float]:
    """Sums the backtest pools over folds (see the module docstring), over present actuals."""
    keep = ~np.isnan(actual)
    a, p = actual[keep], predicted.mean[keep]
    err = np.abs(a - p)
    denom = np.abs(a) + np.abs(p)
    smape = np.where(denom > 0, 2 * err / np.where(denom > 0, denom, 1), 0.0)
    inside = (a >= predicted.lower[keep]) & (a <= predicted.upper[keep])
    return {
        "smape": float(smape.sum()),
        "abs": float(err.sum()),
        "actual": float(np.abs(a).sum()),
        "inside": float(inside.sum()),
        "n": float(a.size),
    }


def _clip(p: Prediction, scale: np.ndarray | float = 1.0) -> Prediction:
    """Scaled by the holiday factor; volumes are never negative."""
    return Prediction(
        np.maximum(p.mean * scale, 0),
        np.maximum(p.lower * scale, 0),
        np.maximum(p.upper * scale, 0),
    )


def backtest(
    y: np.ndarray,
    models: tuple[Model, ...],
    day: int,
    h: int,
    folds: int,
    level: float,
    factor: np.ndarray | None = None,
) -> pl.DataFrame:
    """Rolling-origin backtest: per model MASE, sMAPE, WAPE, coverage and folds used.

    ``folds`` origins a week apart, the last ``h`` points before the end: fold k
    (k = folds - 1..0) forecasts ``h`` points from ``y[: n - h - k week]``, as a weekly
    re-planning would have. ``factor`` (per point; holidays: the holiday factor) divides
    the history before the models see it and multiplies their forecasts, as in use;
    errors are on ``y`` itself.
    """
    week = 7 * day
    factor = np.ones(len(y)) if factor is None else factor
    adjusted = y / factor
    sums: dict[str, dict[str, float]] = {m.name: {} for m in models}
    used = {m.name: 0 for m in models}
    for k in range(folds - 1, -1, -1):
        origin = len(y) - h - k * week
        if origin <= week:
            continue
        train, actual = y[:origin], y[origin : origin + h]
        for model in models:
            if origin < model.min_history(day) or np.isnan(actual).all():
                continue
            try:
                p = _clip(_predict(model, adjusted[:origin], day, h, level), factor[origin:][:h])
            except (ValueError, np.linalg.LinAlgError, FloatingPointError):
                continue
            score = mase(actual, p.mean, train, week)
            if np.isnan(score):
                continue
            part = error_sums(actual, p)
            part["scaled"] = score * part["n"]
            for key, value in part.items():
                sums[model.name][key] = sums[model.name].get(key, 0.0) + value
            used[model.name] += 1
    rows = []
    for model in models:
        s = sums[model.name]
        n = s.get("n", 0.0)
        rows.append(
            {
                "model": model.name,
                "mase": s["scaled"] / n if n else np.nan,
                "smape": 100 * s["smape"] / n if n else np.nan,
                "wape": s["abs"] / s["actual"] if n and s["actual"] > 0 else np.nan,
                "coverage": s["inside"] / n if n else np.nan,
                "folds": used[model.name],
            }
        )
    return pl.DataFrame(rows, schema_overrides={"folds": pl.Int64})


def _lowest(metrics: pl.DataFrame, cap: float = np.inf) -> tuple[str, float]:
    """The first model with the lowest finite MASE below ``cap`` (seasonal naive, inf
    when there is none)."""
    best, best_mase = BASELINE, cap
    for row in metrics.iter_rows(named=True):
        value = row["mase"]
        if value is not None and np.isfinite(value) and value < best_mase:
            best, best_mase = row["model"], value
    return best, best_mase


def best_baseline(metrics: pl.DataFrame) -> str:
    """The baseline with the lowest backtest MASE (the first listed on ties; seasonal
    naive when none has a MASE)."""
    names = [m.name for m in MODELS if m.baseline]
    return _lowest(metrics.filter(pl.col("model").is_in(names)))[0]


def backtest_folds(horizon_days: int, windows: int) -> int:
    """Weekly origins that cover the last ``windows`` horizons (at most ``MAX_FOLDS``):
    3 windows of 7 days give 3 origins, of 14 days 6."""
    return min(MAX_FOLDS, max(1, windows * -(-horizon_days // 7)))


def choose(metrics: pl.DataFrame) -> str:
    """The model to use: the best baseline, unless another model's backtest MASE is lower
    by more than ``MARGIN`` (10 %), in which case the lowest such model.

    So the choice never scores worse in the backtest than the best baseline, and a model
    replaces it only on evidence larger than the backtest's selection noise: on 30
    generated contact series, choosing by the bare lowest MASE scored 0.941-0.955 on the
    holdout against 0.933 for always using the 4-week average, a 5 % margin 0.943-0.949
    and a 10 % margin 0.925-0.930 (see ``benchmarks/RESULTS.md``). Models without a MASE
    are never chosen."""
    base = best_baseline(metrics)
    base_mase = metrics.filter(pl.col("model") == base)["mase"]
    cap = float(base_mase[0]) if base_mase.len() and base_mase[0] is not None else np.nan
    cap = (1 - MARGIN) * cap if np.isfinite(cap) else np.inf
    names = [m.name for m in MODELS if m.baseline]
    other, value = _lowest(metrics.filter(~pl.col("model").is_in(names)), cap)
    return other if np.isfinite(value) and value < cap else base


# ---------------------------------------------------------------- holidays


def holiday_dates(country: str, first: dt.date, last: dt.date) -> set[dt.date]:
    """Public holidays of ``country`` (ISO code) between two dates; unknown code: ValueError."""
    try:
        calendar = holidays.country_holidays(country, years=range(first.year, last.year + 1))
    except NotImplementedError as exc:
        raise ValueError(f"no public-holiday calendar for country code {country!r}") from exc
    return {d for d in calendar if first <= d <= last}


def holiday_factor(days: list[dt.date], totals: np.ndarray, off: set[dt.date]) -> tuple[float, int]:
    """(factor, holidays used): the median of volume / same-weekday neighbours over the
    holidays present in the data (NaN total = absent: not used), clipped to
    ``HOLIDAY_BOUNDS``. Neighbours: the same weekday 7 and 14 days either side, present
    and not holidays; at least two with a positive mean. Below ``MIN_HOLIDAYS``: 1."""
    by_day = {d: float(v) for d, v in zip(days, totals, strict=True) if np.isfinite(v)}
    ratios = []
    for d in days:
        if d not in off or d not in by_day:
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
    return float(np.clip(np.median(ratios), *HOLIDAY_BOUNDS)), len(ratios)


# ---------------------------------------------------------------- series from a dataset


def on_grid(rows: pl.DataFrame, covered: pl.Series, end: dt.date) -> pl.DataFrame:
    """Complete ``rows`` (``series``, ``time``, ``volume``) to each series' grid: every day
    from its first to ``end`` at every time of day it ever has.

    ``covered``: the days the source has any row for. A point on a covered day that the
    series lacks is 0; a day the source does not cover is null (missing), except on a
    closed weekday (covered on fewer than ``CLOSED_SHARE`` of its days), where it is 0.
    """
    span = pl.DataFrame({"day": pl.date_range(covered.min(), end, eager=True)})
    span = span.with_columns(pl.col("day").is_in(covered.implode()).alias("covered"))
    closed = (
        span.group_by(pl.col("day").dt.weekday().alias("weekday"))
        .agg((pl.col("covered").mean() < CLOSED_SHARE).alias("closed"))
        .sort("weekday")
    )
    days = (
        rows.group_by("series")
        .agg(pl.date_ranges(pl.col("time").min().dt.date(), pl.lit(end)).alias("day"))
        .explode("day")
        .join(span, on="day", how="left")
        .join(closed, left_on=pl.col("day").dt.weekday(), right_on="weekday", how="left")
    )
    slots = rows.select("series", pl.col("time").dt.time().alias("slot")).unique()
    grid = days.join(slots, on="series").select(
        "series",
        pl.col("day").dt.combine(pl.col("slot")).cast(pl.Datetime("us")).alias("time"),
        (pl.col("covered").fill_null(False) | pl.col("closed")).alias("known"),
    )
    return (
        grid.join(rows, on=["series", "time"], how="left")
        .select(
            "series",
            "time",
            pl.when(pl.col("known")).then(pl.col("volume").fill_null(0.0)).alias("volume"),
        )
        .sort("series", "time")
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"series": pl.String, "time": pl.Datetime("us"), "volume": pl.Float64}
    )


def daily_series(events: pl.DataFrame, end: dt.date | None = None) -> pl.DataFrame:
    """Contacts per channel and day (``series``, ``time``, ``volume``) on the grid of
    :func:`on_grid`: a day without any event is missing, not zero. ``end``: the last
    day (default: the last day with events)."""
    day = pl.col("timestamp").dt.date()
    counts = (
        events.lazy()
        .filter(is_contact() & pl.col("channel").is_not_null())
        .group_by(pl.col("channel").alias("series"), day.cast(pl.Datetime("us")).alias("time"))
        .agg(pl.len().cast(pl.Float64).alias("volume"))
        .collect()
    )
    if counts.height == 0:
        return _empty()
    covered = events.select(day.unique()).to_series()
    return on_grid(counts, covered, end or covered.max())  # type: ignore[arg-type]


def intraday_series(
    dataset: Dataset, end: dt.date | None = None
) -> tuple[pl.DataFrame, float, str]:
    """Offered contacts per queue and interval on the opening-hours grid (:func:`on_grid`).

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
        return _empty(), interval_s, source
    covered = rows.select(pl.col("time").dt.date().unique()).to_series()
    return on_grid(rows, covered, end or covered.max()), interval_s, source  # type: ignore[arg-type]


def offset_columns(dataset: Dataset) -> tuple[str, ...]:
    """``table.column`` of every timestamp column read with UTC offsets (``Z``,
    ``+03:00``): the loader converted those to the dataset time zone."""
    return tuple(
        f"{name}.{column}"
        for name, report in sorted(dataset.report.tables.items())
        for column, label in sorted(report.date_formats.items())
        if label == OFFSET_LABEL
    )


def _until(dataset: Dataset, as_of: dt.date) -> Dataset:
    """``dataset`` with events and acd rows up to the end of ``as_of``."""
    stop = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0))
    acd = dataset.acd
    return replace(
        dataset,
        events=dataset.events.filter(pl.col("timestamp") < stop),
        acd=acd.filter(pl.col("interval_start") < stop) if acd is not None else None,
    )


# ---------------------------------------------------------------- one series


@dataclass(frozen=True)
class SeriesForecast:
    """One series: its backtest, the chosen model and the forecast with its interval."""

    name: str
    frequency: str  # "daily" or "intraday"
    model: str
    baseline: str  # the best baseline in the backtest
    beats_baseline: bool
    metrics: pl.DataFrame  # model, mase, smape, wape, coverage, folds
    history: pl.DataFrame  # time, volume (null: missing)
    forecast: pl.DataFrame  # time, mean, lower, upper, sd, holiday
    holiday_factor: float
    holidays_seen: int
    notes: tuple[Note, ...] = field(default_factory=tuple)

    def mase(self, model: str) -> float:
        return float(self.metrics.filter(pl.col("model") == model)["mase"][0])

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "frequency": self.frequency,
            "model": self.model,
            "baseline": self.baseline,
            "beats_baseline": self.beats_baseline,
            "holiday_factor": round(self.holiday_factor, 4),
            "holidays_seen": self.holidays_seen,
            "notes": [str(n) for n in self.notes],
            "metrics": [
                {
                    k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                    for k, v in r.items()
                }
                for r in self.metrics.to_dicts()
            ],
            "forecast": [{**r, "time": r["time"].isoformat()} for r in self.forecast.to_dicts()],
        }


def _day_notes(dates: list[dt.date], y: np.ndarray, day: int) -> list[Note]:
    """Missing days, and weekdays that are always zero (closed), of one series."""
    totals = y.reshape(-1, day).sum(axis=1)
    notes = []
    missing = int(np.isnan(totals).sum())
    if missing:
        notes.append(Note("missing_days", {"days": missing}))
    weekday = np.array([d.isoweekday() for d in dates[::day]])
    closed = [
        int(w)
        for w in range(1, 8)
        if (weekday == w).sum() >= 2 and np.nan_to_num(totals[weekday == w], nan=1.0).max() == 0
    ]
    if closed:
        notes.append(Note("closed", {"weekdays": tuple(closed)}))
    return notes


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
    """Backtest, choose and forecast one series on a regular grid of ``slots`` per day
    (``y``: NaN where missing)."""
    day = len(slots)
    week, h = 7 * day, horizon_days * day
    if len(y) <= week:
        raise ValueError(f"series {name!r} has {len(y)} points; a forecast needs over a week")
    models = candidates(frequency, day)
    dates = [t.date() for t in times]
    unique_days = dates[::day]
    factor, seen = holiday_factor(unique_days, y.reshape(-1, day).sum(axis=1), off)
    is_off = np.array([d in off for d in dates])
    scale = np.where(is_off, factor, 1.0)
    notes = _day_notes(dates, y, day)
    if seen < MIN_HOLIDAYS:
        notes.append(Note("few_holidays", {"seen": seen}))
    metrics = backtest(y, models, day, h, backtest_folds(horizon_days, folds), level, scale)
    model = _model(choose(metrics))
    if metrics.filter(pl.col("model") == BASELINE)["folds"][0] == 0:
        notes.append(Note("no_backtest"))
    adjusted = y / scale
    try:
        pred = _predict(model, adjusted, day, h, level)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        notes.append(Note("fallback", {"model": model.name}))
        model = _model(BASELINE)
        pred = _predict(model, adjusted, day, h, level)
    future = [
        dt.datetime.combine(unique_days[-1] + dt.timedelta(days=1 + i // day), slots[i % day])
        for i in range(h)
    ]
    future_off = np.array([t.date() in off for t in future])
    pred = _clip(pred, np.where(future_off, factor, 1.0))
    forecast = pl.DataFrame(
        {
            "time": future,
            "mean": pred.mean,
            "lower": pred.lower,
            "upper": pred.upper,
            "sd": (pred.upper - pred.lower) / (2 * _z(level)),
            "holiday": future_off,
        },
        schema_overrides={"time": pl.Datetime("us")},
    )
    base = best_baseline(metrics)
    mase_of = dict(zip(metrics["model"], metrics["mase"], strict=True))
    return SeriesForecast(
        name=name,
        frequency=frequency,
        model=model.name,
        baseline=base,
        beats_baseline=not model.baseline and bool(mase_of[model.name] < mase_of[base]),
        metrics=metrics,
        history=pl.DataFrame(
            {"time": times, "volume": pl.Series(y).fill_nan(None)},
            schema_overrides={"time": pl.Datetime("us")},
        ),
        forecast=forecast,
        holiday_factor=factor,
        holidays_seen=seen,
        notes=tuple(notes),
    )


# ---------------------------------------------------------------- every series


@dataclass(frozen=True)
class ForecastRun:
    """Every series of a dataset, plus what the breach forecast and the page need."""

    horizon_days: int
    level: float
    country: str
    daily: tuple[SeriesForecast, ...]
    intraday: tuple[SeriesForecast, ...]
    interval_s: float
    intraday_source: str  # "acd" or "events"
    as_of: dt.date | None = None  # the last day of history used (None: no data)
    timezone: str = "Europe/Moscow"
    offset_columns: tuple[str, ...] = ()  # timestamps converted from UTC offsets


class SeriesInput(NamedTuple):
    """One series on its grid: ``slots`` times of day, every day from the first to the last."""

    frequency: str
    name: str
    times: list[dt.datetime]
    y: np.ndarray
    slots: list[dt.time]


def series_inputs(frame: pl.DataFrame, frequency: str) -> list[SeriesInput]:
    """Split a ``series``/``time``/``volume`` frame into one input per series (null
    volumes become NaN)."""
    jobs = []
    for (name,), part in frame.partition_by("series", as_dict=True, maintain_order=True).items():
        times = part["time"].to_list()
        slots = sorted({t.time() for t in times}) if frequency == "intraday" else [dt.time(0)]
        y = part["volume"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        jobs.append(SeriesInput(frequency, str(name), times, y, slots))
    return jobs


def forecast_all(
    dataset: Dataset,
    horizon_days: int = 14,
    level: float = 0.8,
    folds: int = 3,
    country: str | None = None,
    as_of: dt.date | None = None,
) -> ForecastRun:
    """Forecast every daily and intra-day series of ``dataset`` (see the module docstring).

    ``as_of``: use the history up to that day (inclusive) and forecast the days after it
    (default: the data's last day). Series no longer than a week are left out.
    """
    if horizon_days < 1:
        raise ValueError("the horizon must be at least one day")
    country = country or dataset.settings.holiday_country
    if as_of is not None:
        dataset = _until(dataset, as_of)
    daily = daily_series(dataset.events, as_of)
    intra, interval_s, source = intraday_series(dataset, as_of)
    jobs = series_inputs(daily, "daily") + series_inputs(intra, "intraday")
    jobs = [j for j in jobs if len(j.y) > 7 * len(j.slots)]
    results: list[SeriesForecast] = []
    last = as_of
    if jobs:
        first = min(j.times[0] for j in jobs).date()
        last = max(j.times[-1] for j in jobs).date()
        off = holiday_dates(country, first, last + dt.timedelta(days=horizon_days))
        results = forecast_many(jobs, horizon_days, off, level, folds)
    return ForecastRun(
        horizon_days,
        level,
        country,
        tuple(r for r in results if r.frequency == "daily"),
        tuple(r for r in results if r.frequency == "intraday"),
        interval_s,
        source,
        as_of=last,
        timezone=dataset.settings.timezone,
        offset_columns=offset_columns(dataset),
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
    :func:`analytics.calibration.calibrate` on the report up to ``run.as_of``), or None
    when the intra-day series do not come from an ``acd`` report with agents."""
    if run.intraday_source != "acd" or not has_staffing(dataset.acd) or run.as_of is None:
        return None
    # The roster and the calibration see only the history the forecast was made from.
    acd = report_until(dataset.acd, run.as_of)  # type: ignore[arg-type]
    target, goal = dataset.settings.sla_target_s, dataset.settings.sla_goal
    if calibration is None:
        calibration = calibrate(acd, run.interval_s, target, goal)
    return run_breaches(run, acd, dataset.settings, calibration=calibration)


def run_breaches(
    run: ForecastRun,
    acd: pl.DataFrame,
    settings: Settings,
    plan: pl.DataFrame | None = None,
    calibration: Calibration | None = None,
) -> pl.DataFrame:
    """:func:`~analytics.sla.queue_breaches` of the run's intra-day forecasts against
    ``acd`` at the settings' answer target and goal (``plan`` and ``calibration`` as there)."""
    return queue_breaches(
        [(s.name, s.forecast) for s in run.intraday],
        acd,
        run.interval_s,
        settings.sla_target_s,
        settings.sla_goal,
        plan,
        calibration,
    )


def overview(series: tuple[SeriesForecast, ...] | list[SeriesForecast]) -> pl.DataFrame:
    """One row per series: the chosen model and its backtest scores (MASE, sMAPE,
    interval coverage) beside the best baseline's MASE, and the forecast's total volume
    over the horizon. Model and frequency are ids (the page names them)."""
    rows = []
    for s in series:
        chosen = s.metrics.filter(pl.col("model") == s.model).row(0, named=True)
        rows.append(
            {
                "series": s.name,
                "frequency": s.frequency,
                "model": s.model,
                "beats": s.beats_baseline,
                "mase": chosen["mase"],
                "baseline_mase": s.mase(s.baseline),
                "smape": chosen["smape"],
                "coverage": chosen["coverage"],
                "total": float(s.forecast["mean"].sum()),
            }
        )
    return pl.DataFrame(rows)
