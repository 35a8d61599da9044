"""Forecast accuracy and cost on a holdout: the chosen model against the simple baselines.

Run: ``.venv/bin/python benchmarks/bench_forecast.py [--runs 1]``.

Series are generated to look like contact-centre exports (what we could check on real
ones is in ``benchmarks/RESULTS.md``): a weekday pattern, a level that drifts (a random
walk of 1 % a day plus two level shifts), day-to-day noise that persists (AR(1), 0.5,
8 %), a 15 % peak on the first three days of each month, Poisson counts, and five days
absent from the export. Daily: a year of about 1 500 calls a day; intra-day: 16 weeks of
34 half hours (07:00-24:00) with a two-peak profile. Each series is forecast 28 days
ahead from the history before its last 28 days, as ``forecast_series`` does in use
(weekly-origin backtest, choice, forecast), and every candidate is also scored on the
same 28 days with the same :func:`analytics.forecast.mase`. ``margin_0.00`` and
``margin_0.05`` are what the choice would have scored with a selection margin of 0 or 5 %
instead of ``MARGIN`` (10 %), from the same backtest.
"""

from __future__ import annotations

import harness  # benchmarks/harness.py: the script folder is on sys.path

CODE = """
import datetime as dt, json, time
from benchmarks.harness import peak_mb
import numpy as np
from analytics import forecast as F

rng = np.random.default_rng(15)
START = dt.date(2023, 1, 1)
H = 28


def day_process(n, weekday):
    level = np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    shifts = np.zeros(n)
    for s in rng.choice(n, 2, replace=False):
        shifts[s:] += rng.normal(0, 0.1)
    noise, e = np.zeros(n), rng.normal(0, 0.08, n)
    for t in range(1, n):
        noise[t] = 0.5 * noise[t - 1] + e[t]
    dates = [START + dt.timedelta(days=i) for i in range(n)]
    month = 1 + 0.15 * np.array([d.day <= 3 for d in dates])
    wd = np.array([d.isoweekday() for d in dates])
    return weekday[wd - 1] * level * np.exp(shifts + noise) * month


def holdout(y, slots):
    day = len(slots)
    h = H * day
    hist, actual = y[:-h], y[-h:]
    times = [dt.datetime.combine(START + dt.timedelta(days=i // day), slots[i % day])
             for i in range(len(hist))]
    frequency = "daily" if day == 1 else "intraday"
    r = F.forecast_series("s", times, hist, frequency=frequency, slots=slots,
                          horizon_days=H, off=set())
    out = {"chosen": F.mase(actual, r.forecast["mean"].to_numpy(), hist, 7 * day)}
    for m in F.candidates(frequency, day):
        p = m.predict(hist, day, h, 0.8)
        out[m.name] = F.mase(actual, np.maximum(p.mean, 0), hist, 7 * day)
    # The same backtest, other selection margins: what the 10 % margin buys.
    for margin in (0.0, 0.05):
        F.MARGIN, kept = margin, F.MARGIN
        out[f"margin_{margin:.2f}"] = out[F.choose(r.metrics)]
        F.MARGIN = kept
    return out, r.model


shapes = {
    "mon_fri": np.array([1.2, 1.1, 1.0, 1.0, 0.9, 0.35, 0.2]),
    "sun_thu": np.array([1.3, 1.0, 1.0, 1.0, 1.1, 0.5, 1.2]),
}
result = {}
for kind, count in (("daily", 24), ("intraday", 8)):
    scores, picks = [], []
    t = time.perf_counter()
    for i in range(count):
        weekday = shapes["mon_fri" if i % 2 else "sun_thu"]
        if kind == "daily":
            y = rng.poisson(1500 * day_process(364 + H, weekday)).astype(float)
            y[rng.choice(364, 5, replace=False)] = np.nan
            out, model = holdout(y, [dt.time(0)])
        else:
            slots = [(dt.datetime(2000, 1, 1, 7) + dt.timedelta(minutes=30 * k)).time()
                     for k in range(34)]
            x = np.linspace(0, 1, 34)
            profile = np.exp(-((x - 0.3) ** 2) / 0.03) + 0.8 * np.exp(-((x - 0.7) ** 2) / 0.05)
            profile = (profile + 0.05) / (profile + 0.05).sum()
            daily = 3000 * day_process(7 * 16 + H, weekday)
            y = rng.poisson((daily[:, None] * profile[None, :]).ravel()).astype(float)
            y[rng.choice(7 * 16, 3, replace=False)[:, None] * 34 + np.arange(34)] = np.nan
            out, model = holdout(y, slots)
        scores.append(out)
        picks.append(model)
    result[f"{kind}_s"] = time.perf_counter() - t
    for name in scores[0]:
        result[f"{kind}_{name}"] = float(np.mean([s[name] for s in scores]))
    result[f"{kind}_wins"] = sum(s["chosen"] <= s["weekly_average"] + 1e-12 for s in scores)
    result[f"{kind}_n"] = count
    for name in set(picks):
        result[f"{kind}_picked_{name}"] = picks.count(name)
result["peak_mb"] = peak_mb()
print(json.dumps(result))
"""


def report(med: dict[str, float]) -> str:
    lines = []
    for kind in ("daily", "intraday"):
        models = sorted(
            k.removeprefix(f"{kind}_")
            for k in med
            if k.startswith(f"{kind}_")
            and not k.endswith(("_s", "_n", "_wins"))
            and "_picked_" not in k
        )
        picked = ", ".join(
            f"{k.split('_picked_')[1]} {med[k]:.0f}" for k in sorted(med) if f"{kind}_picked_" in k
        )
        scores = ", ".join(f"{m} {med[f'{kind}_{m}']:.3f}" for m in models)
        lines.append(
            f"{kind}: {med[f'{kind}_n']:.0f} series, holdout MASE (mean) {scores}; chosen <= "
            f"4-week average on {med[f'{kind}_wins']:.0f}; picked: {picked}; "
            f"{med[f'{kind}_s']:.1f} s"
        )
    lines.append(f"peak RSS {med['peak_mb']:.0f} MB")
    return "\n".join(lines)


if __name__ == "__main__":
    harness.main(CODE, report)
