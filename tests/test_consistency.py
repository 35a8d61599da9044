"""One figure everywhere, the same every time: the shared definitions by hand, the same
numbers whatever the row order, and every page showing the same figure alike."""

from __future__ import annotations

import pytest

from analytics.churn import loud_customers, ltv_churn_rate
from analytics.io import load_sources, read_uploads
from analytics.measures import active_customers, customer_base, revenue_at_risk

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


def test_the_silent_are_those_who_never_complained_nor_answered():
    dataset = _dataset()
    assert loud_customers(dataset.events, dataset.surveys)["customer_id"].to_list() == ["f", "h"]


def test_revenue_at_risk_is_unknown_without_an_ltv():
    import polars as pl

    scored = pl.DataFrame({"revenue_at_risk": [float("nan"), float("nan")]})
    assert revenue_at_risk(scored) is None
    assert revenue_at_risk(pl.DataFrame({"revenue_at_risk": [0.1, 0.2, 0.3]})) == 0.6
