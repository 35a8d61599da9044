"""Zones of growing tension: indicators per slice and period, control charts and a trend test.

Indicators (``x`` per period, ``n`` the volume behind it):

* from ``events``, per ISO week (Monday) and per slice (channel, scenario, region,
  segment): ``waits_over_promise`` (share of customer-facing events with ``wait_s`` above
  the channel's promised wait), ``repeat_contacts`` / ``transfers`` / ``bot_loops`` (shares
  of cases tagged repeat return / ping-pong / bot loop), ``cost_per_case`` (mean case cost;
  cases by the week they started, with the case's scenario, its customer's region and
  segment, its first contact channel) and ``csat`` (mean answer: a *fall* is the problem);
* from ``acd``, per queue, daily and weekly: ``abandonment`` = abandoned / offered,
  ``sl_miss`` = 1 - answered_in_target / offered (a contact not answered within the target,
  abandoned ones included), ``asa`` = sum(asa_s x answered) / sum(answered), seconds.

Each series is judged against its **baseline** (a date range, a setting; by default the
first quarter of the series' own history, at least 4 and at most 12 weeks). Periods with
fewer than ``MIN_CASES`` contacts are left out; a series is charted when its baseline holds
at least ``MIN_POINTS`` periods (4 weeks or 14 days) and one period follows it.

In-control model, from the baseline only:

* shares: centre p0 = sum(x n) / sum(n) (pooled); binomial sd of period t is
  sqrt(p0 (1 - p0) / n_t) (p0 held within [1/n, 1 - 1/n] at the baseline's mean volume n,
  so a zero baseline still has a spread); real days vary more than binomially, so the sd is
  widened by phi = max(1, sd of the baseline's binomial z-scores) (Laney's p' chart);
* means: centre = the n-weighted mean, sd = max(sd of the baseline values, 5 % of the
  centre).

Every period becomes u_t = direction x (x_t - centre) / sd_t (positive = worse). After the
baseline (phase II) two charts run on u:

* **EWMA**: z_t = lambda u_t + (1 - lambda) z_(t-1), z_0 = 0, lambda 0.2; alarm when
  z_t > L sqrt(lambda / (2 - lambda) (1 - (1 - lambda)^(2t))), L 2.962 (in-control average
  run length 500 with the asymptotic limit, Lucas and Saccucci 1990);
* **CUSUM**: S_t = max(0, S_(t-1) + u_t - k), S_0 = 0, k 0.5, alarm when S_t > h = 4
  (tuned to a shift of one sd: one-sided in-control run length about 336).

The **first alarm** is the first period of the last run of consecutive alarms (either
chart); the zone **started** the period after the CUSUM last stood at zero before it (the
CUSUM's change-point estimate). The **Mann-Kendall** test (Kendall's tau of the values
against time from the baseline's start, ``scipy.stats.kendalltau``) with Sen's slope
(``scipy.stats.theilslopes``) says whether the series trends.

A series is a **zone** when a chart is in alarm in the last ``RECENT_DAYS`` days and the
trend is significant (p < ``ALPHA``) in the bad direction. Its size, as a director reads
it: ``baseline`` and ``recent`` (n-weighted over the last ``RECENT_DAYS`` days),
``relative_change`` = (recent - baseline) / baseline, ``excess_per_month`` = the extra
abandoned calls, late answers or tagged cases a month at the recent volume, and
``money_at_stake`` a month where a unit cost is known: an extra abandoned call costs one
more handled call (cost per contact + the queue's per-minute rate x its baseline AHT; the
caller who never calls back is a loss this leaves out), an extra tagged case the tag's
extra cost per case (:func:`analytics.cost.tag_costs`), a rise in cost per case itself
times the cases. ``severity`` is the recent mean of u (the shift in in-control sds): a
statistical strength for rule thresholds, not a size to show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from analytics.cost import case_costs, tag_costs
from analytics.dataset import Dataset
from analytics.kpi import is_contact
from analytics.schema import Settings

LAMBDA = 0.2
L_SIGMA = 2.962
CUSUM_K = 0.5
CUSUM_H = 4.0
MIN_BASELINE_DAYS = 28
MAX_DEFAULT_BASELINE_DAYS = 84
MIN_POINTS = {"day": 14, "week": 4}  # baseline periods a chart needs
PERIOD_DAYS = {"day": 1, "week": 7}
RECENT_DAYS = 28
ALPHA = 0.01
MIN_CASES = 30  # a period-slice with fewer contacts or cases is too noisy to chart
MIN_ANSWERS = 10  # the same for CSAT answers
GAP_WEEKS = 16  # operational gaps: the weeks the trend test looks back
DAYS_PER_MONTH = 365.25 / 12
SLICES = ("channel", "scenario", "region", "segment")
# Indicator -> +1 when a rise is the problem, -1 when a fall is.
DIRECTION = {
    "waits_over_promise": 1,
    "repeat_contacts": 1,
    "transfers": 1,
    "bot_loops": 1,
    "cost_per_case": 1,
    "csat": -1,
    "abandonment": 1,
    "sl_miss": 1,
    "asa": 1,
}
SHARES = frozenset(
    ("waits_over_promise", "repeat_contacts", "transfers", "bot_loops", "abandonment", "sl_miss")
)
# Share indicator -> the cost tag whose extra cost per case prices one more tagged case.
TAG_OF = {"repeat_contacts": "repeat_return", "transfers": "ping_pong", "bot_loops": "bot_loop"}

LABELS = {
    "waits_over_promise": "waits above the promise",
    "repeat_contacts": "repeat contacts",
    "transfers": "transfers (ping-pong)",
    "bot_loops": "bot loops",
    "cost_per_case": "cost per case",
    "csat": "CSAT",
    "abandonment": "abandonment",
    "sl_miss": "calls not answered within the target",
    "asa": "average speed of answer",
}
# What one unit of ``excess_per_month`` is, in words.
EXCESS_UNITS = {
    "waits_over_promise": "waits above the promise",
    "repeat_contacts": "cases with a repeat return",
    "transfers": "cases with ping-pong",
    "bot_loops": "cases with a bot loop",
    "abandonment": "abandoned calls",
    "sl_miss": "calls not answered within the target",
}

Baseline = tuple[dt.date, dt.date]  # first and last day, inclusive


def parse_baseline(text: str) -> Baseline:
    """``START:END`` (ISO dates, END inclusive) as a baseline; at least 4 weeks long."""
    start, sep, end = text.partition(":")
    try:
        if not sep:
            raise ValueError
        span = (dt.date.fromisoformat(start.strip()), dt.date.fromisoformat(end.strip()))
    except ValueError:
        raise ValueError(
            f"baseline {text!r}: expected START:END as ISO dates, e.g. 1999-01-01:1999-01-31"
        ) from None
    return check_baseline(span)


def check_baseline(span: Baseline) -> Baseline:
    """The span itself, or ``ValueError`` when it is reversed or shorter than 4 weeks."""
    days = (span[1] - span[0]).days + 1
    if days < MIN_BASELINE_DAYS:
        raise ValueError(
            f"the baseline {span[0]}..{span[1]} spans {days} days; it needs at least "
            f"{MIN_BASELINE_DAYS} (4 weeks) to estimate the normal level and spread"
        )
    return span


def default_baseline(first: dt.date, last: dt.date) -> Baseline:
    """The first quarter of a history from ``first`` to ``last``, within 4 to 12 weeks."""
    days = min(max(((last - first).days + 1) // 4, MIN_BASELINE_DAYS), MAX_DEFAULT_BASELINE_DAYS)
    return first, first + dt.timedelta(days=days - 1)


# ---------------------------------------------------------------- control charts


def ewma(u: np.ndarray, lam: float = LAMBDA) -> np.ndarray:
    """z_t = lam u_t + (1 - lam) z_(t-1), z_0 = 0, along the first axis (columns of a 2-D
    array are separate series)."""
    u = np.asarray(u, dtype=float)
    z = np.empty_like(u)
    prev = np.zeros(u.shape[1:])
    for i in range(len(u)):
        prev = lam * u[i] + (1 - lam) * prev
        z[i] = prev
    return z


def ewma_limit(periods: int, lam: float = LAMBDA, width: float = L_SIGMA) -> np.ndarray:
    """The EWMA's limit in sds at t = 1..periods: L sqrt(lam / (2 - lam) (1 - (1 - lam)^2t))."""
    t = np.arange(1, periods + 1)
    return width * np.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * t)))


def cusum(u: np.ndarray, k: float = CUSUM_K) -> np.ndarray:
    """One-sided upper CUSUM: S_t = max(0, S_(t-1) + u_t - k), S_0 = 0, along the first axis."""
    u = np.asarray(u, dtype=float)
    s = np.empty_like(u)
    prev = np.zeros(u.shape[1:])
    for i in range(len(u)):
        prev = np.maximum(0.0, prev + u[i] - k)
        s[i] = prev
    return s


@dataclass(frozen=True)
class Chart:
    """EWMA and CUSUM of one series after its baseline (NaN on the baseline and before).

    ``centre`` is the in-control level, ``sd`` each period's in-control sd, ``u`` the
    standardised values (positive = worse), ``typical_sd`` the sd at the baseline's mean
    volume, on which the EWMA is drawn in the indicator's units (see :meth:`drawn`).
    """

    centre: float
    sd: np.ndarray
    typical_sd: float
    u: np.ndarray
    ewma: np.ndarray
    limit: np.ndarray
    cusum: np.ndarray
    alarms: np.ndarray  # bool per period: EWMA above its limit or CUSUM above h
    monitored_from: int

    def drawn(self, direction: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(EWMA, upper, lower) in the indicator's units: centre + direction z x typical sd.
        The mapping is monotone, so the drawn EWMA crosses the drawn limit exactly when
        the chart alarms."""
        s = self.typical_sd
        return (
            self.centre + direction * self.ewma * s,
            self.centre + self.limit * s,
            self.centre - self.limit * s,
        )


def binomial_sd(p0: float, n: np.ndarray, mean_n: float) -> np.ndarray:
    """sqrt(p (1 - p) / n) with p = p0 held within [1/mean_n, 1 - 1/mean_n]."""
    p = min(max(p0, 1 / mean_n), 1 - 1 / mean_n) if mean_n > 2 else 0.5
    return np.sqrt(p * (1 - p) / np.asarray(n, dtype=float))


def control_chart(
    x: np.ndarray, n: np.ndarray, in_baseline: np.ndarray, direction: int, share: bool
) -> Chart:
    """The in-control model of the module docstring fitted on ``in_baseline`` (a contiguous
    run of periods, at least two), EWMA and CUSUM run on the periods after it."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    base = np.flatnonzero(in_baseline)
    first, after = int(base[0]), int(base[-1]) + 1
    xb, nb = x[base], n[base]
    centre = float(np.sum(xb * nb) / np.sum(nb))
    mean_n = float(np.mean(nb))
    if share:
        sd = binomial_sd(centre, n, mean_n)
        z = (xb - centre) / sd[base]
        phi = max(1.0, float(np.std(z, ddof=1)))
        sd, typical = sd * phi, phi * float(binomial_sd(centre, np.array([mean_n]), mean_n)[0])
    else:
        spread = max(float(np.std(xb, ddof=1)), 0.05 * abs(centre), 1e-9)
        sd, typical = np.full(len(x), spread), spread
    u = direction * (x - centre) / sd
    z, s, lim = (np.full(len(x), np.nan) for _ in range(3))
    z[after:], s[after:], lim[after:] = (
        ewma(u[after:]),
        cusum(u[after:]),
        ewma_limit(len(x) - after),
    )
    alarms = np.zeros(len(x), dtype=bool)
    alarms[after:] = (z[after:] > lim[after:]) | (s[after:] > CUSUM_H)
    u[:first] = np.nan  # before the baseline: shown, never judged
    return Chart(centre, sd, typical, u, z, lim, s, alarms, after)


def alarm_run(chart: Chart) -> tuple[int, int] | None:
    """(started, first alarm) of the last run of consecutive alarms, or None: the run's
    first period, and the period after the CUSUM last stood at zero before it."""
    hits = np.flatnonzero(chart.alarms)
    if hits.size == 0:
        return None
    first = int(hits[-1])
    while first - 1 >= chart.monitored_from and chart.alarms[first - 1]:
        first -= 1
    calm = np.flatnonzero(chart.cusum[chart.monitored_from : first + 1] == 0)
    begin = chart.monitored_from + int(calm[-1]) + 1 if calm.size else chart.monitored_from
    return min(begin, first), first


def mann_kendall(values: np.ndarray) -> tuple[float, float, float]:
    """(tau, two-sided p-value, Sen's slope per period) of a series against time."""
    x = np.asarray(values, dtype=float)
    t = np.arange(len(x))
    if len(x) < 3 or np.ptp(x) == 0:
        return 0.0, 1.0, 0.0
    from scipy.stats import kendalltau, theilslopes  # here: slow to import

    tau, p = kendalltau(t, x)
    slope = theilslopes(x, t)[0]
    return float(tau), float(p), float(slope)


# ---------------------------------------------------------------- indicators

_COLUMNS = ("frequency", "slice", "value", "indicator", "period", "x", "n")
_TYPES = (pl.String, pl.String, pl.String, pl.String, pl.Datetime("us"), pl.Float64, pl.Int64)


def _typed(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.select(pl.col(c).cast(t) for c, t in zip(_COLUMNS, _TYPES, strict=True))


def service_indicators(acd: pl.DataFrame, every: str = "1d") -> pl.DataFrame:
    """Long frame (columns ``frequency``, ``slice`` = "queue", ``value``, ``indicator``,
    ``period``, ``x``, ``n``) of abandonment, service-level miss and ASA per queue and
    period (``every``: "1d" or "1w", weeks from Monday). Shares count the offered contacts
    as n, ASA the answered ones; an indicator whose columns the export lacks is left out,
    and so is a period with nothing offered. A missing queue is one queue, "all"."""
    names = set(acd.columns)
    period = pl.col("interval_start").dt.truncate(every).alias("period")
    queue = pl.col("queue").cast(pl.String).fill_null("all") if "queue" in names else pl.lit("all")
    sums = [pl.col("offered").sum(), pl.col("answered").sum()]
    parts: list[tuple[str, pl.Expr, str]] = []
    if "abandoned" in names:
        sums.append(pl.col("abandoned").sum())
        parts.append(("abandonment", pl.col("abandoned") / pl.col("offered"), "offered"))
    if "answered_in_target" in names:
        sums.append(pl.col("answered_in_target").sum())
        parts.append(("sl_miss", 1 - pl.col("answered_in_target") / pl.col("offered"), "offered"))
    if "asa_s" in names:
        # Weighted by answered contacts; intervals without an ASA do not count.
        known = pl.col("asa_s").is_not_null()
        sums += [
            (pl.col("asa_s") * pl.col("answered")).filter(known).sum().alias("wait"),
            pl.col("answered").filter(known).sum().alias("asa_n"),
        ]
        parts.append(("asa", pl.col("wait") / pl.col("asa_n"), "asa_n"))
    per = acd.lazy().group_by(queue.alias("value"), period).agg(sums).filter(pl.col("offered") > 0)
    frequency = "week" if every == "1w" else "day"
    frames = [
        _typed(
            per.filter(pl.col(count) > 0).select(
                pl.lit(frequency).alias("frequency"),
                pl.lit("queue").alias("slice"),
                "value",
                pl.lit(name).alias("indicator"),
                "period",
                x.alias("x"),
                pl.col(count).alias("n"),
            )
        )
        for name, x, count in parts
    ]
    if not frames:
        return pl.DataFrame(schema=dict(zip(_COLUMNS, _TYPES, strict=True)))
    return pl.concat(frames).collect().sort(list(_COLUMNS[:5]))


def weekly_indicators(dataset: Dataset, cases: pl.DataFrame | None = None) -> pl.DataFrame:
    """The events' weekly indicators per slice, in the long shape of
    :func:`service_indicators` (``n``: events, cases or answers behind each value)."""
    events = dataset.events
    customers = dataset.customers
    who = (
        customers.select("customer_id", "region", "segment")
        if customers is not None and {"region", "segment"} <= set(customers.columns)
        else None
    )
    week = pl.col("timestamp").dt.truncate("1w").alias("period")
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
        .with_columns(pl.col("start").dt.truncate("1w").alias("period"))
    )
    if who is not None:
        per_case = per_case.join(who.lazy(), on="customer_id", how="left")

    def measure(frame: pl.LazyFrame, s: str, indicator: str, x: pl.Expr) -> pl.LazyFrame:
        return _typed(
            frame.group_by(pl.col(s).cast(pl.String).alias("value"), "period")
            .agg(x.cast(pl.Float64).mean().alias("x"), pl.len().alias("n"))
            .with_columns(
                pl.lit("week").alias("frequency"),
                pl.lit(s).alias("slice"),
                pl.lit(indicator).alias("indicator"),
            )
        )

    frames = []
    for s in SLICES:
        if who is None and s in ("region", "segment"):
            continue
        frames.append(measure(waits, s, "waits_over_promise", pl.col("over")))
        for indicator, tag in TAG_OF.items():
            frames.append(measure(per_case, s, indicator, pl.col(tag)))
        frames.append(measure(per_case, s, "cost_per_case", pl.col("cost")))
    surveys = dataset.surveys
    if surveys is not None and "csat" in surveys.columns and who is not None:
        answers = (
            surveys.lazy()
            .filter(pl.col("csat").is_not_null())
            .join(who.lazy(), on="customer_id", how="left")
            .with_columns(pl.col("date").cast(pl.Datetime("us")).dt.truncate("1w").alias("period"))
        )
        frames += [measure(answers, s, "csat", pl.col("csat")) for s in ("region", "segment")]
    out = pl.concat(frames).collect()
    return out.filter(pl.col("value").is_not_null()).sort(list(_COLUMNS[:5]))


def _complete_weeks(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop the first and last weeks when they are partial (fewer than 7 days of data)."""
    weeks = frame["period"].unique().sort()
    return (
        frame.filter(pl.col("period").is_between(weeks[1], weeks[-2])) if weeks.len() > 3 else frame
    )


def indicators(dataset: Dataset, cases: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every series the zones judge: the events' weekly indicators (when there are events)
    and the service indicators of ``acd`` daily and weekly (when there is an ``acd``), with
    partial first and last weeks dropped and thin periods (see ``MIN_CASES``) left out."""
    frames = []
    if dataset.events.height:
        frames.append(_complete_weeks(weekly_indicators(dataset, cases)))
    acd = dataset.acd
    if acd is not None and acd.height:
        frames += [
            service_indicators(acd, "1d"),
            _complete_weeks(service_indicators(acd, "1w")),
        ]
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema=dict(zip(_COLUMNS, _TYPES, strict=True)))
    least = pl.when(pl.col("indicator") == "csat").then(MIN_ANSWERS).otherwise(MIN_CASES)
    return pl.concat(frames).filter(pl.col("n") >= least)


# ---------------------------------------------------------------- zones


def zones(
    dataset: Dataset, cases: pl.DataFrame | None = None, baseline: Baseline | None = None
) -> pl.DataFrame:
    """Every series with enough history, charted and tested; ``zone`` marks the growing
    problems (see the module docstring). ``baseline`` (first, last day) applies to every
    series; None takes each series' default.

    Columns: frequency, slice, value, indicator, periods, baseline_start, baseline_end,
    tau, p_value, sen_slope, baseline, recent, relative_change, severity, excess_per_month,
    money_at_stake, alarm, zone, started, first_alarm (dates), customers, revenue_exposed,
    and the chart (lists): week (period starts), x, ewma, upper, lower, cusum. Zones first,
    then the most money at stake, then the largest shift.
    """
    if baseline is not None:
        check_baseline(baseline)
    if cases is None and dataset.events.height:
        cases = case_costs(dataset)
    series = indicators(dataset, cases)
    if series.is_empty():
        return pl.DataFrame()
    last_day = series["period"].max().date()  # type: ignore[union-attr]
    exposure = _exposure(dataset, last_day)
    prices = _unit_costs(dataset, cases)
    rows = []
    keys = ["frequency", "slice", "value", "indicator"]
    for key, part in (
        series.sort([*keys, "period"]).partition_by(keys, as_dict=True, maintain_order=True).items()
    ):
        frequency, slice_, value, indicator = (str(k) for k in key)
        row = _judge(part, frequency, indicator, last_day, baseline)
        if row is None:
            continue
        people, revenue = exposure.get((slice_, value), (0, 0.0))
        rise = DIRECTION[indicator] * (row["recent"] - row["baseline"]) * row["volume_per_month"]
        excess = rise if indicator in SHARES else None
        unit = prices.get((indicator, value), prices.get((indicator, None)))
        money = rise if indicator == "cost_per_case" else None
        if excess is not None and unit is not None:
            money = excess * unit
        rows.append(
            {
                "frequency": frequency,
                "slice": slice_,
                "value": value,
                "indicator": indicator,
                **row,
                "excess_per_month": excess,
                "money_at_stake": money,
                "customers": people,
                "revenue_exposed": revenue,
            }
        )
    if not rows:
        return pl.DataFrame()
    order = ["zone", "money_at_stake", "severity"]
    return pl.DataFrame(rows, infer_schema_length=None).sort(
        order, descending=True, nulls_last=True
    )


def _judge(
    part: pl.DataFrame,
    frequency: str,
    indicator: str,
    last_day: dt.date,
    baseline: Baseline | None,
) -> dict[str, object] | None:
    """Chart and test one series (periods ascending); None when its history is too short."""
    days = PERIOD_DAYS[frequency]
    period = part["period"].dt.date()
    first_day, end_day = period[0], period[-1] + dt.timedelta(days=days - 1)
    lo, hi = baseline or default_baseline(first_day, end_day)
    ends = period + dt.timedelta(days=days - 1)
    in_base = ((period >= lo) & (ends <= hi)).to_numpy()
    if in_base.sum() < MIN_POINTS[frequency] or not (period > hi).any():
        return None
    x, n = part["x"].to_numpy(), part["n"].to_numpy()
    direction = DIRECTION[indicator]
    chart = control_chart(x, n, in_base, direction, indicator in SHARES)
    after = chart.monitored_from
    recent = (period >= last_day - dt.timedelta(days=RECENT_DAYS - 1)).to_numpy()
    recent[:after] = False
    if not recent.any():
        return None
    begin = int(np.flatnonzero(in_base)[0])
    tau, p, slope = mann_kendall(x[begin:])
    level = float(np.sum(x[recent] * n[recent]) / np.sum(n[recent]))
    shift = level - chart.centre
    shown = period.filter(pl.Series(recent))
    span_days = (shown[-1] - shown[0]).days + days
    run = alarm_run(chart)
    alarm = bool(chart.alarms[recent].any())
    line, upper, lower = chart.drawn(direction)
    return {
        "periods": part.height,
        "baseline_start": lo,
        "baseline_end": hi,
        "tau": tau,
        "p_value": p,
        "sen_slope": slope,
        "baseline": chart.centre,
        "recent": level,
        "relative_change": shift / chart.centre if chart.centre else None,
        "severity": float(np.mean(chart.u[recent])),
        "volume_per_month": float(np.sum(n[recent])) * DAYS_PER_MONTH / span_days,
        "alarm": alarm,
        "zone": alarm and p < ALPHA and direction * tau > 0,
        "started": period[run[0]] if run and alarm else None,
        # A period's alarm is known once the period is over: its last day.
        "first_alarm": period[run[1]] + dt.timedelta(days=days - 1) if run and alarm else None,
        "week": part["period"].to_list(),
        "x": x.tolist(),
        "ewma": _listed(line),
        "upper": _listed(upper),
        "lower": _listed(lower),
        "cusum": _listed(chart.cusum),
    }


def _listed(values: np.ndarray) -> list[float | None]:
    """Floats with None for NaN: JSON and charts read None as a gap."""
    return [None if np.isnan(v) else float(v) for v in values]


def _unit_costs(
    dataset: Dataset, cases: pl.DataFrame | None
) -> dict[tuple[str, str | None], float]:
    """The money of one unit of excess, per (indicator, slice value or None for any):
    an abandoned call per queue, a tagged case per tag (see the module docstring)."""
    prices: dict[tuple[str, str | None], float] = {}
    settings: Settings = dataset.settings
    acd = dataset.acd
    if acd is not None and acd.height and "abandoned" in acd.columns:
        names = set(acd.columns)
        queue = pl.col("queue").cast(pl.String).fill_null("all") if "queue" in names else "all"
        aht = pl.lit(0.0)
        if "aht_s" in names:  # the answered-weighted AHT over the intervals that have one
            known = pl.col("aht_s").is_not_null()
            answered = pl.col("answered").filter(known)
            aht = (pl.col("aht_s").filter(known) * answered).sum() / answered.sum()
        phone = settings.cost_per_minute.get("phone", 0.0)
        per = acd.group_by(pl.lit(queue) if isinstance(queue, str) else queue)
        for q, seconds in per.agg(aht.alias("aht")).iter_rows():
            rate = settings.cost_per_minute.get(str(q), phone)
            prices[("abandonment", str(q))] = settings.cost_per_contact + rate * (seconds or 0) / 60
    if cases is not None and cases.height:
        extra = dict(tag_costs(cases).select("tag", "extra_per_case").iter_rows())
        for indicator, tag in TAG_OF.items():
            if extra.get(tag) is not None:
                prices[(indicator, None)] = float(extra[tag])
    return prices


def _exposure(dataset: Dataset, last_day: dt.date) -> dict[tuple[str, str], tuple[int, float]]:
    """Per (slice, value): distinct customers with events in the last ``RECENT_DAYS`` days
    and their monthly revenue."""
    since = dt.datetime.combine(last_day, dt.time()) - dt.timedelta(days=RECENT_DAYS - 1)
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


# ---------------------------------------------------------------- in words


def level_text(indicator: str, value: float) -> str:
    """A level as people read it: shares in %, ASA in seconds, cost and CSAT as numbers."""
    if indicator in SHARES:
        return f"{value:.1%}"
    if indicator == "asa":
        return f"{value:,.0f} s"
    return f"{value:,.2f}"


def change_text(indicator: str, baseline: float, recent: float) -> str:
    """ "13.0% -> 27.0% (+108% against the baseline)"; a zero baseline has no ratio."""
    move = f"{level_text(indicator, baseline)} → {level_text(indicator, recent)}"
    if not baseline:
        return f"{move} (from none in the baseline)"
    ratio = f"{(recent - baseline) / abs(baseline):+.0%}"
    return f"{move} ({ratio} against the baseline)"


def severity_text(zone: dict[str, object], currency: str | None = None) -> str:
    """A zone's size in words a director reads: the change against the baseline, the extra
    volume a month and, given the currency, the money a month at stake."""
    indicator = str(zone["indicator"])
    baseline, recent = float(zone["baseline"]), float(zone["recent"])  # type: ignore[arg-type]
    words = [f"{LABELS[indicator]} {change_text(indicator, baseline, recent)}"]
    excess = zone.get("excess_per_month")
    if excess is not None and indicator in EXCESS_UNITS:
        words.append(f"about {excess:,.0f} more {EXCESS_UNITS[indicator]} a month")
    money = zone.get("money_at_stake")
    if money is not None and currency is not None:
        words.append(f"about {money:,.0f} {currency} a month at stake")
    return "; ".join(words)


def operational_gaps(dataset: Dataset, weeks: int = GAP_WEEKS) -> pl.DataFrame:
    """Process steps whose waiting or handling is growing: per activity, the weekly median
    ``wait_s`` and ``handle_s``, Mann-Kendall over the last ``weeks`` complete weeks; rows
    with p < ``ALPHA`` and a rising Sen slope, steepest relative growth first."""
    weekly = dataset.events.lazy().group_by(
        pl.col("activity").cast(pl.String), pl.col("timestamp").dt.truncate("1w").alias("period")
    )
    weekly = _complete_weeks(
        weekly.agg(
            pl.col("wait_s").median().alias("wait_s"),
            pl.col("handle_s").median().alias("handle_s"),
            pl.len().alias("n"),
        )
        .filter(pl.col("n") >= MIN_CASES)
        .sort("activity", "period")
        .collect()
    )
    rows = []
    for (activity,), part in weekly.partition_by("activity", as_dict=True).items():
        part = part.tail(weeks)
        for measure in ("wait_s", "handle_s"):
            x = part[measure].drop_nulls().to_numpy()
            if x.size < weeks // 2:
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
