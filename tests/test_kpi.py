import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.churn import monthly_churn
from analytics.io import load_sources, read_uploads
from analytics.kpi import classic_metrics, nps


def test_nps_and_its_standard_error_by_hand():
    # 5 promoters, 3 passives, 2 detractors of 10: NPS = 100 x (0.5 - 0.2) = 30.
    result = nps(pl.Series([10, 9, 9, 10, 9, 8, 7, 7, 3, 6]))
    assert result.score == pytest.approx(30.0)
    # SE = 100 x sqrt((0.5 + 0.2 - 0.3^2) / 10) = 100 x sqrt(0.061)
    assert result.se == pytest.approx(100 * math.sqrt(0.061))


@given(st.lists(st.integers(0, 10), min_size=1, max_size=200))
def test_nps_is_bounded(scores):
    result = nps(pl.Series(scores))
    assert -100 <= result.score <= 100
    assert result.se >= 0


CUSTOMERS = pl.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e"],
        "segment": ["x", "x", "y", "y", "y"],
        "signup_date": [
            dt.date(2023, 1, 1),
            dt.date(2023, 1, 1),
            dt.date(2024, 1, 15),
            dt.date(2023, 6, 1),
            None,
        ],
        "monthly_revenue": [100.0, 200.0, 300.0, 400.0, 500.0],
        "churn_date": [dt.date(2024, 1, 20), None, dt.date(2024, 2, 3), dt.date(2024, 2, 29), None],
    }
)


def test_monthly_churn_by_hand():
    table = monthly_churn(CUSTOMERS, dt.date(2024, 1, 1), dt.date(2024, 2, 29))
    # January: a, b, d, e active at start (c joins mid-month); a leaves -> 1/4.
    # February: b, c, d, e active; c and d leave -> 2/4.
    assert table["month"].to_list() == [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]
    assert table["active_at_start"].to_list() == [4, 4]
    assert table["churned"].to_list() == [1, 2]
    assert table["churn_rate"].to_list() == [0.25, 0.5]
    assert table["revenue_lost"].to_list() == [100.0, 700.0]
    # Wilson interval for 1/4 at 95 %: (0.0456, 0.6994) from the closed form.
    assert table["low"][0] == pytest.approx(0.04558, abs=1e-4)
    assert table["high"][0] == pytest.approx(0.69936, abs=1e-4)


def test_monthly_churn_by_segment_and_partial_months():
    table = monthly_churn(CUSTOMERS, dt.date(2024, 1, 10), dt.date(2024, 3, 15), by="segment")
    # Only February is a full month inside 10 Jan .. 15 Mar.
    assert set(table["month"].to_list()) == {dt.date(2024, 2, 1)}
    rows = {r["segment"]: (r["active_at_start"], r["churned"]) for r in table.iter_rows(named=True)}
    assert rows == {"x": (1, 0), "y": (3, 2)}


def test_classic_metrics_from_hand_made_tables():
    events = (
        "case_id,customer_id,timestamp,activity,channel,handle_s\n"
        "K1,a,2024-01-03 10:00,request,phone,100\n"
        "K1,a,2024-01-03 10:05,approval,internal,900\n"
        "K2,b,2024-01-04 10:00,request,chat,300\n"
        "K2,b,2024-01-04 10:05,reply,chat,\n"
    )
    acd = "interval_start,offered,answered,answered_in_target,aht_s\n2024-01-03 10:00,10,9,8,120\n2024-01-03 10:30,10,10,9,240\n"
    surveys = "customer_id,date,nps,csat\na,2024-01-05,10,5\nb,2024-01-06,3,2\n"
    dataset = load_sources(
        read_uploads(
            [
                ("events.csv", events.encode()),
                ("acd.csv", acd.encode()),
                ("surveys.csv", surveys.encode()),
            ]
        )
    )
    m = classic_metrics(dataset)
    assert m.sla == pytest.approx(17 / 20)
    assert m.aht_s == pytest.approx((9 * 120 + 10 * 240) / 19)
    assert m.csat == pytest.approx(3.5)
    assert m.nps.score == pytest.approx(0.0)
    assert (m.cases, m.contacts, m.contacts_per_case) == (2, 3, 1.5)
    assert m.churn_last is None  # no customers table
