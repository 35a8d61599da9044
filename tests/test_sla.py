"""Service level: Erlang C against published examples and identities, Erlang A against its
infinite-server identity and a simulation, realized SL, breaches, and the calibration of the
breach forecast on a simulated centre whose exports mislead Erlang as real ones do."""

from __future__ import annotations

import datetime as dt
import heapq
import math
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import poisson

from analytics.calibration import (
    MIN_INTERVALS,
    MIN_QUEUE_INTERVALS,
    calibrate,
    fit_curve,
    patience_by_queue,
)
from analytics.sla import (
    agents_needed,
    breach_forecast,
    breach_points,
    calls_at_goal,
    erlang_a_arrays,
    erlang_c,
    erlang_c_arrays,
    interval_seconds,
    realized,
    summary,
    weekly_plan,
)


def _textbook_c(a: float, n: int) -> float:
    """Erlang C straight from its textbook form with factorials (fine for small N)."""
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def test_call_centre_helper_worked_example():
    # Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example":
    # 100 calls in 30 minutes, AHT 180 s, target 80 % in 20 s. Traffic 10 erlangs; with
    # 14 agents the probability of waiting is 17.41 %, the service level 88.8 %, the ASA
    # 7.8 s and occupancy 71.4 %; 14 is the fewest agents meeting 80/20.
    r = erlang_c(calls=100, interval_s=1800, aht_s=180, agents=14, target_s=20)
    assert r.traffic_erlangs == 10.0
    assert round(r.probability_wait, 4) == 0.1741
    assert round(r.service_level, 3) == 0.888
    assert round(r.asa_s, 1) == 7.8
    assert round(r.occupancy, 3) == 0.714
    assert agents_needed(np.array([10.0]), 180.0, 20, 0.8).tolist() == [14]
    assert erlang_c(100, 1800, 180, 13, 20).service_level < 0.8


def test_mitan_worked_example():
    # Mitan Ltd, "The Erlang-C Formula": 360 calls per half hour, 4-minute calls, 55 agents,
    # target 15 s. Traffic 48 erlangs, occupancy 0.873; the factorial form gives
    # P(wait) 0.2387, ASA 8.18 s, service level 84.6 %.
    r = erlang_c(calls=360, interval_s=1800, aht_s=240, agents=55, target_s=15)
    assert r.traffic_erlangs == 48.0
    assert round(r.occupancy, 3) == 0.873
    assert r.probability_wait == pytest.approx(_textbook_c(48.0, 55), rel=1e-12)
    assert round(r.probability_wait, 4) == 0.2387
    assert round(r.asa_s, 2) == 8.18
    assert round(r.service_level, 3) == 0.846


@given(
    a=st.floats(0.1, 60.0),
    extra=st.integers(1, 30),
    target=st.floats(0.0, 120.0),
    aht=st.floats(30.0, 900.0),
)
def test_erlang_c_matches_the_factorial_form_and_rises_with_agents(a, extra, target, aht):
    n = math.floor(a) + extra  # always more agents than traffic
    r = erlang_c_arrays(np.array([a, a]), np.array([n, n + 1]), aht, target)
    assert r["probability_wait"][0] == pytest.approx(_textbook_c(a, n), rel=1e-9)
    assert r["service_level"][1] >= r["service_level"][0]
    assert r["asa_s"][1] <= r["asa_s"][0]
    assert 0 <= r["service_level"][0] <= 1


@given(a=st.floats(0.0, 300.0), goal=st.floats(0.5, 0.95), aht=st.floats(60.0, 600.0))
def test_agents_needed_is_the_smallest_meeting_the_goal(a, goal, aht):
    n = int(agents_needed(np.array([a]), aht, 20.0, goal)[0])
    at = erlang_c_arrays(np.array([a, a]), np.array([n, max(n - 1, 0)]), aht, 20.0)
    assert at["service_level"][0] >= goal
    if a > 0:
        assert at["service_level"][1] < goal


def test_large_queues_are_stable():
    # 1,000 erlangs on 1,010 agents: factorials would overflow; the recursion does not.
    r = erlang_c(calls=10_000, interval_s=1800, aht_s=180, agents=1010, target_s=20)
    assert r.traffic_erlangs == 1000.0
    assert 0 < r.probability_wait < 1 and 0 < r.service_level < 1
    assert math.isfinite(r.asa_s)
    need = int(agents_needed(np.array([1000.0]), 180.0, 20, 0.8)[0])
    assert erlang_c(10_000, 1800, 180, need, 20).service_level >= 0.8
    assert erlang_c(10_000, 1800, 180, need - 1, 20).service_level < 0.8


def test_overloaded_queue_is_reported_not_nan():
    r = erlang_c(calls=100, interval_s=1800, aht_s=180, agents=8, target_s=20)
    assert r.overloaded
    assert (r.probability_wait, r.service_level, r.occupancy) == (1.0, 0.0, 1.0)
    assert math.isinf(r.asa_s) and r.to_dict()["asa_s"] is None
    idle = erlang_c(calls=0, interval_s=1800, aht_s=180, agents=2, target_s=20)
    assert (idle.service_level, idle.probability_wait, idle.overloaded) == (1.0, 0.0, False)


def test_calls_at_goal_is_the_break_point():
    limit = calls_at_goal(np.array([14.0]), np.array([180.0]), 1800, 20, 0.8)[0]
    # 14 agents hold 80/20 at 100 calls (88.8 %) and lose it a little above the limit.
    assert limit > 100
    assert erlang_c(limit - 0.01, 1800, 180, 14, 20).service_level >= 0.8
    assert erlang_c(limit + 0.01, 1800, 180, 14, 20).service_level < 0.8


def _acd() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "interval_start": [
                dt.datetime(2024, 1, 1, 10, 0),
                dt.datetime(2024, 1, 1, 10, 30),
                dt.datetime(2024, 1, 1, 11, 0),
            ],
            "offered": [10, 20, 0],
            "answered": [9, 18, 0],
            "abandoned": [1, 2, 0],
            "answered_in_target": [8, 12, 0],
            "asa_s": [10.0, 40.0, None],
            "aht_s": [200.0, 300.0, None],
            "agents": [2.0, 4.0, 1.0],
        }
    )


def test_realized_service_level_by_hand():
    rows = realized(_acd())
    assert interval_seconds(_acd()) == 1800.0
    assert rows["service_level"].to_list() == [0.8, 0.6, None]
    assert rows["abandon_rate"].to_list() == [0.1, 0.1, None]
    # occupancy = answered x AHT / (agents x 1800): 9 x 200 / 3600 and 18 x 300 / 7200.
    assert rows["occupancy"].to_list()[:2] == [0.5, 0.75]
    total = summary(rows, 1800)
    assert total.service_level == 20 / 30
    assert total.abandon_rate == 3 / 30
    assert total.asa_s == pytest.approx((9 * 10 + 18 * 40) / 27)
    assert total.occupancy == pytest.approx((9 * 200 + 18 * 300) / (6 * 1800))


def test_breach_probability_follows_the_forecast_interval():
    plan = pl.DataFrame(
        {
            "queue": ["q", "q"],
            "weekday": [1, 1],
            "slot": [dt.time(10), dt.time(10, 30)],
            "agents": [14.0, 14.0],
            "aht_s": [180.0, 180.0],
        },
        schema_overrides={"weekday": pl.Int8},
    )
    limit = calls_at_goal(np.array([14.0]), np.array([180.0]), 1800, 20, 0.8)[0]
    forecast = pl.DataFrame(
        {
            "queue": ["q", "q"],
            "time": [dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 1, 1, 10, 30)],
            "mean": [limit, 100.0],
            "sd": [5.0, 0.0],
        }
    )
    out = breach_forecast(forecast, plan, 1800, 20, 0.8)
    # At the break point the breach is a coin toss; a sure 100 calls on 14 agents holds.
    assert out["p_breach"].to_list() == pytest.approx([0.5, 0.0], abs=1e-6)
    assert out["agents_needed"].to_list()[1] == 14
    assert out["gap"].to_list()[1] == 0
    assert breach_points(out).height == 1


def test_weekly_plan_is_the_recent_median():
    start = dt.datetime(2024, 1, 1, 10)  # a Monday
    times = [start + dt.timedelta(weeks=w) for w in range(6)]
    acd = pl.DataFrame(
        {
            "interval_start": times,
            "offered": [10] * 6,
            "answered": [10] * 6,
            "aht_s": [100.0] * 6,
            "agents": [1.0, 1.0, 3.0, 4.0, 5.0, 9.0],
        }
    )
    plan = weekly_plan(acd, weeks=4)
    # The last four Mondays: 3, 4, 5, 9 -> median 4.5.
    assert plan.select("weekday", "slot", "agents").row(0) == (1, dt.time(10), 4.5)


# ---------------------------------------------------------------- Erlang A


@pytest.mark.parametrize(("a", "n"), [(1.0, 1), (4.0, 3), (10.0, 12), (30.0, 25)])
def test_erlang_a_with_patience_equal_to_aht_is_an_infinite_server_queue(a, n):
    # With patience = AHT every contact in the system leaves at the same rate mu, served or
    # not, so the number in the system is Poisson(A) (M/M/inf): an arrival finds an agent
    # free with P(Poisson(A) <= N - 1). That is the service level at a 0 s target.
    r = erlang_a_arrays(np.array([a]), np.array([n]), 180.0, 180.0, 0.0)
    assert r["service_level"][0] == pytest.approx(poisson.cdf(n - 1, a), abs=1e-9)
    assert r["probability_wait"][0] == pytest.approx(poisson.sf(n - 1, a), abs=1e-9)
    # N = 1, A = 1: e^-1 = 0.3679 of callers are answered at once.
    if n == 1:
        assert round(float(r["service_level"][0]), 4) == 0.3679


def _simulated_sl(
    rng: np.random.Generator, lam: float, n: int, aht: float, patience: float, seconds: float
) -> float:
    """Share of callers answered within 20 s in an M/M/N+M FCFS queue (the first tenth of
    the run is warm-up). Callers are taken in arrival order: each waits for the earliest
    free agent and abandons when that is later than its patience."""
    arrive = np.sort(rng.uniform(0, seconds, rng.poisson(lam * seconds)))
    limits, service = rng.exponential(patience, arrive.size), rng.exponential(aht, arrive.size)
    free = [0.0] * n
    counted = quick = 0
    for t, limit, s in zip(arrive.tolist(), limits.tolist(), service.tolist(), strict=True):
        wait = max(free[0] - t, 0.0)
        if t > seconds / 10:
            counted += 1
            quick += wait <= 20 and wait <= limit
        if wait <= limit:
            heapq.heapreplace(free, t + wait + s)
    return quick / counted


@pytest.mark.parametrize(("a", "n", "patience"), [(10.0, 10, 120.0), (3.0, 3, 100.0)])
def test_erlang_a_matches_a_simulated_queue_with_abandonment(a, n, patience):
    rng = np.random.default_rng(5)
    aht = 180.0
    sim = _simulated_sl(rng, a / aht, n, aht, patience, 1.5e7)  # ~80,000 and ~25,000 callers
    model = erlang_a_arrays(np.array([a]), np.array([n]), aht, patience, 20.0)
    assert model["service_level"][0] == pytest.approx(sim, abs=0.012)
    # Erlang C has no abandonment: N = A is overloaded for it, a long queue for Erlang A.
    assert erlang_c_arrays(np.array([a]), np.array([n]), aht, 20.0)["service_level"][0] == 0


def test_erlang_a_tends_to_erlang_c_as_patience_grows():
    a, n = np.array([10.0, 48.0, 5.0]), np.array([14, 55, 6])
    c = erlang_c_arrays(a, n, 180.0, 20.0)["service_level"]
    patient = erlang_a_arrays(a, n, 180.0, 1e7, 20.0)["service_level"]
    assert patient == pytest.approx(c, abs=1e-4)
    hasty = erlang_a_arrays(a, n, 180.0, 60.0, 20.0)["service_level"]
    assert (hasty > c).all()  # abandoners shorten the queue for those who stay


def test_patience_is_total_wait_over_abandons():
    acd = pl.DataFrame(
        {
            "interval_start": [dt.datetime(2024, 1, 1, h) for h in (10, 9, 10, 9)],
            "queue": ["b", "a", "a", "b"],
            "offered": [5, 10, 12, 4],
            "answered": [5, 8, 9, 4],
            "abandoned": [0, 2, 3, 0],
            "wait_total_s": [50.0, 300.0, None, 20.0],
        }
    )
    # Queue a: the interval without waits is left out, 300 s / 2 abandons = 150 s.
    # Queue b: no abandon, so no estimate (Erlang C).
    assert patience_by_queue(acd) == {"a": 150.0, "b": None}
    assert patience_by_queue(acd.drop("wait_total_s")) == {"a": None, "b": None}


# ---------------------------------------------------------------- calibration


def test_isotonic_calibration_by_hand():
    # Model SL 0.9, 0.6, 0.8, 0.7 (unsorted) delivered 0.7, 0.6, 0.75, 0.5 on 20, 10, 20, 30
    # calls. Sorted by the model: 0.6, 0.5, 0.75, 0.7 fall twice, so the pool-adjacent
    # violators pool (0.6 x 10 + 0.5 x 30) / 40 = 0.525 and (0.75 + 0.7) / 2 = 0.725.
    # Slots: the first two intervals in slot 600 (Monday 10:00), the others in slot 630.
    curve = fit_curve(
        np.array([0.9, 0.6, 0.8, 0.7]),
        np.array([0.7, 0.6, 0.75, 0.5]),
        np.array([20.0, 10.0, 20.0, 30.0]),
        np.array([630, 600, 630, 600]),
    )
    unseen = np.array(999)  # a slot the history never had: the map alone
    assert curve.mean(np.array([0.5, 0.6, 0.7, 0.75, 0.8, 1.0]), unseen) == pytest.approx(
        [0.525, 0.525, 0.525, 0.625, 0.725, 0.725]
    )
    # Slot effects: residuals summed over (2 intervals + 4): 600 has 0.6 - 0.525 and
    # 0.5 - 0.525, so (0.075 - 0.025) / 6; 630 has 0.7 - 0.725 and 0.75 - 0.725, so 0.
    assert curve.effect(np.array([600, 630, 999])) == pytest.approx([0.05 / 6, 0, 0])
    assert curve.mean(np.array([0.75]), np.array([600])) == pytest.approx([0.625 + 0.05 / 6])
    # The goal 0.7 is first reached between (0.7, 0.525) and (0.8, 0.725):
    # 0.7 + (0.7 - 0.525) / 0.2 x 0.1 = 0.7875; slot 600 needs 0.7 - 0.05 / 6 of the map.
    # The centre never delivered 0.8.
    levels = curve.goal_level(0.7, np.array([999, 600]))
    assert levels == pytest.approx([0.7875, 0.7 + (0.7 - 0.05 / 6 - 0.525) / 0.2 * 0.1])
    assert np.isnan(curve.goal_level(0.8, np.array([999]))).all()
    # Squared residuals (at most 0.0045) are below the binomial m(1 - m)/c (at least
    # 0.0083): no overdispersion, rho = 0.
    assert curve.rho == 0.0
    # So 10 calls at a mean of 0.9 breach 80 % when at most 7 are in target:
    # 1 - C(10,8) 0.9^8 0.1^2 - 10 x 0.9^9 x 0.1 - 0.9^10 = 1 - 0.1937 - 0.3874 - 0.3487.
    p = curve.breach(np.array([0.9, 0.9, 0.9]), np.array([10.0, 0.0, 10.4]), 0.8)
    assert p == pytest.approx([0.0702, 0.0, 0.0702], abs=5e-5)  # no calls: no breach


def test_overdispersion_widens_the_breach_probability():
    # Delivered 0.6 and 1.0 alternately at a model SL of 0.8: the mean is 0.8, the spread
    # far above binomial, so rho > 0 and a sure-looking interval keeps a real breach risk.
    x = np.full(200, 0.8)
    y = np.tile([0.6, 1.0], 100)
    curve = fit_curve(x, y, np.full(200, 20.0), np.full(200, 600))  # residuals sum to 0
    # rho = sum((y - m)^2 - m(1 - m)/c) / sum(m(1 - m)(c - 1)/c) = (0.04 - 0.008) / 0.152
    assert curve.rho == pytest.approx((0.04 - 0.16 / 20) / (0.16 * 19 / 20))
    wide = curve.breach(np.array([0.8]), np.array([20.0]), 0.8)[0]
    from scipy.stats import binom

    assert wide > binom.cdf(15, 20, 0.8) - 0.05  # P(at most 15 of 20 in target)
    assert 0.3 < wide < 0.7


BLOCK = 6  # slots per shift
SLOTS = 24  # half hours, 08:00-20:00
BREAKS = 0.2  # share of agents who answer one call, then go on a break for the half hour


def _centre(seed: int, weeks: int = 4) -> tuple[pl.DataFrame, np.ndarray]:
    """Half-hour ACD reports of a simulated centre, exported the way real ones are, and its
    mean calls per weekday and slot (the forecast's truth).

    Truth: Poisson callers (a two-peak day x weekday x a day's swing of sd 8 %), talk time
    exponential with mean 180 s plus 30 s of wrap-up, exponential patience of mean 150 s,
    FCFS. Staffing: 3-hour shifts sized by Erlang C for the shift's mean load with the talk
    time only (the planner's mistake), less 0-2 agents, and an absent agent one day in
    seven. The export: AHT = talk only, agents = distinct agents who answered, abandons
    and ``wait_total_s``. Erlang C on such a report overstates the service level.
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, SLOTS)
    day = 0.4 + np.exp(-(((x - 0.25) / 0.12) ** 2)) + 0.8 * np.exp(-(((x - 0.7) / 0.15) ** 2))
    weekday = np.array([1.1, 1.0, 1.0, 1.0, 0.95, 0.5, 0.4])
    mean_calls = 60 * day[None, :] / day.max() * weekday[:, None]
    shift = mean_calls.reshape(7, -1, BLOCK).mean(axis=2).repeat(BLOCK, axis=1)
    roster = agents_needed(shift.ravel() * 180 / 1800, 180.0, 20, 0.8).reshape(7, SLOTS)
    roster = np.maximum(roster - rng.integers(0, 3, roster.shape), 1)
    start = dt.datetime(2024, 1, 1, 8)  # a Monday
    rows = []
    for d in range(weeks * 7):
        swing, absent = rng.gamma(150, 1 / 150), int(rng.random() < 1 / 7)
        for s in range(SLOTS):
            agents = max(int(roster[d % 7, s]) - absent, 1)
            report = _interval(rng, mean_calls[d % 7, s] * swing / 1800, agents)
            rows.append({"interval_start": start + dt.timedelta(days=d, minutes=30 * s), **report})
    return pl.DataFrame(rows).with_columns(pl.lit("phone").alias("queue")), mean_calls


def _interval(rng: np.random.Generator, lam: float, agents: int) -> dict[str, float]:
    """One half hour after 15 minutes of warm-up at the same load (as in ``_simulated_sl``,
    with 30 s of wrap-up after each call and the export's columns)."""
    arrive = np.sort(rng.uniform(-900, 1800, rng.poisson(lam * 2700)))
    limits, talk = rng.exponential(150, arrive.size), rng.exponential(180, arrive.size)
    free = [(-900.0, i) for i in range(agents)]
    away = set(np.flatnonzero(rng.random(agents) < BREAKS).tolist())
    offered = answered = in_target = 0
    wait_total = talk_total = 0.0
    who: set[int] = set()
    for t, limit, s in zip(arrive.tolist(), limits.tolist(), talk.tolist(), strict=True):
        at, agent = free[0]
        wait = max(at - t, 0.0)
        if wait <= limit:
            done = t + wait + s + 30
            # An agent due for a break takes it after their first call of the half hour.
            heapq.heapreplace(free, (math.inf if t >= 0 and agent in away else done, agent))
        if t < 0:
            continue
        offered += 1
        wait_total += min(wait, limit)
        if wait <= limit:
            answered += 1
            in_target += wait <= 20
            talk_total += s
            who.add(agent)
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": offered - answered,
        "answered_in_target": in_target,
        "aht_s": talk_total / answered if answered else None,
        "wait_total_s": wait_total,
        "agents": float(len(who)),
    }


@pytest.fixture(scope="module")
def centre() -> tuple[pl.DataFrame, np.ndarray]:
    return _centre(seed=1)


def _scores(week: pl.DataFrame, forecast: pl.DataFrame, goal: float = 0.8) -> dict[str, float]:
    joined = week.filter(pl.col("offered") > 0).join(
        forecast.rename({"time": "interval_start"}), on=["queue", "interval_start"]
    )
    real = (joined["answered_in_target"] / joined["offered"]).to_numpy()
    hit = real < goal
    p = joined["p_breach"].to_numpy()
    return {
        "brier": float(np.mean((p - hit) ** 2)),
        "recall": float(((p >= 0.5) & hit).sum() / hit.sum()),
        "bias": float(joined["predicted_sl"].mean() - real.mean()),  # type: ignore[operator]
    }


def test_calibrated_forecast_meets_the_goals_on_a_simulated_centre(centre):
    acd, mean_calls = centre
    cut = dt.datetime(2024, 1, 22)  # three weeks of history, the fourth to forecast
    history = acd.filter(pl.col("interval_start") < cut).sample(fraction=1.0, seed=1)  # unsorted
    week = acd.filter(pl.col("interval_start") >= cut)
    cal = calibrate(history, 1800, 20, 0.8)
    assert cal.status == "per_queue" and cal.sources == {"phone": "queue"}
    assert cal.patience("phone") == pytest.approx(150, rel=0.15)  # the simulated patience
    # The forecast knows the truth's mean calls; its sd is the day's swing (8 %).
    times = week["interval_start"]
    mean = mean_calls[times.dt.weekday().to_numpy() - 1, np.arange(times.len()) % SLOTS]
    forecast = pl.DataFrame({"queue": "phone", "time": times, "mean": mean, "sd": 0.08 * mean})
    plan = weekly_plan(history)
    good = _scores(week, breach_forecast(forecast, plan, 1800, 20, 0.8, cal))
    # The same Erlang A forecast taken at its word: the calibration's maps left out.
    erlang = _scores(week, breach_forecast(forecast, plan, 1800, 20, 0.8, replace(cal, curves={})))
    breached = (pl.col("answered_in_target") / pl.col("offered") < 0.8).mean()
    hits = week.filter(pl.col("offered") > 0).select(breached).item()
    share = history.filter(pl.col("offered") > 0).select(breached).item()
    constant = share**2 * (1 - hits) + (1 - share) ** 2 * hits  # the constant's Brier
    # The goals of issue 15: Brier below the constant's, recall >= 0.8, mean SL within 0.05
    # (met on 8 of 8 seeds tried but for the mean SL, off by 0.051 and 0.058 on two).
    assert good["brier"] < constant
    assert good["recall"] >= 0.8
    assert abs(good["bias"]) <= 0.05
    # Uncalibrated, the model repeats the issue: worse than the constant, most breaches
    # missed, a service level promised well above the delivered one.
    assert erlang["brier"] > constant
    assert erlang["recall"] < 0.8
    assert erlang["bias"] > 0.1
    # The history's own scores say the same: the model out by more than 0.1, the
    # calibration within 0.05 out of sample, and the map the same however the rows come.
    assert cal.model.bias > 0.1  # type: ignore[operator]
    assert abs(cal.calibrated.bias) < 0.05  # type: ignore[arg-type]
    assert cal.calibrated.brier < cal.calibrated.constant_brier  # type: ignore[operator]
    again = calibrate(history.sort("interval_start"), 1800, 20, 0.8)
    assert again.to_dict() == cal.to_dict()


def test_reliability_bins_count_every_scored_interval(centre):
    acd, _ = centre
    cal = calibrate(acd, 1800, 20, 0.8)
    bins = cal.reliability()
    assert bins["intervals"].sum() == cal.calibrated.intervals
    assert bins["bin"].is_sorted() and bins["bin"].is_between(0, 9).all()
    # Calibrated: the likeliest bins breach far more often than the least likely ones.
    assert bins["observed"][-1] > 0.7 > 0.3 > bins["observed"][0]


def test_short_history_is_uncalibrated_and_small_queues_share_the_pooled_map(centre):
    acd, _ = centre
    short = acd.filter(pl.col("interval_start") < dt.datetime(2024, 1, 4))  # 3 days, 72 rows
    assert short.height < MIN_INTERVALS
    cal = calibrate(short, 1800, 20, 0.8)
    assert cal.status == "uncalibrated" and not cal.curves
    assert cal.calibrated.intervals == 0 and cal.calibrated.brier is None
    assert cal.model.intervals == short.filter(pl.col("offered") > 0).height
    forecast = pl.DataFrame(
        {"queue": "phone", "time": [dt.datetime(2024, 1, 8, 10)], "mean": [40.0], "sd": [5.0]}
    )
    out = breach_forecast(forecast, weekly_plan(short), 1800, 20, 0.8, cal)
    assert out["calibrated"].to_list() == [False] and out["model"].to_list() == ["erlang_a"]
    assert out["predicted_sl"][0] == out["erlang_sl"][0]  # the model taken at its word
    # One queue long enough for its own map, another too short: it borrows the pooled one.
    small = acd.head(MIN_QUEUE_INTERVALS // 3).with_columns(pl.lit("vip").alias("queue"))
    both = calibrate(pl.concat([acd, small]), 1800, 20, 0.8)
    assert both.sources == {"phone": "queue", "vip": "pooled"}
    assert both.curve("vip") is not both.curve("phone")


def test_cli_lists_every_future_interval_and_the_calibration(centre, tmp_path, capsys):
    import json

    from analytics.cli import main

    acd, _ = centre
    acd.sample(fraction=1.0, seed=2).write_csv(tmp_path / "acd_intervals.csv")  # unsorted
    argv = ["forecast", str(tmp_path), "--as-of", "2024-01-21", "--horizon", "7", "--json"]
    assert main([*argv, "--top", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    points = out["breach_points"]
    assert len(points) == 7 * SLOTS  # every half hour of the week after the 21st
    assert min(p["time"] for p in points) == "2024-01-22 08:00:00"
    assert all(p["calibrated"] and p["model"] == "erlang_a" for p in points)
    cal = out["calibration"]
    # Fitted on the three weeks up to --as-of only: 504 half hours, scored out of sample on
    # the last two weeks (each fitted on the weeks before it).
    history = acd.filter(pl.col("interval_start") < dt.datetime(2024, 1, 22))
    assert cal["uncalibrated_model"]["intervals"] == history.filter(pl.col("offered") > 0).height
    assert (cal["status"], cal["weeks"], cal["intervals"]) == ("per_queue", 3, 2 * 7 * SLOTS)
    assert cal["brier"] < cal["constant_brier"] and abs(cal["bias"]) < 0.05
    assert {"mae", "bias", "brier", "constant_brier", "intervals"} <= set(cal)
    assert main(argv) == 0  # the default: the ten likeliest, all likelier than not
    likeliest = json.loads(capsys.readouterr().out)["breach_points"]
    assert len(likeliest) == 10 and min(p["p_breach"] for p in likeliest) >= 0.5
    assert main(argv[:-1]) == 0
    assert "SLA calibration: per_queue, out of sample on 336 intervals" in capsys.readouterr().out


@given(
    st.lists(
        st.tuples(
            st.integers(-3, 260),
            st.integers(1, 250),
            st.floats(0.05, 400.0),
            st.floats(0.05, 400.0),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_the_beta_binomial_cdf_is_scipys(rows):
    """The vectorised cdf against scipy's own on the same (k, n, a, b), k outside the
    support included (below 0: 0; at or above n: 1)."""
    from scipy.stats import betabinom

    from analytics.calibration import betabinom_cdf

    k, n, a, b = (np.array(c) for c in zip(*rows, strict=True))
    np.testing.assert_allclose(
        betabinom_cdf(k, n, a, b), betabinom.cdf(k, n, a, b), rtol=1e-9, atol=1e-12
    )
