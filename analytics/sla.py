"""Service level: what the queue delivered, what Erlang C predicts, and where it will break.

Conventions (stated on the page and in the README):

* realized service level = answered within the target / offered. Abandoned contacts count
  as misses, including those abandoned before the target (the strict convention);
* abandonment rate = abandoned / offered; ASA = the interval's ``asa_s`` (the average wait
  of answered contacts), answered-weighted when summed up;
* occupancy = answered x AHT / (agents x interval length), capped at 1.

Erlang C (M/M/N, no abandonment) with traffic A = calls x AHT / interval length erlangs and
N agents:

* Erlang B by the recursion B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1)), which stays in
  [0, 1] and never forms A^N or N!, so it is stable for hundreds of agents;
* probability of waiting C = N B / (N - A (1 - B));
* service level SL(t) = 1 - C exp(-(N - A) t / AHT); ASA = C AHT / (N - A);
* occupancy = A / N. With N <= A the queue is overloaded: it grows without bound, which
  is reported as such (C = 1, SL = 0, ASA infinite), never as NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.stats import norm

WEEK_PLAN_WEEKS = 4


@dataclass(frozen=True)
class ErlangC:
    """Erlang C results for one interval; ``asa_s`` is ``inf`` when ``overloaded``."""

    traffic_erlangs: float
    agents: float
    probability_wait: float
    service_level: float
    asa_s: float
    occupancy: float
    overloaded: bool

    def to_dict(self) -> dict[str, float | bool | None]:
        return {
            "traffic_erlangs": self.traffic_erlangs,
            "agents": self.agents,
            "probability_wait": self.probability_wait,
            "service_level": self.service_level,
            "asa_s": None if math.isinf(self.asa_s) else self.asa_s,
            "occupancy": self.occupancy,
            "overloaded": self.overloaded,
        }


def traffic(calls: np.ndarray | float, aht_s: np.ndarray | float, interval_s: float) -> np.ndarray:
    """Offered traffic in erlangs: A = calls x AHT / interval length."""
    return np.asarray(calls, dtype=float) * np.asarray(aht_s, dtype=float) / interval_s


def erlang_b(a: np.ndarray, agents: np.ndarray) -> np.ndarray:
    """Erlang B blocking probability for traffic ``a`` and whole ``agents``, element-wise.

    The recursion B(n) = A B(n-1) / (n + A B(n-1)) runs up to the largest N once for all
    elements; each element keeps the value at its own N.
    """
    a = np.asarray(a, dtype=float)
    n_agents = np.floor(np.asarray(agents, dtype=float)).astype(np.int64)
    a, n_agents = np.broadcast_arrays(a, n_agents)
    b = np.ones(a.shape)
    out = np.ones(a.shape)
    for n in range(1, int(n_agents.max(initial=0)) + 1):
        b = a * b / (n + a * b)
        out = np.where(n_agents == n, b, out)
    return out


def erlang_c_arrays(
    a: np.ndarray, agents: np.ndarray, aht_s: np.ndarray | float, target_s: float
) -> dict[str, np.ndarray]:
    """Vectorised Erlang C: probability of waiting, service level, ASA, occupancy.

    Agents are whole people (floored); see the module docstring for the formulas.
    """
    a = np.asarray(a, dtype=float)
    n = np.floor(np.asarray(agents, dtype=float))
    a, n = np.broadcast_arrays(a, n)
    aht = np.broadcast_to(np.asarray(aht_s, dtype=float), a.shape)
    overloaded = n <= a
    b = erlang_b(a, n)
    margin = np.where(overloaded, 1.0, n - a)
    c = np.where(overloaded, 1.0, n * b / np.where(overloaded, 1.0, n - a * (1 - b)))
    c = np.where(a <= 0, 0.0, c)
    c = np.clip(c, 0.0, 1.0)
    sl = np.where(overloaded, 0.0, 1 - c * np.exp(-margin * target_s / np.maximum(aht, 1e-9)))
    sl = np.where(a <= 0, 1.0, sl)
    asa = np.where(overloaded, np.inf, c * aht / margin)
    occupancy = np.where(n > 0, np.minimum(a / np.maximum(n, 1), 1.0), 1.0)
    return {
        "probability_wait": c,
        "service_level": sl,
        "asa_s": asa,
        "occupancy": occupancy,
        "overloaded": overloaded & (a > 0),
    }


def erlang_c(
    calls: float, interval_s: float, aht_s: float, agents: float, target_s: float
) -> ErlangC:
    """Erlang C for one interval (see the module docstring for the formulas).

    >>> r = erlang_c(calls=360, interval_s=1800, aht_s=240, agents=55, target_s=15)
    >>> round(r.traffic_erlangs, 1), round(r.probability_wait, 4)
    (48.0, 0.2387)
    """
    if interval_s <= 0 or aht_s <= 0 or calls < 0 or agents < 0 or target_s < 0:
        raise ValueError("calls, agents and target must be >= 0; interval and AHT > 0")
    a = float(traffic(calls, aht_s, interval_s))
    r = erlang_c_arrays(np.array([a]), np.array([agents]), aht_s, target_s)
    return ErlangC(
        traffic_erlangs=a,
        agents=float(math.floor(agents)),
        probability_wait=float(r["probability_wait"][0]),
        service_level=float(r["service_level"][0]),
        asa_s=float(r["asa_s"][0]),
        occupancy=float(r["occupancy"][0]),
        overloaded=bool(r["overloaded"][0]),
    )


def agents_needed(
    a: np.ndarray, aht_s: np.ndarray | float, target_s: float, goal: float
) -> np.ndarray:
    """The smallest whole N with Erlang C service level >= ``goal``, element-wise.

    Service level rises with N, so N counts up from 1 until every element meets the goal;
    zero traffic needs zero agents.
    """
    a = np.asarray(a, dtype=float)
    aht = np.broadcast_to(np.asarray(aht_s, dtype=float), a.shape)
    need = np.where(a <= 0, 0, -1).astype(np.int64)
    b = np.ones(a.shape)
    n = 0
    while (need < 0).any():
        n += 1
        b = a * b / (n + a * b)
        stable = n > a
        c = np.where(stable, n * b / np.where(stable, n - a * (1 - b), 1.0), 1.0)
        sl = np.where(stable, 1 - c * np.exp(-(n - a) * target_s / np.maximum(aht, 1e-9)), 0.0)
        need = np.where((need < 0) & (sl >= goal), n, need)
    return need


def calls_at_goal(
    agents: np.ndarray,
    aht_s: np.ndarray,
    interval_s: float,
    target_s: float,
    goal: float,
) -> np.ndarray:
    """The most calls per interval that ``agents`` answer at the goal (bisection on calls).

    Erlang C service level falls as calls rise, so the goal holds for exactly the calls
    below this number; with no agents it is 0.
    """
    agents = np.asarray(agents, dtype=float)
    aht = np.asarray(aht_s, dtype=float)
    lo = np.zeros(agents.shape)
    hi = np.floor(agents) * interval_s / np.maximum(aht, 1e-9)  # the traffic where A = N
    for _ in range(40):
        mid = (lo + hi) / 2
        ok = erlang_c_arrays(traffic(mid, aht, interval_s), agents, aht, target_s)
        good = ok["service_level"] >= goal
        lo, hi = np.where(good, mid, lo), np.where(good, hi, mid)
    return lo


def interval_seconds(acd: pl.DataFrame) -> float:
    """The report's interval length: the commonest gap between consecutive starts per queue."""
    gaps = (
        _with_queue(acd)
        .select("queue", "interval_start")
        .unique()
        .sort("queue", "interval_start")
        .select(pl.col("interval_start").diff().over("queue").dt.total_seconds().alias("gap"))
        .drop_nulls()
        .filter(pl.col("gap") > 0)
    )
    if gaps.height == 0:
        return 1800.0
    return float(gaps["gap"].mode().min())  # type: ignore[arg-type]


def _with_queue(acd: pl.DataFrame) -> pl.DataFrame:
    if "queue" in acd.columns:
        return acd.with_columns(pl.col("queue").fill_null("all"))
    return acd.with_columns(pl.lit("all").alias("queue"))


def realized(acd: pl.DataFrame, interval_s: float | None = None) -> pl.DataFrame:
    """Per interval and queue: service level, abandonment, ASA and occupancy as delivered.

    Formulas and the abandonment convention are in the module docstring; a column the
    export lacks gives nulls, never a guess.
    """
    interval_s = interval_s or interval_seconds(acd)
    acd = _with_queue(acd)
    offered = pl.col("offered")
    optional = {"answered_in_target", "abandoned", "asa_s", "aht_s", "agents"}
    acd = acd.with_columns(
        pl.lit(None, pl.Float64).alias(c) for c in optional if c not in acd.columns
    )
    return acd.select(
        "interval_start",
        "queue",
        "offered",
        "answered",
        pl.col("abandoned").fill_null(offered - pl.col("answered")),
        "answered_in_target",
        "asa_s",
        "aht_s",
        "agents",
        pl.when(offered > 0).then(pl.col("answered_in_target") / offered).alias("service_level"),
        pl.when(offered > 0)
        .then(pl.col("abandoned").fill_null(offered - pl.col("answered")) / offered)
        .alias("abandon_rate"),
        pl.when(pl.col("agents") > 0)
        .then(
            (pl.col("answered") * pl.col("aht_s") / (pl.col("agents") * interval_s)).clip(
                upper_bound=1.0
            )
        )
        .alias("occupancy"),
    )


@dataclass(frozen=True)
class ServiceSummary:
    """Totals over a period: each rate weighted by the contacts it is a rate of."""

    offered: int
    service_level: float | None
    abandon_rate: float | None
    asa_s: float | None
    occupancy: float | None


def summary(rows: pl.DataFrame, interval_s: float) -> ServiceSummary:
    """Totals of ``realized`` rows. SL = sum answered in target / sum offered; abandonment =
    sum abandoned / sum offered; ASA = sum(ASA x answered) / sum answered; occupancy = sum
    answered x AHT / (sum agents x interval length). Each over the rows that report it."""

    def weighted(value: str, weight: str, scale: float = 1.0) -> float | None:
        known = rows.filter(pl.col(value).is_not_null() & pl.col(weight).is_not_null())
        den = float(known[weight].sum()) * scale
        return float((known[value] * known[weight]).sum()) / den if den > 0 else None

    def ratio(num: str, den: str) -> float | None:
        known = rows.filter(pl.col(num).is_not_null())
        total = float(known[den].sum())
        return float(known[num].sum()) / total if total > 0 else None

    staffed = rows.filter(pl.col("agents").is_not_null() & pl.col("aht_s").is_not_null())
    capacity = float(staffed["agents"].sum()) * interval_s
    work = float((staffed["answered"] * staffed["aht_s"]).sum())
    return ServiceSummary(
        offered=int(rows["offered"].sum()),
        service_level=ratio("answered_in_target", "offered"),
        abandon_rate=ratio("abandoned", "offered"),
        asa_s=weighted("asa_s", "answered"),
        occupancy=min(work / capacity, 1.0) if capacity > 0 else None,
    )


def slot_columns(time: pl.Expr) -> list[pl.Expr]:
    """Weekday (1 = Monday) and time of day of an interval start: the staffing plan's key."""
    return [time.dt.weekday().alias("weekday"), time.dt.time().alias("slot")]


def weekly_plan(acd: pl.DataFrame, weeks: int = WEEK_PLAN_WEEKS) -> pl.DataFrame:
    """Planned agents and AHT per queue, weekday and time of day: the median of the last
    ``weeks`` weeks of the report (what the roster has been, so what it will likely be)."""
    acd = _with_queue(acd)
    last = acd["interval_start"].max()
    recent = acd.filter(pl.col("interval_start") > last - pl.duration(weeks=weeks))  # type: ignore[operator]
    aht_all = acd.group_by("queue").agg(pl.col("aht_s").median().alias("aht_queue"))
    plan = (
        recent.with_columns(slot_columns(pl.col("interval_start")))
        .group_by("queue", "weekday", "slot")
        .agg(
            pl.col("agents").median().alias("agents"),
            pl.col("aht_s").median().alias("aht_s"),
        )
        .join(aht_all, on="queue", how="left")
        .with_columns(pl.col("aht_s").fill_null(pl.col("aht_queue")).fill_null(300.0))
        .drop("aht_queue")
    )
    return plan.sort("queue", "weekday", "slot")


def breach_forecast(
    forecast: pl.DataFrame,
    plan: pl.DataFrame,
    interval_s: float,
    target_s: float,
    goal: float,
) -> pl.DataFrame:
    """Predicted service level and breach probability per future interval.

    ``forecast`` has ``queue``, ``time``, ``mean`` and ``sd`` (the forecast's standard
    deviation, from its interval); ``plan`` has agents and AHT per queue, weekday and slot.

    * predicted service level = Erlang C at the forecast mean with the planned agents;
    * the goal holds while calls stay below c* = ``calls_at_goal`` for those agents, so
      P(breach) = P(calls > c*) = 1 - Phi((c* - mean) / sd) under the forecast's normal
      interval (a point forecast, sd 0, gives 0 or 1);
    * agents needed = the smallest N holding the goal at the forecast mean; the staffing
      gap = needed - planned (positive: people short).
    """
    rows = forecast.with_columns(slot_columns(pl.col("time"))).join(
        plan, on=["queue", "weekday", "slot"], how="left"
    )
    mean = rows["mean"].to_numpy().astype(float)
    sd = rows["sd"].fill_null(0.0).to_numpy().astype(float)
    aht = rows["aht_s"].fill_null(300.0).to_numpy().astype(float)
    agents = rows["agents"].fill_null(0.0).to_numpy().astype(float)
    a = traffic(mean, aht, interval_s)
    predicted = erlang_c_arrays(a, agents, aht, target_s)
    limit = calls_at_goal(agents, aht, interval_s, target_s, goal)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, (limit - mean) / np.where(sd > 0, sd, 1.0), np.inf)
    p = np.where(sd > 0, norm.sf(z), (mean > limit).astype(float))
    needed = agents_needed(a, aht, target_s, goal)
    return rows.with_columns(
        pl.Series("agents", agents),
        pl.Series("aht_s", aht),
        pl.Series("traffic_erlangs", a),
        pl.Series("predicted_sl", predicted["service_level"]),
        pl.Series("overloaded", predicted["overloaded"]),
        pl.Series("calls_at_goal", limit),
        pl.Series("p_breach", p),
        pl.Series("agents_needed", needed.astype(float)),
        pl.Series("gap", needed - agents),
    )


def breach_points(breaches: pl.DataFrame, threshold: float = 0.5, top: int = 20) -> pl.DataFrame:
    """The likeliest breaches: intervals with P(breach) >= ``threshold``, likeliest first."""
    return (
        breaches.filter(pl.col("p_breach") >= threshold)
        .sort(["p_breach", "gap", "time"], descending=[True, True, False])
        .head(top)
    )


def queue_breaches(
    forecasts: list[tuple[str, pl.DataFrame]],
    acd: pl.DataFrame,
    interval_s: float,
    target_s: float,
    goal: float,
    plan: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``breach_forecast`` for every queue's intra-day forecast (``(queue, forecast)``
    pairs), against ``plan`` or, by default, the ``weekly_plan`` of the report."""
    plan = weekly_plan(acd) if plan is None else plan
    frames = [
        breach_forecast(f.with_columns(pl.lit(q).alias("queue")), plan, interval_s, target_s, goal)
        for q, f in forecasts
    ]
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


def has_staffing(acd: pl.DataFrame | None) -> bool:
    """Whether the report says how many agents worked: the breach forecast needs it."""
    return acd is not None and "agents" in acd.columns and acd["agents"].drop_nulls().len() > 0
