"""One figure everywhere, the same every time: the shared definitions by hand, the same
numbers whatever the row order, and every page showing the same figure alike."""

from __future__ import annotations

import pytest

from analytics.churn import loud_customers, ltv_churn_rate
from analytics.io import load_sources, read_uploads
from analytics.measures import active_customers, customer_base, revenue_at_risk
from dashboard.nav import URLS

# Ten customers over four full months (events from 1 Jan to 30 Apr 2024).
# Jan: a leaves, 1 of 10; Feb: b leaves, 1 of 9; Mar: c, d leave, 2 of 8; Apr: none of 6.
# k joins on 15 Apr (active today, not in April's base); j has no revenue.
CUSTOMERS = """customer_id,signup_date,monthly_revenue,churn_date
a,2023-01-01,100,2024-01-10
b,2023-01-01,100,2024-02-10
c,2023-01-01,100,2024-03-05
d,2023-01-01,100,2024-03-25
e,2023-01-01,1000,
f,2023-01-01,2000,
g,2023-01-01,3000,
h,2023-01-01,4000,
i,2023-01-01,5000,
j,2023-01-01,,
k,2024-04-15,600,
"""
EVENTS = """case_id,customer_id,timestamp,activity,channel
K1,e,2024-01-01 09:00,request,phone
K2,f,2024-02-01 09:00,complaint,email
K3,g,2024-04-30 18:00,request,chat
"""
SURVEYS = "customer_id,date,nps\nh,2024-03-01,9\n"


def _dataset(customers: str = CUSTOMERS, events: str = EVENTS, surveys: str = SURVEYS):
    files = [("events.csv", events.encode()), ("customers.csv", customers.encode())]
    if surveys:
        files.append(("surveys.csv", surveys.encode()))
    return load_sources(read_uploads(files))


def test_ltv_churn_is_the_mean_of_the_last_three_full_months():
    # Feb 1/9, Mar 2/8, Apr 0/6 (January is older than the last three).
    assert ltv_churn_rate(_dataset()) == pytest.approx((1 / 9 + 2 / 8 + 0) / 3)


def test_active_customers_and_the_ltv_by_hand():
    dataset = _dataset()
    active = active_customers(dataset)
    # Today (30 April) e..k are active: k joined in April, j without a known revenue.
    assert active["customer_id"].to_list() == ["e", "f", "g", "h", "i", "j", "k"]
    base = customer_base(dataset)
    assert (base.customers, base.with_revenue) == (7, 6)
    assert base.arpu == pytest.approx(15_600 / 6)
    assert base.ltv == pytest.approx(15_600 / 6 / ((1 / 9 + 2 / 8) / 3))


def test_economics_starts_from_the_same_base_and_ltv():
    from analytics.economics import inputs_from_data

    data = inputs_from_data(_dataset())
    # Today's 7 customers, not the 6 active at the start of April; the LTV divides by the
    # last three months' churn, while the baseline churn is the first three months' mean.
    assert (data.customers, data.month_active) == (7, 6)
    assert data.ltv == pytest.approx(15_600 / 6 / ((1 / 9 + 2 / 8 + 0) / 3))
    assert data.churn_from == pytest.approx((1 / 10 + 1 / 9 + 2 / 8) / 3)
    assert data.churn_to == 0


def test_the_silent_are_those_who_never_complained_nor_answered():
    dataset = _dataset()
    assert loud_customers(dataset.events, dataset.surveys)["customer_id"].to_list() == ["f", "h"]


def test_revenue_at_risk_is_unknown_without_an_ltv():
    import polars as pl

    scored = pl.DataFrame({"revenue_at_risk": [float("nan"), float("nan")]})
    assert revenue_at_risk(scored) is None
    assert revenue_at_risk(pl.DataFrame({"revenue_at_risk": [0.1, 0.2, 0.3]})) == 0.6


# ---------------------------------------------------------------- the same every time


def _shuffled(dataset, seed: int):
    """The same data with every table's rows in another order (as another export would
    write them; ``row_nr`` still orders same-minute steps of a case)."""
    import dataclasses

    def shuffle(frame):
        return None if frame is None else frame.sample(fraction=1.0, shuffle=True, seed=seed)

    return dataclasses.replace(
        dataset,
        events=shuffle(dataset.events),
        customers=shuffle(dataset.customers),
        acd=shuffle(dataset.acd),
        surveys=shuffle(dataset.surveys),
    )


def _with_kopecks(dataset):
    """Revenue in kopecks and handling times in milliseconds, as real exports have them:
    whole numbers add up the same in any order, these do not (a plain float sum of 5,000
    such values changes in the last bits with the order about every other time)."""
    import dataclasses

    import polars as pl

    return dataclasses.replace(
        dataset,
        events=dataset.events.with_columns(pl.col("handle_s") + 0.137),
        customers=dataset.customers.with_columns(pl.col("monthly_revenue") * 1.0137 + 0.01),
    )


def test_the_shared_figures_do_not_depend_on_row_order(small_dir):
    from polars.testing import assert_frame_equal

    from analytics.economics import inputs_from_data
    from analytics.io import load_path
    from analytics.kpi import classic_metrics, monthly_story

    dataset = _with_kopecks(load_path(small_dir))
    runs = [
        dataset,
        _with_kopecks(load_path(small_dir)),
        _shuffled(dataset, 1),
        _shuffled(dataset, 2),
    ]
    # Bit for bit: == on floats, not approx.
    assert len({classic_metrics(d) for d in runs}) == 1
    assert len({customer_base(d) for d in runs}) == 1
    for other in runs[1:]:
        assert_frame_equal(monthly_story(other), monthly_story(dataset), check_exact=True)
    inputs = [inputs_from_data(d) for d in runs]
    scalars = ("customers", "arpu", "ltv_churn", "ltv", "month_active", "churn_from", "churn_to")
    for name in (*scalars, "churn_to_low", "churn_to_high", "silent_share", "churned"):
        assert len({getattr(i, name) for i in inputs}) == 1, name
    for other in inputs[1:]:
        assert_frame_equal(other.monthly, inputs[0].monthly, check_exact=True)
        assert_frame_equal(other.by_segment, inputs[0].by_segment, check_exact=True)


RULES = """
[budget]
alerts_per_owner_per_week = 3

[[rule]]
id = "at-risk"
signal = "customer_risk"
min_probability = 0.5
max_alerts = 4
severity = "high"
owner = "retention"
action = "call back"

[[rule]]
id = "cost"
signal = "cost_anomaly"
min_money = 1000
severity = "medium"
owner = "ops"
action = "look"
"""


def _signals(seed: int | None = None, reasons: tuple[str, str] = ("waits", "repeats")):
    """Customers with ties in revenue at risk (who makes the cut of 4 must not depend on
    the order) and cost anomalies, rows shuffled when ``seed`` is given."""
    import polars as pl

    from analytics.escalation import Inputs

    n = 8
    scored = pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "p_churn": [0.9, 0.8, 0.8, 0.8, 0.7, 0.7, 0.6, 0.2],
            "revenue_at_risk": [900.0, 500.0, 500.0, 500.0, 500.0, 400.5, 300.25, 50.0],
            "ltv": [1000.0] * n,
            "segment": ["mass"] * n,
            "region": ["Kazan"] * n,
            "silent": [True] * n,
            "reasons": [[reasons[i % 2]] for i in range(n)],
        }
    )
    pairs = pl.DataFrame(
        {
            "scenario": ["billing", "delivery", "billing", "onboarding"],
            "tag": ["bot_loop", "ping_pong", "manual", "manual"],
            "excess_cost": [5000.0, 5000.0, 1200.5, 900.0],
            "cases": [10, 20, 3, 4],
            "extra_per_case": [500.0, 250.0, 400.17, 225.0],
        }
    )
    if seed is not None:
        scored = scored.sample(fraction=1.0, shuffle=True, seed=seed)
        pairs = pairs.sample(fraction=1.0, shuffle=True, seed=seed)
    return Inputs(scored=scored, cost_pairs=pairs)


def test_alerts_are_the_same_in_any_row_order():
    import datetime as dt

    from analytics.escalation import Rules, evaluate

    rules, now = Rules.from_toml(RULES), dt.datetime(2026, 1, 5, 9)
    first = evaluate(rules, _signals(), {}, now)
    # c1..c4 tie at 500: the cut of four takes c0 and the first three by customer id.
    customers = {a["zone"] for a in first.alerts if a["rule"] == "at-risk"}
    assert customers == {"customer c0", "customer c1", "customer c2", "customer c3"}
    for seed in (1, 2, 3):
        again = evaluate(rules, _signals(seed), {}, now)
        assert again.alerts == first.alerts  # ids, statuses, order and money, exactly
        assert again.state == first.state
        assert list(again.state["alerts"]) == sorted(again.state["alerts"])


def test_identical_data_with_the_saved_state_flips_nothing():
    import datetime as dt

    from analytics.escalation import Rules, evaluate, to_act_on

    rules, now = Rules.from_toml(RULES), dt.datetime(2026, 1, 5, 9)
    first = evaluate(rules, _signals(), {}, now)
    # The next run on the same data, rows in another order, each customer's top reason
    # changed: the same problems, so the same ids, all ongoing, none resolved or new.
    second = evaluate(
        rules, _signals(7, reasons=("repeats", "waits")), first.state, now + dt.timedelta(days=1)
    )
    third = evaluate(rules, _signals(), second.state, now + dt.timedelta(days=2))
    for run in (second, third):
        assert {a["id"] for a in run.alerts} == {a["id"] for a in first.alerts}
        assert {a["status"] for a in run.alerts} == {"ongoing"}
        assert run.to_send == []
    # Alerts to act on: of the 4 customer alerts the budget of 3 sends c0, c1, c2 (c3 is
    # grouped into a digest, which is not counted); the 3 cost anomalies above 1,000 all
    # fit their owner's budget: 3 + 3 = 6, whatever the state.
    assert [len(to_act_on(r.alerts)) for r in (first, second, third)] == [6, 6, 6]
    assert first.to_act_on == to_act_on(first.alerts)


# ---------------------------------------------------------------- one figure everywhere

APP = "../dashboard/app.py"  # AppTest resolves paths relative to this file
# The pages that show the shared figures (not the workshop's story or the tension zones).
PAGES = tuple(u for u in URLS if u not in ("workshop", "tension"))


def _metric(at, label: str):
    return next(m for m in at.metric if m.label == label)


def test_every_page_shows_the_same_figures(small_dir, monkeypatch, capsys):
    import re

    from streamlit.testing.v1 import AppTest

    from analytics.cli import main
    from analytics.io import load_path
    from analytics.risk import train

    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    at = AppTest.from_file(APP, default_timeout=180)
    shown = {}
    for page in PAGES:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, page
        shown[page] = at
        if page == "overview":
            active = _metric(at, "Active customers").value
            overview_risk = _metric(at, "Revenue at risk, next 60 days").value
            overview_alerts = _metric(at, "Alerts to act on").value
        elif page == "risk":
            risk_total = _metric(at, "Revenue at risk")
            by_slice = next(d.value for d in at.dataframe if "expected_leavers" in d.value.columns)
        elif page == "escalations":
            escalation_alerts = _metric(at, "Alerts to act on").value
        elif page == "economics":
            customers = at.number_input(key="eco_customers")
            ltv = at.number_input(key="eco_ltv")
            assert not at.info  # measured, not the example
            assert any("prefilled from the data" in c.value for c in at.caption)
    dataset = load_path(small_dir)
    base = customer_base(dataset)
    model = train(dataset)
    # Active customers: Overview, Economics' base and the customers the Risk page scores.
    assert active == f"{base.customers:,}"
    assert customers.value == base.customers == by_slice["customers"].sum()
    assert model.scored.height == base.customers
    # LTV: one churn (the last three full months) on Risk and Economics, one value.
    churn = f"{100 * base.ltv_churn:.2f}%"
    assert churn in risk_total.proto.help
    assert churn in ltv.proto.help
    assert ltv.value == round(base.ltv)
    assert model.scored["ltv"].mean() == pytest.approx(base.ltv)
    # Revenue at risk: the Overview tile and the Risk page's total.
    assert overview_risk == risk_total.value
    # Alerts to act on: Overview, Escalations and the command line.
    assert overview_alerts == escalation_alerts
    out = small_dir.parent / "consistency_alerts.json"
    state = small_dir.parent / "consistency_state.json"
    assert main(["escalate", str(small_dir), "--out", str(out), "--state", str(state)]) == 0
    printed = re.search(r"(\d+) to act on", capsys.readouterr().out)
    assert printed and printed.group(1) == overview_alerts


def test_economics_without_customers_says_its_inputs_are_examples(small_dir, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    at = AppTest.from_file(APP, default_timeout=180)
    events = "case_id,customer_id,timestamp,activity\nA,x,2024-01-03 10:00,request\n"
    at.session_state["uploads"] = (("events.csv", events.encode()),)
    at.switch_page("app_pages/economics.py").run()
    measured = at.number_input(key="eco_customers").value
    assert measured != 40_000  # the sample company's own base first
    at.sidebar.radio(key="source").set_value("upload").run()
    assert not at.exception
    # The upload has no customers: the mission example, said so, and never "from the data",
    # nor the previous data's numbers left in the inputs.
    assert at.number_input(key="eco_customers").value == 40_000
    assert at.number_input(key="eco_ltv").value == 37_800
    assert "no customers table" in at.info[0].value
    assert "customer_id, signup_date, monthly_revenue, churn_date" in at.info[0].value
    assert not any("prefilled from the data" in c.value for c in at.caption)
    assert at.button[1].disabled  # "From data": nothing to take from


def test_the_stored_state_flips_nothing_either(tmp_path):
    import datetime as dt

    from analytics.escalation import Rules, record_run
    from analytics.store import Store

    rules, now = Rules.from_toml(RULES), dt.datetime(2026, 1, 5, 9)
    # Two scheduled runs on the same data through the state store, as the CLI runs them.
    with Store.open(tmp_path / "state.sqlite") as store:
        first = record_run(store, rules, _signals(), now)
    with Store.open(tmp_path / "state.sqlite") as store:
        second = record_run(store, rules, _signals(5), now + dt.timedelta(days=1))
    assert {a["status"] for a in first.alerts} == {"new"}
    assert {a["status"] for a in second.alerts} == {"ongoing"}
    assert [a["id"] for a in second.alerts] == [a["id"] for a in first.alerts]
