"""Forecasting many queues: backtest and forecast 200 daily and 50 intra-day series.

Run: ``.venv/bin/python benchmarks/bench_forecast.py [--runs 3]``.
Series are synthetic contact volumes: a year of days (weekly pattern, trend, noise) and
eight weeks of half hours 08:00-21:00 (daily profile x weekday level, Poisson counts).
Each run is a fresh subprocess timing ``forecast_many`` (3-fold rolling-origin backtest of
every model, then the chosen model's 14-day forecast).
"""

from __future__ import annotations

import harness  # benchmarks/harness.py: the script folder is on sys.path

CODE = """
import datetime as dt, json, resource, sys, time
import numpy as np
from analytics.forecast import SeriesInput, forecast_many, holiday_dates

rng = np.random.default_rng(1)
start = dt.datetime(2025, 1, 1)
jobs = []
for i in range(200):
    n = 365
    week = rng.uniform(0.5, 1.3, 7)
    level = rng.uniform(20, 2000)
    y = level * week[np.arange(n) % 7] * (1 + 0.0005 * np.arange(n))
    y = np.maximum(y + rng.normal(0, 0.08 * level, n), 0)
    times = [start + dt.timedelta(days=d) for d in range(n)]
    jobs.append(SeriesInput("daily", f"d{i}", times, y, [dt.time(0)]))
slots = [dt.time(8 + k // 2, 30 * (k % 2)) for k in range(26)]
profile = np.sin(np.linspace(0.2, np.pi - 0.2, 26))
for i in range(50):
    days = 56
    level = rng.uniform(5, 60)
    weekday = rng.uniform(0.4, 1.2, 7)
    lam = np.concatenate([level * weekday[d % 7] * profile for d in range(days)])
    times = [dt.datetime.combine(start.date() + dt.timedelta(days=d), s)
             for d in range(days) for s in slots]
    jobs.append(SeriesInput("intraday", f"q{i}", times, rng.poisson(lam).astype(float), slots))
off = holiday_dates("RU", dt.date(2025, 1, 1), dt.date(2026, 1, 31))
t = time.perf_counter()
daily = forecast_many(jobs[:200], 14, off)
daily_s = time.perf_counter() - t
t = time.perf_counter()
intra = forecast_many(jobs[200:], 14, off)
intra_s = time.perf_counter() - t
beats = sum(r.beats_baseline for r in daily + intra)
print(json.dumps({"daily_s": daily_s, "intraday_s": intra_s, "beats": beats,
                  "points": sum(len(j.y) for j in jobs),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def report(med: dict[str, float]) -> str:
    return (
        f"200 daily {med['daily_s']:.1f} s, 50 intra-day {med['intraday_s']:.1f} s, total "
        f"{med['daily_s'] + med['intraday_s']:.1f} s; {med['beats']:.0f}/250 beat the "
        f"baseline; peak RSS {med['peak_mb']:.0f} MB; {med['points']:.0f} points"
    )


if __name__ == "__main__":
    harness.main(CODE, report)
