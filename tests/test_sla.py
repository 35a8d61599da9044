"""Service level: Erlang C against published examples and identities, realized SL, breaches."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.sla import (
    agents_needed,
    breach_forecast,
    breach_points,
    calls_at_goal,
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
