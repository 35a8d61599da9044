"""The sample company: deterministic, and telling the story the later views must find."""

import datetime as dt

import polars as pl
import pytest

from analytics.io import load_path
from analytics.kpi import classic_metrics
from analytics.sample import (
    LOGISTICS_FROM_MONTH,
    LOGISTICS_REGION,
    PHONE_PROMISE_S,
    UNDERSTAFFED_SLOTS,
    generate,
)
from tests.conftest import SAMPLE_DIR


def test_same_seed_same_company(small_company):
    again = generate(customers=600, months=3, seed=11)
    for name in ("events", "customers", "acd", "surveys"):
        assert getattr(again, name).equals(getattr(small_company, name)), name
    other = generate(customers=600, months=3, seed=12)
    assert not other.events.equals(small_company.events)


def test_events_are_well_formed(small_company):
    events = small_company.events
    assert events["timestamp"].is_sorted()
    assert (
        events.null_count()
        .select("case_id", "customer_id", "timestamp", "activity")
        .sum_horizontal()[0]
        == 0
    )
    # Every case's steps are in time order and at most one step per case is "resolved".
    assert (
        events.filter(pl.col("activity") == "resolved").group_by("case_id").len()["len"].max() == 1
    )
    known = set(small_company.customers["customer_id"])
    assert set(events["customer_id"]) <= known


@pytest.fixture(scope="module")
def sample():
    return load_path(SAMPLE_DIR)


def test_committed_sample_is_the_default_generation(sample):
    fresh = generate()
    assert sample.events.select(fresh.events.columns).equals(fresh.events)
    assert sample.events["cost"].null_count() == sample.events.height  # not in the export
    assert sample.customers.select(fresh.customers.columns).equals(fresh.customers)
    assert sample.customers["churned"].null_count() == sample.customers.height  # dates, no flag


def test_classic_metrics_stay_green_while_churn_drifts(sample):
    m = classic_metrics(sample)
    assert 0.92 <= m.sla <= 0.96
    assert 4.5 <= m.csat <= 4.7
    assert 36 <= m.nps.score <= 48
    assert m.churn_first < 0.033
    assert m.churn_last > 0.045
    assert 38_000 <= m.active_customers <= 42_000


def test_phone_understaffing_is_planted(sample):
    phone = sample.events.filter((pl.col("channel") == "phone") & pl.col("wait_s").is_not_null())
    day, first, last = UNDERSTAFFED_SLOTS[0]
    ts = pl.col("timestamp")
    slot = (ts.dt.weekday() == day + 1) & (ts.dt.hour() >= first) & (ts.dt.hour() < last)
    slow = phone.filter(slot)["wait_s"].median()
    normal = phone.filter(~slot & (ts.dt.weekday() <= 5))["wait_s"].median()
    assert slow > PHONE_PROMISE_S > 10 * normal


def test_logistics_failure_is_planted(sample):
    delivery = sample.events.filter(pl.col("scenario") == "delivery").join(
        sample.customers.select("customer_id", "region"), on="customer_id"
    )
    escalated = delivery.group_by("case_id", "region").agg(
        (pl.col("activity") == "courier escalation").any().alias("failed"),
        pl.col("timestamp").min().alias("start"),
    )
    late = escalated.filter(pl.col("start") >= dt.datetime(2025, LOGISTICS_FROM_MONTH + 1, 1))
    rates = dict(late.group_by("region").agg(pl.col("failed").mean()).iter_rows())
    assert rates[LOGISTICS_REGION] > 0.6
    assert max(v for k, v in rates.items() if k != LOGISTICS_REGION) < 0.1


def test_exposed_customers_churn_more_and_rarely_complain(sample):
    # Exposed in July = a bot loop (3+ bot steps), a failed delivery or a phone wait above
    # the promise that month; churn = left in August or September.
    july = sample.events.filter(pl.col("timestamp").dt.month() == 7)
    exposure = july.group_by("customer_id").agg(
        (
            ((pl.col("activity") == "bot").sum() >= 3)
            | (pl.col("activity") == "courier escalation").any()
            | ((pl.col("channel") == "phone") & (pl.col("wait_s") > PHONE_PROMISE_S)).any()
        ).alias("exposed"),
        (pl.col("activity") == "complaint").any().alias("complained"),
    )
    active = sample.customers.filter(
        (pl.col("signup_date") < dt.date(2025, 8, 1))
        & (pl.col("churn_date").is_null() | (pl.col("churn_date") >= dt.date(2025, 8, 1)))
    )
    people = active.join(exposure, on="customer_id", how="left").with_columns(
        pl.col("exposed", "complained").fill_null(False),
        (pl.col("churn_date") < dt.date(2025, 10, 1)).fill_null(False).alias("left"),
    )
    rate = dict(people.group_by("exposed").agg(pl.col("left").mean()).iter_rows())
    assert rate[True] > 4 * rate[False]
    leavers = people.filter(pl.col("exposed") & pl.col("left"))
    assert leavers["complained"].mean() < 0.2  # most leave without complaining


def test_twins_same_segment_very_different_contacts(sample):
    per_case = (
        sample.events.filter(pl.col("channel") != "internal")
        .group_by("case_id", "customer_id")
        .len()
    )
    manual = sample.events.group_by("case_id").agg(pl.col("is_manual").any().alias("manual"))
    joined = per_case.join(manual, on="case_id").join(sample.customers, on="customer_id")
    business = joined.filter(pl.col("segment") == "business")
    assert business.filter(~pl.col("manual"))["len"].median() <= 3
    assert business.filter(pl.col("manual"))["len"].median() >= 6
