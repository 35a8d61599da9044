"""The Cost page's figures (analytics/cost_summary.py) on a hand-worked set of cases."""

from __future__ import annotations

import datetime as dt

import polars as pl

from analytics.cost import TAGS, customer_costs
from analytics.cost_summary import case_events, case_list, drill, summarize, top_share

D = dt.datetime(2025, 3, 1)


def _cases() -> pl.DataFrame:
    """Five cases in no particular order. Standard (untagged) means: billing (100 + 200) / 2
    = 150, delivery 500; excess: K3 300 - 150 = 150, K5 900 - 500 = 400."""
    rows = [
        ("K3", "C2", "billing", 300.0, {"channel_hopping"}),
        ("K1", "C1", "billing", 100.0, set()),
        ("K5", "C3", "delivery", 900.0, {"repeat_return", "non_standard"}),
        ("K2", "C1", "billing", 200.0, set()),
        ("K4", "C2", "delivery", 500.0, set()),
    ]
    return pl.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "scenario": [r[2] for r in rows],
            "start": [D + dt.timedelta(days=i) for i in range(len(rows))],
            "cost": [r[3] for r in rows],
            "contacts": [2, 1, 6, 1, 3],
            "channels": [2, 1, 3, 1, 1],
            "manual_steps": [0, 0, 2, 0, 0],
            **{g: [g in r[4] for r in rows] for g in TAGS},
        }
    )


def test_headline_figures_by_hand():
    cases = _cases()
    people = customer_costs(cases, None, 1.0)  # C1 300, C2 800, C3 900
    s = summarize(cases, people)
    assert (s.total, s.cases) == (2000.0, 5)
    # costs 100, 200, 300, 500, 900: nearest ranks 0.1 x 4 -> 0, 0.9 x 4 -> 4, 0.99 x 4 -> 4
    assert (s.case_p10, s.case_median, s.case_p90, s.case_p99) == (100.0, 300.0, 900.0, 900.0)
    assert (s.customer_median, s.customer_p90, s.customer_max) == (800.0, 900.0, 900.0)
    assert s.top_share == 900 / 2000  # ceil(0.2 x 3) = 1 customer: C3
    assert s.excess == 150.0 + 400.0


def test_top_share_takes_the_ceiling_and_is_zero_without_cost():
    people = pl.DataFrame({"customer_id": [f"C{i}" for i in range(6)], "cost": [5.0] * 5 + [75.0]})
    assert top_share(people) == (75 + 5) / 100  # ceil(0.2 x 6) = 2 customers
    assert top_share(people.with_columns(pl.lit(0.0).alias("cost"))) == 0.0


def test_drill_down_and_the_case_list_name_the_behaviours():
    cases = _cases()
    assert drill(cases, "billing")["case_id"].to_list() == ["K3", "K2", "K1"]
    assert drill(cases, None, "non_standard")["case_id"].to_list() == ["K5"]
    tied = cases.with_columns(pl.lit(1.0).alias("cost"))  # ties: by case id
    assert drill(tied)["case_id"].to_list() == ["K1", "K2", "K3", "K4", "K5"]
    names = {"repeat_return": "repeat", "non_standard": "non-standard", "channel_hopping": "hop"}
    listed = case_list(drill(cases), names)
    assert listed["behaviours"].to_list() == ["repeat, non-standard", "", "hop", "", ""]
    assert listed.columns == [
        "case_id",
        "customer_id",
        "scenario",
        "start",
        "contacts",
        "channels",
        "cost",
        "behaviours",
    ]


def test_a_cases_events_in_time_then_export_order():
    events = pl.DataFrame(
        {
            "case_id": ["A", "B", "A", "A"],
            "timestamp": [D + dt.timedelta(minutes=m) for m in (5, 0, 0, 0)],
            "activity": ["resolved", "x", "request", "bot"],
            "row_nr": [3, 0, 1, 2],  # request and bot share a minute: the export's order
            "channel": ["phone", "chat", "phone", "bot"],
        }
    )
    steps = case_events(events, "A")
    assert steps["activity"].to_list() == ["request", "bot", "resolved"]
    assert steps.columns == ["timestamp", "activity", "channel"]  # only the columns present


def test_the_page_model_is_the_direct_calls_and_ignores_row_order(tmp_path):
    """``page`` gathers what the Cost page drew with separate calls; a shuffled export gives
    the same tables (every figure is order-independent). 1,500 customers over two months:
    enough cases for twin groups (at least 50 cases each)."""
    from dataclasses import replace

    from analytics.cost import cost_view, pareto, priciest, quantiles, tag_costs, twins
    from analytics.cost_summary import drill_list, page
    from analytics.io import load_path
    from analytics.sample import generate

    generate(customers=1500, months=2, seed=5).write(tmp_path)
    dataset = load_path(tmp_path)
    shown = page(dataset, None, ("resolved",))
    cases = cost_view(dataset, None, ("resolved",)).cases
    assert shown.view.cases.equals(cases)
    people = customer_costs(cases, dataset.customers, shown.months)
    assert shown.figures == summarize(cases, people)
    assert shown.pareto.equals(pareto(people))
    assert shown.boxes.equals(quantiles(cases, "cost", "scenario"))
    assert shown.tags.equals(tag_costs(cases).drop("mean_cost"))
    assert shown.priciest.equals(priciest(cases).head(15))
    assert shown.pairs is not None and shown.pairs.equals(twins(cases, dataset.customers))
    assert shown.pairs.height
    costs = shown.people["cost"].to_list()
    assert costs == sorted(costs, reverse=True)
    low, high = shown.pair_events or (None, None)
    pair = shown.pairs.row(0, named=True)
    assert low is not None and high is not None
    assert low.equals(case_events(dataset.events, pair["low_case"]))
    assert high.equals(case_events(dataset.events, pair["high_case"]))

    names = tuple((g, g.upper()) for g in TAGS)
    listed = drill_list(dataset, None, ("resolved",), "billing", "", names)
    assert listed.equals(case_list(drill(cases, "billing", None), dict(names)))

    shuffled = replace(dataset, events=dataset.events.sample(fraction=1.0, shuffle=True, seed=3))
    again = page(shuffled, None, ("resolved",))
    assert again.figures == shown.figures
    assert again.tags.equals(shown.tags) and again.people.equals(shown.people)
