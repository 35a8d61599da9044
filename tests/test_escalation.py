"""Escalation: rules parsing, state transitions, deduplication, budgets, precision."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from analytics.escalation import (
    Inputs,
    Rules,
    alert_id,
    alerts_frame,
    evaluate,
)
from tests.conftest import ALERT_KEYS

RULES = """
[budget]
alerts_per_owner_per_week = 2

[[rule]]
id = "at-risk"
signal = "customer_risk"
min_probability = 0.5
min_money = 100
severity = "high"
owner = "retention"
action = "call back"

[[rule]]
id = "zones"
signal = "tension_zone"
min_severity = 3
severity = "medium"
owner = "ops"
action = "look"
"""
T0 = dt.datetime(2026, 1, 1)


def _scored(ids: list[str], p: list[float], money: list[float]) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame(
        {
            "customer_id": ids,
            "p_churn": p,
            "revenue_at_risk": money,
            "ltv": [m / max(q, 1e-9) for m, q in zip(money, p, strict=True)],
            "segment": ["mass"] * n,
            "region": ["Kazan"] * n,
            "silent": [True] * n,
            "reasons": [["waits above the promise: 4"]] * n,
        }
    )


def test_rules_parse_and_mistakes_name_the_rule():
    rules = Rules.from_toml(RULES)
    assert [r.id for r in rules.rules] == ["at-risk", "zones"] and rules.budget == 2
    assert rules.rules[0].params == {"min_probability": 0.5, "min_money": 100}
    with pytest.raises(ValueError, match="rule 'x': unknown signal 'nope'"):
        Rules.from_toml('[[rule]]\nid="x"\nsignal="nope"\nseverity="low"\nowner="o"\naction="a"')
    with pytest.raises(ValueError, match="rule 'y' lacks owner, action"):
        Rules.from_toml('[[rule]]\nid="y"\nsignal="sla_breach"\nseverity="low"')
    assert len(Rules.default().rules) >= 5  # the documented default parses


def test_new_ongoing_resolved_and_stable_ids():
    rules = Rules.from_toml(RULES)
    first = evaluate(rules, Inputs(scored=_scored(["a", "b"], [0.9, 0.6], [500, 200])), {}, T0)
    assert [(a["zone"], a["status"]) for a in first.alerts] == [
        ("customer a", "new"),
        ("customer b", "new"),
    ]
    # A customer's problem is their churn risk, whatever their top reason this run.
    assert first.alerts[0]["id"] == alert_id("at-risk", "customer a", "churn risk")
    # Next week: a still at risk, b no longer, c new.
    later = T0 + dt.timedelta(days=7)
    second = evaluate(
        rules, Inputs(scored=_scored(["a", "c"], [0.9, 0.7], [500, 300])), first.state, later
    )
    status = {a["zone"]: a["status"] for a in second.alerts}
    assert status == {"customer a": "ongoing", "customer c": "new", "customer b": "resolved"}
    ongoing = next(a for a in second.alerts if a["zone"] == "customer a")
    assert ongoing["id"] == first.alerts[0]["id"]  # deduplicated, not repeated
    assert ongoing["first_seen"] == T0.isoformat() and ongoing["last_seen"] == later.isoformat()
    assert [a["zone"] for a in second.to_send] == ["customer c"]
    # b fires again after being resolved: it is new again.
    third = evaluate(
        rules,
        Inputs(scored=_scored(["b"], [0.9], [900])),
        second.state,
        later + dt.timedelta(days=7),
    )
    assert {a["zone"]: a["status"] for a in third.alerts}["customer b"] == "new"


def test_budget_groups_the_lowest_money_alerts():
    rules = Rules.from_toml(RULES)
    ids = ["a", "b", "c", "d", "e"]
    run = evaluate(rules, Inputs(scored=_scored(ids, [0.9] * 5, [500, 400, 300, 200, 150])), {}, T0)
    # The two richest go out, plus one digest summarising the three grouped ones.
    assert {a["zone"] for a in run.to_send} == {
        "customer a",
        "customer b",
        "3 more alerts for retention",
    }
    digest = next(a for a in run.alerts if a["rule"] == "digest")
    assert digest["zone"] == "3 more alerts for retention"
    assert digest["money_at_stake"] == 650
    assert sorted(a["zone"] for a in run.alerts if a["grouped"]) == [
        "customer c",
        "customer d",
        "customer e",
    ]
    assert len(run.to_send) == 3
    frame = alerts_frame(run.alerts)
    assert set(ALERT_KEYS) <= set(frame.columns)


def test_precision_of_customer_rules_is_replayed_on_validation():
    rules = Rules.from_toml(RULES)
    validation = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "p_churn": [0.9, 0.8, 0.6, 0.1],
            "revenue_at_risk": [900.0, 800.0, 600.0, 100.0],
            "churned": [True, False, True, True],
        }
    )
    run = evaluate(rules, Inputs(validation=validation), {}, T0)
    row = run.precision.filter(pl.col("rule") == "at-risk").row(0, named=True)
    assert row["alerts"] == 3 and row["precision"] == pytest.approx(2 / 3)


# Delivery and the state store: tests/test_webhook.py and tests/test_store.py.


def test_precision_of_other_rules_is_the_actioned_share():
    rules = Rules.from_toml(RULES)
    zones = pl.DataFrame(
        {
            "slice": ["region", "region"],
            "value": ["Kazan", "Omsk"],
            "indicator": ["csat", "csat"],
            "zone": [True, True],
            "severity": [5.0, 4.0],
            "baseline": [4.5, 4.5],
            "recent": [3.9, 4.0],
            "started": [None, None],
            "p_value": [0.001, 0.002],
            "sen_slope": [-0.01, -0.01],
            "customers": [10, 20],
            "revenue_exposed": [1000.0, 2000.0],
            "week": [[], []],
            "x": [[], []],
            "ewma": [[], []],
            "upper": [[], []],
            "lower": [[], []],
        }
    )
    first = evaluate(rules, Inputs(zones=zones), {}, T0)
    assert [a["reason"] for a in first.alerts] == ["CSAT falling", "CSAT falling"]
    assert first.precision.filter(pl.col("rule") == "zones")["precision"][0] is None
    acted = {**first.state, "actioned": [first.alerts[0]["id"]]}
    second = evaluate(rules, Inputs(zones=zones), acted, T0 + dt.timedelta(days=7))
    row = second.precision.filter(pl.col("rule") == "zones").row(0, named=True)
    assert row["precision"] == 0.5 and row["basis"] == "marked actioned in the state file"
