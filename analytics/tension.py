"""Zones of growing tension: weekly indicators per slice, a trend test and a control chart.

Indicators, per ISO week (Monday) and per slice (channel, scenario, region, segment):

* ``waits_over_promise``: share of customer-facing events with ``wait_s`` above the
  channel's promised wait;
* ``repeat_contacts``: share of cases tagged repeat return; ``transfers``: share tagged
  ping-pong; ``bot_loops``: share tagged bot loop; ``cost_per_case``: mean case cost
  (cases by the week they started; the case's scenario, its customer's region and segment,
  its first contact channel);
* ``csat``: mean CSAT of the week's answers (a *fall* is the problem).

Detection, on each weekly series with at least ``MIN_WEEKS`` weeks:

* **EWMA control chart** (lambda 0.2, L = 3): z[t] = lambda x[t] + (1 - lambda) z[t-1]
  from the in-control mean mu and sd sigma of the first ``BASELINE_WEEKS`` weeks; limits
  mu +/- L sigma sqrt(lambda / (2 - lambda) (1 - (1 - lambda)^(2t))). An alarm is a point
  beyond the limit on the bad side; the zone *started* at the last week before the first
  alarm where the EWMA was still at or within the centre line's side (the run that led to
  the alarm).
* **Mann-Kendall trend test** via Kendall's tau between week number and value
  (``scipy.stats.kendalltau``), with Sen's slope (``scipy.stats.theilslopes``) as the size.

A slice-indicator is a zone when the EWMA is in alarm in any of the last ``RECENT_WEEKS``
weeks and the trend is significant (p < ``ALPHA``) in the bad direction. Its severity is
the shift of the last ``RECENT_WEEKS`` weeks from the baseline mean in baseline sds; zones
rank by severity x customers affected (distinct customers of the slice in those weeks) x
revenue exposed (their monthly revenue).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.stats import kendalltau, theilslopes

from analytics.cost import case_costs
from analytics.dataset import Dataset
from analytics.kpi import is_contact

LAMBDA = 0.2
L_SIGMA = 3.0
BASELINE_WEEKS = 12
RECENT_WEEKS = 4
MIN_WEEKS = 16
ALPHA = 0.01
MIN_CASES = 30  # a week-slice with fewer cases is too noisy to chart
SLICES = ("channel", "scenario", "region", "segment")
# Indicator -> +1 when a rise is the problem, -1 when a fall is.
DIRECTION = {
    "waits_over_promise": 1,
    "repeat_contacts": 1,
    "transfers": 1,
    "bot_loops": 1,
    "cost_per_case": 1,
    "csat": -1,
}


LABELS = {
    "waits_over_promise": "waits above the promise",
    "repeat_contacts": "repeat contacts",
    "transfers": "transfers (ping-pong)",
    "bot_loops": "bot loops",
    "cost_per_case": "cost per case",
    "csat": "CSAT",
}


@dataclass(frozen=True)
class Chart:
    """An EWMA chart of one weekly series."""

    ewma: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    centre: float
    alarms: np.ndarray  # bool per week, on the bad side only


def ewma_chart(
    values: np.ndarray, direction: int = 1, baseline: int = BASELINE_WEEKS, floor: float = 0.0
) -> Chart:
    """EWMA chart with time-varying limits (see the module docstring). ``floor`` is the
    least in-control sd to assume (a near-constant baseline would make any wobble an alarm)."""
    x = np.asarray(values, dtype=float)
    ref = x[: min(baseline, len(x))]
    mu = float(np.mean(ref))
    sigma = float(np.std(ref, ddof=1)) if ref.size > 1 else 0.0
    sigma = max(sigma, floor, 1e-9)
    z = np.empty_like(x)
    prev = mu
    for i, v in enumerate(x):
        prev = LAMBDA * v + (1 - LAMBDA) * prev
        z[i] = prev
    t = np.arange(1, len(x) + 1)
    width = L_SIGMA * sigma * np.sqrt(LAMBDA / (2 - LAMBDA) * (1 - (1 - LAMBDA) ** (2 * t)))
    upper, lower = mu + width, mu - width
    alarms = z > upper if direction > 0 else z < lower
    return Chart(z, upper, lower, mu, alarms)


def sd_floor(indicator: str, baseline: np.ndarray, n: np.ndarray) -> float:
    """The least weekly sd to assume in control: binomial sqrt(p (1 - p) / n) for shares
    (p at least one case in the week's mean count), 5 % of the mean for cost and CSAT."""
    mean_n = float(np.mean(n)) if n.size else 1.0
    mu = float(np.mean(baseline)) if baseline.size else 0.0
    if indicator in ("cost_per_case", "csat"):
        return 0.05 * abs(mu)
    p = min(max(mu, 1 / max(mean_n, 1.0)), 0.5)
    return float(np.sqrt(p * (1 - p) / max(mean_n, 1.0)))


def mann_kendall(values: np.ndarray) -> tuple[float, float, float]:
    """(tau, two-sided p-value, Sen's slope per week) of a series against time."""
    x = np.asarray(values, dtype=float)
    t = np.arange(len(x))
    if len(x) < 3 or np.ptp(x) == 0:
        return 0.0, 1.0, 0.0
    tau, p = kendalltau(t, x)
    slope = theilslopes(x, t)[0]
    return float(tau), float(p), float(slope)


def started(chart: Chart, direction: int) -> int | None:
    """Index of the week the drift that led to the first alarm began, or None."""
    hits = np.flatnonzero(chart.alarms)
    if hits.size == 0:
        return None
    first = int(hits[0])
    side = (chart.ewma - chart.centre) * direction
    calm = np.flatnonzero(side[:first] <= 0)
    return int(calm[-1] + 1) if calm.size else 0


def weekly_indicators(dataset: Dataset, cases: pl.DataFrame | None = None) -> pl.DataFrame:
    """Long frame: ``slice``, ``value`` (the slice's value), ``indicator``, ``week``, ``x``,
    ``n`` (cases, events or answers behind it)."""
    events = dataset.events
    customers = dataset.customers
    who = (
        customers.select("customer_id", "region", "segment")
        if customers is not None and {"region", "segment"} <= set(customers.columns)
        else None
    )
    week = pl.col("timestamp").dt.truncate("1w").alias("week")
    promised = dataset.settings.promised_wait_s
    waits = events.lazy().filter(is_contact() & pl.col("wait_s").is_not_null())
    waits = waits.with_columns(
        (pl.col("wait_s") > pl.col("channel").replace_strict(promised, default=None))
        .fill_null(False)
        .alias("over"),
        week,
    )
    if who is not None:
        waits = waits.join(who.lazy(), on="customer_id", how="left")
    if cases is None:
        cases = case_costs(dataset)
    first_channel = (
        events.lazy()
        .filter(is_contact())
        .sort("timestamp")
        .group_by("case_id")
        .agg(pl.col("channel").first())
    )
    per_case = (
        cases.lazy()
        .join(first_channel, on="case_id", how="left")
        .with_columns(pl.col("start").dt.truncate("1w").alias("week"))
    )
    if who is not None:
        per_case = per_case.join(who.lazy(), on="customer_id", how="left")
    frames = []
    for s in SLICES:
        if who is None and s in ("region", "segment"):
            continue
        frames.append(
            waits.group_by(pl.col(s).cast(pl.String).alias("value"), "week")
            .agg(pl.col("over").mean().alias("x"), pl.len().alias("n"))
            .with_columns(pl.lit(s).alias("slice"), pl.lit("waits_over_promise").alias("indicator"))
        )
        for indicator, column in (
            ("repeat_contacts", "repeat_return"),
            ("transfers", "ping_pong"),
            ("bot_loops", "bot_loop"),
        ):
            frames.append(
                per_case.group_by(pl.col(s).cast(pl.String).alias("value"), "week")
                .agg(pl.col(column).mean().alias("x"), pl.len().alias("n"))
                .with_columns(pl.lit(s).alias("slice"), pl.lit(indicator).alias("indicator"))
            )
        frames.append(
            per_case.group_by(pl.col(s).cast(pl.String).alias("value"), "week")
            .agg(pl.col("cost").mean().alias("x"), pl.len().alias("n"))
            .with_columns(pl.lit(s).alias("slice"), pl.lit("cost_per_case").alias("indicator"))
        )
    surveys = dataset.surveys
    if surveys is not None and "csat" in surveys.columns and who is not None:
        answers = (
            surveys.lazy()
            .filter(pl.col("csat").is_not_null())
            .join(who.lazy(), on="customer_id", how="left")
        )
        for s in ("region", "segment"):
            frames.append(
                answers.group_by(
                    pl.col(s).cast(pl.String).alias("value"),
                    pl.col("date").cast(pl.Datetime("us")).dt.truncate("1w").alias("week"),
                )
                .agg(pl.col("csat").cast(pl.Float64).mean().alias("x"), pl.len().alias("n"))
                .with_columns(pl.lit(s).alias("slice"), pl.lit("csat").alias("indicator"))
            )
    cols = ["slice", "value", "indicator", "week", "x", "n"]
    out = pl.concat(
        [f.select(pl.col(c).cast(t) for c, t in zip(cols, _TYPES, strict=True)) for f in frames]
    ).collect()
    return out.filter(pl.col("value").is_not_null()).sort(cols[:4])


_TYPES = (pl.String, pl.String, pl.String, pl.Datetime("us"), pl.Float64, pl.Int64)


def _complete_weeks(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop the first and last weeks when they are partial (fewer than 7 days of data)."""
    weeks = frame["week"].unique().sort()
    return (
        frame.filter(pl.col("week").is_between(weeks[1], weeks[-2])) if weeks.len() > 3 else frame
    )


def zones(dataset: Dataset, cases: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every slice-indicator tested; ``zone`` marks the growing problems (see the module
    docstring), ranked by ``priority`` = severity x customers x revenue exposed.

    Columns: slice, value, indicator, weeks, tau, p_value, sen_slope, baseline, recent,
    severity, alarm, started (date), customers, revenue_exposed, priority, zone, and the
    chart data (week, x, ewma, upper, lower lists).
    """
    weekly = _complete_weeks(weekly_indicators(dataset, cases))
    exposure = _exposure(dataset, weekly["week"].max())
    rows = []
    for (slice_, value, indicator), part in weekly.partition_by(
        ["slice", "value", "indicator"], as_dict=True, maintain_order=True
    ).items():
        part = part.filter(pl.col("n") >= (MIN_CASES if indicator != "csat" else 10))
        if part.height < MIN_WEEKS:
            continue
        x = part["x"].to_numpy()
        direction = DIRECTION[str(indicator)]
        floor = sd_floor(str(indicator), x[:BASELINE_WEEKS], part["n"].to_numpy()[:BASELINE_WEEKS])
        chart = ewma_chart(x, direction, floor=floor)
        tau, p, slope = mann_kendall(x)
        base_sd = max(float(np.std(x[:BASELINE_WEEKS], ddof=1)), floor, 1e-9)
        recent = float(np.mean(x[-RECENT_WEEKS:]))
        severity = direction * (recent - chart.centre) / base_sd
        alarm = bool(chart.alarms[-RECENT_WEEKS:].any())
        growing = p < ALPHA and direction * tau > 0
        begin = started(chart, direction)
        people, revenue = exposure.get((str(slice_), str(value)), (0, 0.0))
        rows.append(
            {
                "slice": slice_,
                "value": value,
                "indicator": indicator,
                "weeks": part.height,
                "tau": tau,
                "p_value": p,
                "sen_slope": slope,
                "baseline": chart.centre,
                "recent": recent,
                "severity": severity,
                "alarm": alarm,
                "started": part["week"][begin].date() if begin is not None else None,
                "customers": people,
                "revenue_exposed": revenue,
                "zone": alarm and growing,
                "week": part["week"].to_list(),
                "x": x.tolist(),
                "ewma": chart.ewma.tolist(),
                "upper": chart.upper.tolist(),
                "lower": chart.lower.tolist(),
            }
        )
    if not rows:
        return pl.DataFrame()
    table = pl.DataFrame(rows)
    # severity x customers x revenue per customer = severity x revenue exposed.
    return table.with_columns(
        (pl.col("severity").clip(lower_bound=0) * pl.col("revenue_exposed")).alias("priority"),
        pl.col("started").cast(pl.Date),
    ).sort(["zone", "priority"], descending=[True, True])


def _exposure(dataset: Dataset, last_week: dt.datetime) -> dict[tuple[str, str], tuple[int, float]]:
    """Per (slice, value): distinct customers with events in the last ``RECENT_WEEKS``
    weeks and their monthly revenue."""
    since = last_week - dt.timedelta(weeks=RECENT_WEEKS - 1)
    recent = dataset.events.lazy().filter(pl.col("timestamp") >= since)
    customers = dataset.customers
    if customers is not None:
        recent = recent.join(
            customers.lazy().select(
                "customer_id",
                *[c for c in ("region", "segment", "monthly_revenue") if c in customers.columns],
            ),
            on="customer_id",
            how="left",
        )
    names = recent.collect_schema().names()
    revenue = pl.col("monthly_revenue") if "monthly_revenue" in names else pl.lit(0.0)
    out: dict[tuple[str, str], tuple[int, float]] = {}
    for s in SLICES:
        if s not in names:
            continue
        per = (
            recent.select(
                pl.col(s).cast(pl.String).alias("value"), "customer_id", revenue.alias("rev")
            )
            .unique(["value", "customer_id"])
            .group_by("value")
            .agg(pl.len().alias("n"), pl.col("rev").sum())
            .collect()
        )
        for value, n, rev in per.iter_rows():
            out[(s, str(value))] = (int(n), float(rev or 0.0))
    return out


def operational_gaps(dataset: Dataset, weeks: int = MIN_WEEKS) -> pl.DataFrame:
    """Process steps whose waiting or handling is growing: per activity, the weekly median
    ``wait_s`` and ``handle_s``, Mann-Kendall over the last ``weeks`` complete weeks; rows
    with p < ``ALPHA`` and a rising Sen slope, steepest relative growth first."""
    weekly = _complete_weeks(
        dataset.events.lazy()
        .group_by(
            pl.col("activity").cast(pl.String), pl.col("timestamp").dt.truncate("1w").alias("week")
        )
        .agg(
            pl.col("wait_s").median().alias("wait_s"),
            pl.col("handle_s").median().alias("handle_s"),
            pl.len().alias("n"),
        )
        .filter(pl.col("n") >= MIN_CASES)
        .sort("activity", "week")
        .collect()
    )
    rows = []
    for (activity,), part in weekly.partition_by("activity", as_dict=True).items():
        part = part.tail(weeks)
        for measure in ("wait_s", "handle_s"):
            x = part[measure].drop_nulls().to_numpy()
            if x.size < MIN_WEEKS // 2:
                continue
            tau, p, slope = mann_kendall(x)
            level = float(np.median(x[: max(1, x.size // 2)])) or 1e-9
            if p < ALPHA and slope > 0:
                rows.append(
                    {
                        "activity": activity,
                        "measure": measure,
                        "tau": tau,
                        "p_value": p,
                        "sen_slope_per_week": slope,
                        "first_half_median": level,
                        "last_week": float(x[-1]),
                        "growth_per_week": slope / level,
                    }
                )
    if not rows:
        return pl.DataFrame(
            schema={"activity": pl.String, "measure": pl.String, "growth_per_week": pl.Float64}
        )
    return pl.DataFrame(rows).sort("growth_per_week", descending=True)
