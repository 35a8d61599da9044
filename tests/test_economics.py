import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.churn import churn_by_nps, silent_churn_share
from analytics.economics import (
    MISSION as MISSION_INPUTS,
)
from analytics.economics import (
    ChurnScenario,
    DataInputs,
    Initiative,
    churn_change_from_nps,
    derived_ltv,
    evaluate,
    inputs_from_data,
    ltv,
    monthly_rate,
    nps_detectability,
    nps_minimum_detectable_change,
    retention,
    returns_curve,
    scenario_sheet,
    silent_churn_loss,
    starting_values,
    tornado,
)
from analytics.io import load_path

MISSION = ChurnScenario(customers=40_000, ltv=37_800, churn_from=0.03, churn_to=0.05)


def test_mission_example_exactly():
    loss = silent_churn_loss(MISSION)
    assert loss.extra_customers_per_month == pytest.approx(800)
    assert loss.revenue_lost_per_month == pytest.approx(30_240_000)
    assert loss.extra_customers_per_year == pytest.approx(9_600)
    assert loss.revenue_lost_per_year == pytest.approx(362_880_000)


def test_closed_cohort_by_hand():
    loss = silent_churn_loss(MISSION)
    # 40,000 x (0.97^12 - 0.95^12) = 40,000 x (0.693841 - 0.540360) = 6,139.2
    assert loss.cohort_extra_customers == pytest.approx(40_000 * (0.97**12 - 0.95**12))
    assert round(loss.cohort_extra_customers) == 6139
    assert loss.cohort_revenue_lost == pytest.approx(232.06e6, rel=1e-4)
    # month 1: 40,000 x (0.97 - 0.95) = 800; month 2: 40,000 x (0.9409 - 0.9025) = 1,536
    assert loss.projection["extra_customers_lost"].head(2).to_list() == pytest.approx([800, 1536])


def test_discounting_by_hand():
    loss = silent_churn_loss(ChurnScenario(1000, 100, 0.1, 0.2, months=2, monthly_discount=0.1))
    # extra gone: t1 = 1000 x (0.9 - 0.8) = 100; t2 = 1000 x (0.81 - 0.64) = 170, i.e. 70 new.
    # discounted: 100 x 100 / 1.1 + 70 x 100 / 1.21 = 9090.909 + 5785.124
    assert loss.cohort_revenue_lost_discounted == pytest.approx(9090.909 + 5785.124, rel=1e-6)
    assert loss.cohort_revenue_lost == pytest.approx(17_000)


def test_ltv_effect_of_churn():
    loss = silent_churn_loss(MISSION)
    assert loss.ltv_ratio == pytest.approx(0.6)
    assert loss.ltv_after == pytest.approx(22_680)


def test_ltv_from_arpu():
    assert ltv(1260, 0.9, churn=0.03) == pytest.approx(37_800)
    assert ltv(1000, lifetime_months=24) == 24_000
    with pytest.raises(ValueError, match="lifetime_months or a positive monthly churn"):
        ltv(1000)


def test_retention_example_and_the_slip():
    saved = retention(40_000, 37_800, 0.05, points=0.006)
    assert saved.saved_per_month == pytest.approx(240)
    assert saved.revenue_kept_per_month == pytest.approx(9_072_000)
    assert saved.revenue_kept_per_year == pytest.approx(108_864_000)
    # 240 of 40,000 is 0.6 points, not 1.5: 1.5 points would save 600 a month.
    assert retention(40_000, 37_800, 0.05, points=0.015).saved_per_month == pytest.approx(600)
    assert retention(40_000, 37_800, 0.05, relative=0.2).reduction == pytest.approx(0.01)


@given(
    customers=st.floats(0, 1e6),
    ltv_value=st.floats(0, 1e6),
    churn_from=st.floats(0, 0.5),
    gap=st.floats(0, 0.4),
)
def test_loss_properties(customers, ltv_value, churn_from, gap):
    s = ChurnScenario(customers, ltv_value, churn_from, churn_from + gap)
    loss = silent_churn_loss(s)
    assert loss.revenue_lost_per_month >= 0
    wider = silent_churn_loss(
        ChurnScenario(customers, ltv_value, churn_from, churn_from + gap + 0.05)
    )
    assert wider.revenue_lost_per_month >= loss.revenue_lost_per_month
    richer = silent_churn_loss(
        ChurnScenario(customers, ltv_value * 2, churn_from, churn_from + gap)
    )
    assert richer.revenue_lost_per_year == pytest.approx(2 * loss.revenue_lost_per_year)
    if gap == 0:
        assert loss.revenue_lost_per_year == 0 and loss.cohort_extra_customers == 0
    # Symmetry: cutting churn back by the same gap keeps what the rise lost.
    realized = s.churn_to - s.churn_from  # (c + g) - c is not exactly g in floating point
    if realized > 0:
        kept = retention(customers, ltv_value, s.churn_to, points=realized)
        assert kept.revenue_kept_per_month == pytest.approx(loss.revenue_lost_per_month)


def test_initiative_by_hand():
    result = evaluate(
        Initiative(
            customers=40_000,
            ltv=37_800,
            churn_reduction=0.001,
            monthly_cost=1_000_000,
            upfront=6_000_000,
            horizon_months=12,
        )
    )
    assert result.value_per_month == pytest.approx(1_512_000)
    assert result.net_per_month == pytest.approx(512_000)
    assert result.net_over_horizon == pytest.approx(512_000 * 12 - 6_000_000)
    assert result.payback_months == pytest.approx(6_000_000 / 512_000)
    # break even: (1,000,000 + 500,000) / (40,000 x 37,800)
    assert result.break_even_reduction == pytest.approx(1_500_000 / 1_512_000_000)
    assert result.probability_pays_off == 1.0


def test_probability_of_payoff_is_normal_tail():
    i = Initiative(1000, 1000, churn_reduction=0.002, monthly_cost=1000, reduction_se=0.001)
    # break even 0.001: P(N(0.002, 0.001) > 0.001) = P(Z > -1) = 0.8413
    assert evaluate(i).probability_pays_off == pytest.approx(0.841345, abs=1e-6)


def test_returns_curve_optimum_is_where_marginal_return_is_one():
    i = Initiative(40_000, 37_800, churn_reduction=0.005, monthly_cost=2_000_000)
    rc = returns_curve(i, max_reduction=0.02)
    unit = 40_000 * 37_800
    # the initiative lies on the curve
    assert 0.02 * (1 - math.exp(-2_000_000 / rc.k)) == pytest.approx(0.005)
    marginal = unit * 0.02 / rc.k * math.exp(-rc.optimum_spend / rc.k)
    assert marginal == pytest.approx(1.0)
    assert rc.optimum_net >= rc.curve["net"].max() - 1e-6 * unit


def test_nps_detectability():
    # p = 0.5, d = 0.2, n = 400: SE = 100 x sqrt(0.61 / 400) = 3.905; MDE = 1.96 x sqrt 2 x SE
    mde = nps_minimum_detectable_change(0.5, 0.2, 400)
    assert mde == pytest.approx(1.959964 * math.sqrt(2) * 100 * math.sqrt(0.61 / 400), rel=1e-6)
    assert mde > 3  # so +3 NPS points is not detectable with 400 answers a period


def test_tornado_orders_by_swing():
    table = tornado(
        MISSION,
        {"customers": (36_000, 44_000), "churn_to": (0.045, 0.055), "ltv": (34_020, 41_580)},
    )
    assert table["input"].to_list()[0] == "churn_to"
    # churn_to 0.045..0.055 moves the gap 0.015..0.025: 40,000 x 37,800 x 12 x 0.01
    assert table["swing"][0] == pytest.approx(40_000 * 37_800 * 12 * 0.01)


CUSTOMERS = pl.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d"],
        "churn_date": [dt.date(2024, 2, 10), None, dt.date(2024, 2, 20), dt.date(2024, 1, 5)],
    }
)
SURVEYS = pl.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "b"],
        "date": [
            dt.date(2024, 1, 20),
            dt.date(2024, 1, 20),
            dt.date(2024, 1, 1),
            dt.date(2024, 1, 10),
            dt.date(2024, 3, 20),
        ],
        "nps": [3, 10, 9, 2, 5],
    }
)


def test_churn_by_nps_by_hand():
    table = churn_by_nps(CUSTOMERS, SURVEYS, data_end=dt.date(2024, 3, 31), horizon_days=30)
    # a (3, left 21 days later) counts; d answered after leaving: out; b's March answer is too
    # late to know; c (9) left 50 days later: not within 30; b (10) stayed.
    rows = {r["band"]: (r["answers"], r["left"]) for r in table.iter_rows(named=True)}
    assert rows == {"detractor": (1, 1), "promoter": (2, 0)}
    change, se = churn_change_from_nps(table, 3)
    monthly_detractor = 1 - (1 - 1.0) ** (30.4 / 30)
    assert change == pytest.approx(0.03 * monthly_detractor)
    assert se > 0


def test_silent_churn_share_by_hand():
    events = pl.DataFrame({"customer_id": ["a", "c"], "activity": ["Жалоба", "request"]})
    surveys = pl.DataFrame({"customer_id": ["d"]})
    # churned: a (complained), c (silent), d (answered a survey): 1 of 3 silent
    share, churned = silent_churn_share(events, CUSTOMERS, surveys)
    assert (share, churned) == (pytest.approx(1 / 3), 3)


def test_inputs_from_the_small_company(small_dir):
    dataset = load_path(small_dir)
    data = inputs_from_data(dataset)
    assert data is not None
    # Today's base, as every page counts it; the last month's churn over its own start.
    customers = dataset.customers
    assert data.customers == customers.filter(pl.col("churn_date").is_null()).height
    assert data.month_active == data.monthly["active_at_start"][-1]
    assert data.churn_to == data.monthly["churned"][-1] / data.month_active
    # LTV = ARPU / the mean churn of the last three full months (the Risk page's LTV churn).
    assert data.ltv_churn == pytest.approx(data.monthly["churn_rate"].tail(3).mean())
    assert data.ltv == pytest.approx(data.arpu / data.ltv_churn)
    assert data.churn_to_low <= data.churn_to <= data.churn_to_high
    assert data.monthly_cost > 0 and data.arpu > 0
    assert 0 <= data.silent_share <= 1


def _measured(ltv_value: float | None) -> DataInputs:
    return DataInputs(
        customers=38_801,
        arpu=1405.0,
        ltv_churn=0.0488,
        ltv=ltv_value,
        month_active=39_000,
        churn_from=0.031234,
        churn_to=0.049876,
        churn_to_low=0.047,
        churn_to_high=0.052,
        monthly_cost=None,
        silent_share=None,
        churned=0,
        monthly=pl.DataFrame(),
        by_segment=None,
        nps_churn=None,
    )


def test_starting_values_are_measured_where_the_data_measures_them():
    assert starting_values(None) == MISSION_INPUTS
    measured = starting_values(_measured(28_757.4))
    # churn typed in percent with 2 decimals; LTV whole; horizon and discount the example's
    assert measured == {
        "customers": 38_801.0,
        "ltv": 28_757.0,
        "churn_from": 3.12,
        "churn_to": 4.99,
        "months": 12,
        "discount": 0.0,
    }
    assert starting_values(_measured(None))["ltv"] == 37_800.0  # unmeasurable: the example's


def test_monthly_rate_compounds_to_the_annual_one():
    # (1 + 0.12)^(1/12) - 1 = 0.0094888; twelve months of it compound back to 12 %
    assert monthly_rate(0.12) == pytest.approx(0.0094887929, rel=1e-8)
    assert (1 + monthly_rate(0.12)) ** 12 == pytest.approx(1.12)
    assert monthly_rate(0.0) == 0.0


def test_derived_ltv_uses_the_typed_lifetime_else_the_baseline_churn():
    assert derived_ltv(1000, 0.5, 10, 0.04) == (10, 5000)  # 1000 x 0.5 x 10
    assert derived_ltv(1000, 0.5, 0, 0.04) == pytest.approx((25, 12_500))  # 1 / 0.04 = 25 months
    assert derived_ltv(1000, 1.0, 0, 0.0) == (0.0, 0.0)  # no churn, no lifetime: nothing


def test_nps_detectability_from_monthly_answers():
    # Unsorted answers over Jan (3), Mar (4) and Feb (5); April has none (missing, not 0).
    dates = ["2025-03-02", "2025-01-05", "2025-02-01", "2025-03-09", "2025-01-20", "2025-02-11"]
    dates += ["2025-02-12", "2025-03-30", "2025-01-31", "2025-02-28", "2025-03-15", "2025-02-02"]
    scores = [10, 9, 3, 6, 10, 8, 7, 0, 9, 10, 5, 9]
    surveys = pl.DataFrame({"date": pl.Series(dates).str.to_date(), "nps": scores})
    answers, mde = nps_detectability(surveys)
    assert answers == 4  # median of 3, 4, 5
    # promoters 6/12, detractors 4/12: SE = 100 x sqrt((0.5 + 1/3 - (1/6)^2) / 4)
    se = 100 * math.sqrt((0.5 + 1 / 3 - (1 / 6) ** 2) / 4)
    assert mde == pytest.approx(1.959964 * math.sqrt(2) * se, rel=1e-6)
    assert nps_detectability(surveys.clear()) is None


def test_scenario_sheet_is_rounded_to_what_each_row_means():
    sheet = scenario_sheet(MISSION, silent_churn_loss(MISSION))
    rows = {r["item"]: (r["value"], r["unit"]) for r in sheet.iter_rows(named=True)}
    assert rows["churn_from"] == (3.0, "percent") and rows["churn_to"] == (5.0, "percent")
    assert rows["extra_customers_per_month"] == (800.0, "customers")  # not 800.0000000000001
    assert rows["revenue_lost_per_month"] == (30_240_000.0, "money")
    assert rows["revenue_lost_per_year"] == (362_880_000.0, "money")
    # 40,000 x (0.97^12 - 0.95^12) = 6,139.24... customers, to one decimal
    assert rows["cohort_extra_customers"] == (round(40_000 * (0.97**12 - 0.95**12), 1), "customers")
    assert rows["ltv_ratio"] == (60.0, "percent")  # 0.03 / 0.05
    assert rows["ltv_after"] == (22_680.0, "money")
    assert sheet.height == 16 and sheet["item"].n_unique() == 16
