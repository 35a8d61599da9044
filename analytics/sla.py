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

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from analytics.calibration import Calibration

WEEK_PLAN_WEEKS = 4
NODES = 20  # Gauss-Hermite points over the forecast's calls
MAX_QUEUE = 3000  # Erlang A's queue levels: far beyond any real queue held by abandonment


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


def _queue_levels(
    lam: np.ndarray, n: np.ndarray, mu: np.ndarray, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Erlang A's state probabilities seen by an arrival (PASTA), element-wise.

    Returns (P(an agent is free), pi[k] = P(all N busy and k waiting), the levels k). With
    B = Erlang B(N, A) and w_k = prod_{m=1..k} lambda / (N mu + m theta) (w_0 = 1),
    S = sum_k w_k: P(free) = (1 - B) / D and pi[k] = B w_k / D, D = 1 - B + B S. Sums run in
    logs (w_k overflows in overload) and stop where the terms are negligible: k up to the
    overload's mean queue (lambda - N mu) / theta plus 8 of its standard deviations.
    """
    ratio = lam / theta
    top = np.maximum(lam - n * mu, 0) / theta + 8 * np.sqrt(ratio) + 10
    levels = np.arange(int(min(np.ceil(top.max(initial=0)), MAX_QUEUE)) + 1)
    rates = n[:, None] * mu[:, None] + levels[None, :] * theta[:, None]
    with np.errstate(divide="ignore"):
        terms = np.log(lam[:, None]) - np.log(np.where(levels > 0, rates, 1.0))
    log_w = np.cumsum(np.where(levels > 0, terms, 0.0), axis=1)
    b = erlang_b(lam / mu, n)
    with np.errstate(divide="ignore"):
        log_d = np.logaddexp(np.log1p(-b), np.log(b) + np.logaddexp.reduce(log_w, axis=1))
        pi = np.exp(np.log(b)[:, None] + log_w - log_d[:, None])
    return (1 - b) / np.exp(log_d), pi, levels


def erlang_a_arrays(
    a: np.ndarray,
    agents: np.ndarray,
    aht_s: np.ndarray | float,
    patience_s: np.ndarray | float,
    target_s: float,
) -> dict[str, np.ndarray]:
    """Vectorised Erlang A (M/M/N+M: exponential patience of mean ``patience_s``).

    Service level = P(answered within ``target_s``) over all offered contacts (abandoned
    ones are misses, as in ``realized``). An arrival that finds k contacts waiting reaches
    an agent after each of them is answered or abandons: its level falls at rate
    N mu + k theta, and it is answered at rate N mu from level 0, while it abandons at
    rate theta throughout. So SL = P(free) + integral_0^target N mu p_0(s) ds, where
    p_k(0) = pi[k] (see ``_queue_levels``) and dp_k/ds = -(N mu + k theta + theta) p_k +
    (N mu + (k + 1) theta) p_{k+1}, solved by fixed-step RK4 (each step's rate x step
    <= 0.25, error below 1e-6). Unlike Erlang C it is defined in overload (N <= A): the
    queue is held by abandonment. As patience grows it tends to Erlang C.
    """
    parts = np.broadcast_arrays(
        np.asarray(a, dtype=float),
        np.floor(np.asarray(agents, dtype=float)),
        np.asarray(aht_s, dtype=float),
        np.asarray(patience_s, dtype=float),
    )
    shape = parts[0].shape
    a, n, aht, patience = (x.ravel() for x in parts)
    mu = 1 / np.maximum(aht, 1e-9)
    theta = 1 / np.maximum(patience, 1e-9)
    lam = a * mu
    free, p, levels = _queue_levels(lam, n, mu, theta)
    waiting = p.sum(axis=1)
    down = n[:, None] * mu[:, None] + levels[None, :] * theta[:, None]
    leave = down + theta[:, None]
    steps = max(1, int(np.ceil(target_s * leave.max(initial=0) / 0.25)))
    h = target_s / steps

    def slope(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inflow = np.zeros_like(q)
        inflow[:, :-1] = down[:, 1:] * q[:, 1:]
        return inflow - leave * q, n * mu * q[:, 0]

    served = np.zeros(a.shape)
    for _ in range(steps if target_s > 0 else 0):
        k1, s1 = slope(p)
        k2, s2 = slope(p + h / 2 * k1)
        k3, s3 = slope(p + h / 2 * k2)
        k4, s4 = slope(p + h * k3)
        p = p + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        served = served + h / 6 * (s1 + 2 * s2 + 2 * s3 + s4)
    sl = np.clip(np.where(a <= 0, 1.0, free + served), 0.0, 1.0)
    return {
        "probability_wait": np.where(a <= 0, 0.0, waiting).reshape(shape),
        "service_level": sl.reshape(shape),
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
    """The most calls per interval that ``agents`` answer at the goal by Erlang C.

    Erlang C service level falls as calls rise, so the goal holds for exactly the calls
    below this number; with no agents it is 0.
    """
    agents = np.asarray(agents, dtype=float)
    aht = np.asarray(aht_s, dtype=float)
    hi = np.floor(agents) * interval_s / np.maximum(aht, 1e-9)  # the traffic where A = N
    return bisect_calls(
        lambda calls: erlang_c_arrays(traffic(calls, aht, interval_s), agents, aht, target_s)[
            "service_level"
        ],
        goal,
        hi,
    )


def bisect_calls(
    level: Callable[[np.ndarray], np.ndarray], goal: float | np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """The most calls in [0, ``hi``] with ``level(calls) >= goal``, element-wise, by 40
    halvings; ``level`` must fall as calls rise (every service-level model here does)."""
    lo = np.zeros(np.shape(hi))
    hi = np.asarray(hi, dtype=float)
    for _ in range(40):
        mid = (lo + hi) / 2
        good = level(mid) >= goal
        lo, hi = np.where(good, mid, lo), np.where(good, hi, mid)
    return lo


def model_service_level(
    calls: np.ndarray,
    agents: np.ndarray,
    aht_s: np.ndarray,
    patience_s: np.ndarray,
    interval_s: float,
    target_s: float,
) -> np.ndarray:
    """Predicted service level: Erlang A where the patience is known (finite, > 0), Erlang C
    elsewhere, element-wise."""
    calls, agents, aht, patience = (
        x.astype(float) for x in np.broadcast_arrays(calls, agents, aht_s, patience_s)
    )
    a = traffic(calls, aht, interval_s)
    out = erlang_c_arrays(a, agents, aht, target_s)["service_level"]
    known = np.isfinite(patience) & (patience > 0)
    if known.any():
        sl = erlang_a_arrays(a[known], agents[known], aht[known], patience[known], target_s)
        out = out.copy()
        out[known] = sl["service_level"]
    return out


def agents_for(
    level: Callable[[np.ndarray], np.ndarray], goal: np.ndarray, start: np.ndarray
) -> np.ndarray:
    """The fewest whole agents N with ``level(N) >= goal`` element-wise (``level`` rises with
    N): the upper end doubles from ``start`` + 1, then halves down. NaN where even 64 times
    the start does not reach the goal (or the goal is NaN)."""
    lo = np.full(np.shape(goal), -1.0)  # level(lo) < goal, except at -1
    hi = np.maximum(np.ceil(np.asarray(start, dtype=float)), 0) + 1
    for _ in range(6):
        short = level(hi) < goal
        if not short.any():
            break
        lo, hi = np.where(short, hi, lo), np.where(short, hi * 2, hi)
    reached = level(hi) >= goal
    while (open_ := reached & (hi - lo > 1)).any():
        mid = np.floor((lo + hi) / 2)
        good = level(np.maximum(mid, 0)) >= goal
        lo = np.where(open_ & ~good, mid, lo)
        hi = np.where(open_ & good, mid, hi)
    return np.where(reached, hi, np.nan)


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
    aht_s: float | None = None


def summary(rows: pl.DataFrame, interval_s: float) -> ServiceSummary:
    """Totals of ``realized`` rows. SL = sum answered in target / sum offered; abandonment =
    sum abandoned / sum offered; ASA (and AHT) = sum(ASA x answered) / sum answered; occupancy = sum
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
        aht_s=weighted("aht_s", "answered"),
    )


def slot_columns(time: pl.Expr) -> list[pl.Expr]:
    """Weekday (1 = Monday) and time of day of an interval start: the staffing plan's key."""
    return [time.dt.weekday().alias("weekday"), time.dt.time().alias("slot")]


def slot_key(time: pl.Expr) -> pl.Expr:
    """Weekday and time of day as one number: (weekday - 1) x 1440 + minute of the day."""
    return (
        (time.dt.weekday().cast(pl.Int64) - 1) * 1440
        + time.dt.hour().cast(pl.Int64) * 60
        + time.dt.minute().cast(pl.Int64)
    ).alias("slot_key")


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
    calibration: Calibration | None = None,
) -> pl.DataFrame:
    """Predicted service level and breach probability per future interval.

    ``forecast`` has ``queue``, ``time``, ``mean`` and ``sd`` (the forecast's standard
    deviation, from its interval); ``plan`` has agents and AHT per queue, weekday and slot.
    The model is Erlang A where ``calibration`` knows the queue's patience, else Erlang C;
    ``erlang_sl`` is its service level at the forecast mean.

    Calibrated queues (``calibration`` has a map for them, see :mod:`analytics.calibration`):

    * predicted service level = the calibrated map's mean over the forecast's calls;
    * P(breach) = E over calls ~ N(mean, s) of P(the realized share < goal), by quadrature,
      with s = max(sd, sqrt(mean)): arrivals are at least as uncertain as Poisson;
    * agents needed = the fewest whose service level, through the calibration map (without
      the slot's own deviation, which staffing does not move), reaches the goal at the
      forecast mean (null when the map never reaches the goal).

    Uncalibrated queues (no history to learn from): the model is taken at its word.

    * predicted service level = the model at the forecast mean with the planned agents;
    * the goal holds while calls stay below c*, the most calls those agents answer at the
      goal, so P(breach) = P(calls > c*) = 1 - Phi((c* - mean) / sd) under the forecast's
      normal interval (a point forecast, sd 0, gives 0 or 1);
    * agents needed = the fewest holding the goal at the forecast mean.

    The staffing gap = needed - planned (positive: people short).
    """
    rows = forecast.with_columns(slot_columns(pl.col("time"))).join(
        plan, on=["queue", "weekday", "slot"], how="left"
    )
    parts = [
        _queue_breach(part, str(queue), interval_s, target_s, goal, calibration)
        for (queue,), part in rows.partition_by("queue", as_dict=True, maintain_order=True).items()
    ]
    return pl.concat(parts, how="vertical_relaxed") if parts else rows


def _queue_breach(
    rows: pl.DataFrame,
    queue: str,
    interval_s: float,
    target_s: float,
    goal: float,
    calibration: Calibration | None,
) -> pl.DataFrame:
    """``breach_forecast`` for the rows of one queue."""
    mean = rows["mean"].to_numpy().astype(float)
    sd = rows["sd"].fill_null(0.0).to_numpy().astype(float)
    aht = rows["aht_s"].fill_null(300.0).to_numpy().astype(float)
    agents = rows["agents"].fill_null(0.0).to_numpy().astype(float)
    patience = calibration.patience(queue) if calibration else math.nan
    curve = calibration.curve(queue) if calibration else None
    a = traffic(mean, aht, interval_s)

    def level(calls: np.ndarray, staff: np.ndarray = agents) -> np.ndarray:
        shape = np.shape(calls)
        grid = (-1,) + (1,) * (len(shape) - 1)
        return model_service_level(
            calls,
            np.reshape(staff, grid),
            np.reshape(aht, grid),
            np.full(shape, patience),
            interval_s,
            target_s,
        )

    erlang = level(mean)
    capacity = np.floor(agents) * interval_s / np.maximum(aht, 1e-9)  # calls where A = N
    hi = capacity if math.isnan(patience) else 4 * (capacity + mean) + 10
    if curve is None:
        predicted = erlang
        limit = bisect_calls(level, goal, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(sd > 0, (limit - mean) / np.where(sd > 0, sd, 1.0), np.inf)
        from scipy.stats import norm  # here: SciPy's stats take seconds to import

        p = np.where(sd > 0, norm.sf(z), (mean > limit).astype(float))
        needed = agents_for(lambda n: level(mean, n), np.full(mean.shape, goal), a)
    else:
        nodes, weights = np.polynomial.hermite_e.hermegauss(NODES)
        weights = weights / weights.sum()
        spread = np.maximum(sd, np.sqrt(np.maximum(mean, 0.0)))  # never surer than Poisson
        calls = np.maximum(mean[:, None] + spread[:, None] * nodes[None, :], 0.0)
        slot = rows.select(slot_key(pl.col("time")))["slot_key"].to_numpy()
        m = curve.mean(level(calls), slot[:, None])
        predicted = m @ weights
        p = curve.breach(m, calls, goal) @ weights
        limit = bisect_calls(lambda c: curve.mean(level(c), slot), goal, hi)
        # Staffing moves the map, not the slot's own deviation: agents needed by the map.
        unseen = np.full(slot.shape, -1)
        needed = agents_for(lambda n: level(mean, n), curve.goal_level(goal, unseen), a)
    model = "erlang_c" if math.isnan(patience) else "erlang_a"
    return rows.with_columns(
        pl.Series("agents", agents),
        pl.Series("aht_s", aht),
        pl.Series("traffic_erlangs", a),
        pl.lit(model).alias("model"),
        pl.lit(curve is not None).alias("calibrated"),
        pl.Series("erlang_sl", erlang),
        pl.Series("predicted_sl", predicted),
        pl.Series("overloaded", (agents <= a) & (a > 0)),
        pl.Series("calls_at_goal", limit),
        pl.Series("p_breach", np.clip(p, 0.0, 1.0)),
        pl.Series("agents_needed", needed, nan_to_null=True),
        pl.Series("gap", needed - agents, nan_to_null=True),
    )


def breach_points(breaches: pl.DataFrame, threshold: float = 0.5, top: int = 20) -> pl.DataFrame:
    """The likeliest breaches: the ``top`` intervals with P(breach) >= ``threshold``,
    likeliest first; ``top`` 0 lists every interval, whatever its P(breach)."""
    ordered = breaches.sort(
        ["p_breach", "gap", "time", "queue"],
        descending=[True, True, False, False],
        nulls_last=True,
    )
    return ordered if top == 0 else ordered.filter(pl.col("p_breach") >= threshold).head(top)


def queue_breaches(
    forecasts: list[tuple[str, pl.DataFrame]],
    acd: pl.DataFrame,
    interval_s: float,
    target_s: float,
    goal: float,
    plan: pl.DataFrame | None = None,
    calibration: Calibration | None = None,
) -> pl.DataFrame:
    """``breach_forecast`` for every queue's intra-day forecast (``(queue, forecast)``
    pairs), against ``plan`` or, by default, the ``weekly_plan`` of the report, calibrated
    by ``calibration`` where given."""
    plan = weekly_plan(acd) if plan is None else plan
    frames = [
        breach_forecast(
            f.with_columns(pl.lit(q).alias("queue")), plan, interval_s, target_s, goal, calibration
        )
        for q, f in forecasts
    ]
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


def report_until(acd: pl.DataFrame, last_day: dt.date) -> pl.DataFrame:
    """The report's intervals up to the end of ``last_day``: the history a forecast made
    after that day may use."""
    stop = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0))
    return acd.filter(pl.col("interval_start") < stop)


def has_staffing(acd: pl.DataFrame | None) -> bool:
    """Whether the report says how many agents worked: the breach forecast needs it."""
    return acd is not None and "agents" in acd.columns and acd["agents"].drop_nulls().len() > 0


def recent(rows: pl.DataFrame, weeks: int = 4) -> pl.DataFrame:
    """The ``realized`` rows of the report's last ``weeks`` weeks: intervals starting after
    the last start minus ``weeks`` weeks (what "delivered lately" means on the page)."""
    last = rows["interval_start"].max()
    return rows.filter(pl.col("interval_start") > last - pl.duration(weeks=weeks))  # type: ignore[operator]


def service_level_by_slot(rows: pl.DataFrame) -> pl.DataFrame:
    """Delivered service level per weekday (1 = Monday) and time of day over the whole
    report: sum answered in target / sum offered of the intervals at that slot."""
    return (
        rows.with_columns(slot_columns(pl.col("interval_start")))
        .group_by("weekday", "slot")
        .agg((pl.col("answered_in_target").sum() / pl.col("offered").sum()).alias("service_level"))
        .sort("weekday", "slot")
    )


def plan_grid(plan: pl.DataFrame, queue: str) -> pl.DataFrame:
    """One queue's ``weekly_plan`` agents as a grid to edit: a row per weekday, a column
    per time of day (``HH:MM``)."""
    return (
        plan.filter(pl.col("queue") == queue)
        .with_columns(pl.col("slot").dt.strftime("%H:%M"))
        .pivot(on="slot", index="weekday", values="agents", sort_columns=True)
        .sort("weekday")
    )


def edit_plan(
    plan: pl.DataFrame, queue: str, grid: pl.DataFrame | None = None, extra: int = 0
) -> pl.DataFrame:
    """``plan`` with ``queue``'s agents taken from an edited :func:`plan_grid` (a slot
    left empty keeps its plan), then ``extra`` agents added to every slot of every queue,
    never below 0."""
    if grid is not None:
        edited = grid.unpivot(index="weekday", variable_name="slot", value_name="agents_new")
        edited = edited.with_columns(
            pl.col("slot").str.to_time("%H:%M"),
            pl.lit(queue).alias("queue"),
            pl.col("agents_new").cast(pl.Float64),
        )
        plan = (
            plan.join(edited, on=["queue", "weekday", "slot"], how="left")
            .with_columns(pl.coalesce("agents_new", "agents").alias("agents"))
            .drop("agents_new")
        )
    return plan.with_columns((pl.col("agents") + extra).clip(lower_bound=0))


@dataclass(frozen=True)
class BreachTotals:
    """The breach forecast in three numbers: intervals with P(breach) >= 0.5, the expected
    number of breached intervals (sum of P), and agent-hours short (sum of positive
    ``gap`` x interval length / 3600)."""

    likely: int
    expected: float
    short_hours: float


def breach_totals(breaches: pl.DataFrame, interval_s: float) -> BreachTotals:
    short = breaches["gap"].fill_null(0).clip(lower_bound=0)
    return BreachTotals(
        likely=int((breaches["p_breach"] >= 0.5).sum()),
        expected=float(breaches["p_breach"].sum()),
        short_hours=float(short.sum()) * interval_s / 3600,
    )
