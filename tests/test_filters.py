"""Global filters on a tiny hand-made company: every table cut the same way, counted by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.filters import (
    Filters,
    apply,
    changes,
    options,
    period,
    previous,
    starts_before_data,
    unsplit,
)
from analytics.io import load_sources, read_uploads
from analytics.kpi import classic_metrics

# Rows out of order on purpose; K2 crosses the night from 31 January to 1 February;
# c9 is not in the register; c4 has no events; c5 has no segment.
EVENTS = """case_id,customer_id,timestamp,activity,channel,handle_s
K3,c2,2024-02-10 09:00,request,chat,60
K1,c1,2024-01-05 10:00,request,phone,120
K1,c1,2024-01-05 10:30,resolved,internal,
K2,c1,2024-02-01 00:00,request,email,30
K4,c9,2024-02-20 23:59,request,phone,90
K5,c3,2024-03-01 00:00,request,chat,40
K1,c1,2024-01-06 09:00,callback,phone,50
K2,c1,2024-01-31 23:59,request,phone,100
"""
CUSTOMERS = """customer_id,segment,region,signup_date,monthly_revenue,churn_date
c1,mass,Kazan,2023-01-01,100,
c2,business,Moscow,2023-01-01,500,2024-03-15
c3,mass,Moscow,2023-06-01,200,
c4,premium,Kazan,2023-06-01,900,
c5,,Kazan,2023-06-01,300,
"""
SURVEYS = """customer_id,date,nps,csat,case_id
c1,2024-01-06,9,5,K1
c2,2024-02-11,3,2,K3
c1,2024-02-02,7,4,
"""
# "voice" and "чат" are channel names; "Retail" is not, so it counts as a phone queue.
ACD = """interval_start,queue,offered,answered,abandoned,answered_in_target,aht_s
2024-01-05 10:00,voice,10,9,1,8,200
2024-02-10 10:00,чат,4,4,0,4,100
2024-02-11 10:00,Retail,6,5,1,3,300
"""
TINY = {"events.csv": EVENTS, "customers.csv": CUSTOMERS, "surveys.csv": SURVEYS, "acd.csv": ACD}
FEBRUARY = Filters(start=dt.date(2024, 2, 1), end=dt.date(2024, 2, 29))


def _load(files: dict[str, str]):
    return load_sources(read_uploads(tuple((n, text.encode()) for n, text in files.items())))


@pytest.fixture(scope="module")
def tiny():
    return _load(TINY)


def _heights(dataset) -> dict[str, int | None]:
    names = ("events", "customers", "acd", "surveys")
    return {n: None if dataset.table(n) is None else dataset.table(n).height for n in names}


def test_options_come_from_the_data(tiny):
    got = options(tiny)
    assert (got.first, got.last) == (dt.date(2024, 1, 5), dt.date(2024, 3, 1))
    assert got.segments == ("business", "mass", "premium")  # c5's missing one is no choice
    assert got.regions == ("Kazan", "Moscow")
    # events' channels plus the queues': voice -> phone, чат -> chat, Retail -> phone
    assert got.channels == ("chat", "email", "internal", "phone")


def test_a_date_range_cuts_every_dated_table_by_day(tiny):
    feb = apply(tiny, FEBRUARY)
    # K3, K2's 1 February step (its 31 January one is cut), K4 at 23:59 on the 20th
    assert sorted(feb.events["row_nr"].to_list()) == [0, 3, 4]
    # the register is not cut by date; the interval rows of 10 and 11 February; the two
    # February answers
    assert _heights(feb) == {"events": 3, "customers": 5, "acd": 2, "surveys": 2}
    assert feb.events["customer_id"].to_list() == ["c2", "c1", "c9"]  # the export's order


def test_consecutive_ranges_add_up_to_the_whole(tiny):
    january = apply(tiny, Filters(end=dt.date(2024, 1, 31)))
    rest = apply(tiny, Filters(start=dt.date(2024, 2, 1)))
    assert january.events.height + rest.events.height == tiny.events.height
    assert january.acd.height + rest.acd.height == tiny.acd.height
    assert january.surveys.height + rest.surveys.height == tiny.surveys.height


def test_a_segment_keeps_its_customers_their_events_and_answers(tiny):
    mass = apply(tiny, Filters(segments=("mass",)))
    assert sorted(mass.customers["customer_id"]) == ["c1", "c3"]
    # c1's K1 (3 steps) and K2 (2 steps), c3's K5; c9 (not in the register) is left out
    assert sorted(mass.events["case_id"].to_list()) == ["K1", "K1", "K1", "K2", "K2", "K5"]
    assert mass.surveys["customer_id"].to_list() == ["c1", "c1"]
    assert mass.acd.height == 3  # no customer to split the interval report by
    assert unsplit(tiny, Filters(segments=("mass",))) == ("acd",)
    assert unsplit(tiny, FEBRUARY) == ()


def test_segment_and_region_together(tiny):
    kazan_mass = apply(tiny, Filters(segments=("mass",), regions=("Kazan",)))
    assert kazan_mass.customers["customer_id"].to_list() == ["c1"]
    assert set(kazan_mass.events["customer_id"]) == {"c1"}


def test_a_customer_without_events_stays_in_the_register(tiny):
    premium = apply(tiny, Filters(segments=("premium",)))
    assert premium.customers["customer_id"].to_list() == ["c4"]
    assert premium.events.height == 0
    assert premium.surveys.height == 0


def test_channels_cut_events_queues_and_answers_about_their_cases(tiny):
    chat = apply(tiny, Filters(channels=("chat",)))
    assert sorted(chat.events["case_id"].to_list()) == ["K3", "K5"]
    assert chat.acd["queue"].to_list() == ["чат"]
    # c2's answer is about K3 (a chat case); c1's are about a phone case or about none
    assert chat.surveys["customer_id"].to_list() == ["c2"]
    assert chat.customers.height == 5  # the register stays whole
    phone = apply(tiny, Filters(channels=("phone",)))
    assert phone.acd["queue"].to_list() == ["voice", "Retail"]
    assert phone.events.height == 4  # K1 request and callback, K2 31 Jan, K4


def test_a_shape_without_customers_ignores_a_segment_choice():
    log = _load({"events.csv": EVENTS})
    assert options(log).segments == () and options(log).regions == ()
    chosen = apply(log, Filters(segments=("mass",)))
    assert chosen.customers is None
    assert chosen.events.equals(log.events)
    assert unsplit(log, Filters(segments=("mass",))) == ()


def test_each_choice_has_its_own_hash(tiny):
    hashes = {
        apply(tiny, f).content_hash
        for f in (
            FEBRUARY,
            Filters(segments=("mass",)),
            Filters(regions=("mass",)),
            Filters(channels=("mass",)),
            Filters(start=dt.date(2024, 2, 1)),
            Filters(end=dt.date(2024, 2, 1)),
        )
    }
    assert len(hashes) == 6 and tiny.content_hash not in hashes
    # the order things were picked in does not matter
    picked = Filters(segments=("mass", "business")), Filters(segments=("business", "mass"))
    assert picked[0] == picked[1]
    assert apply(tiny, picked[0]).content_hash == apply(tiny, picked[1]).content_hash


def test_previous_is_the_period_of_equal_length_right_before(tiny):
    # February 2024 has 29 days: 3 January .. 31 January
    before = previous(FEBRUARY, tiny)
    assert before == Filters(start=dt.date(2024, 1, 3), end=dt.date(2024, 1, 31))
    # other choices carry over
    chosen = previous(Filters(start=dt.date(2024, 2, 15), segments=("mass",)), tiny)
    # an open end is the data's last day, 1 March: 16 days, so 30 January .. 14 February
    assert chosen == Filters(
        start=dt.date(2024, 1, 30), end=dt.date(2024, 2, 14), segments=("mass",)
    )
    assert period(tiny, chosen) == (dt.date(2024, 1, 30), dt.date(2024, 2, 14))
    assert previous(Filters(segments=("mass",)), tiny) is None  # no range: nothing before
    assert starts_before_data(tiny, before)  # the data starts on 5 January
    assert not starts_before_data(tiny, FEBRUARY)


def test_changes_against_the_previous_period_by_hand(tiny):
    now = classic_metrics(apply(tiny, FEBRUARY))
    then = classic_metrics(apply(tiny, previous(FEBRUARY, tiny)))
    moved = changes(now, then)
    # SL from the interval report: Feb (4 + 3) / (4 + 6) = 0.70, Jan 8 / 10 = 0.80
    assert moved["sla"] == pytest.approx(0.70 - 0.80)
    assert moved["csat"] == pytest.approx((2 + 4) / 2 - 5)
    # NPS: Feb answers 3 and 7 (one detractor of two) = -50; Jan one 9 = +100
    assert moved["nps"] == pytest.approx(-150)
    # contacts per case: Feb 3 contacts in 3 cases; Jan 3 (internal left out) in K1, K2
    assert moved["contacts_per_case"] == pytest.approx(1 - 3 / 2)
    # AHT answered-weighted: Feb (4 x 100 + 5 x 300) / 9, Jan 200
    assert moved["aht_s"] == pytest.approx(1900 / 9 - 200)
    assert moved["churn_last"] is None  # neither range holds a full month


def test_empty_filters_return_the_dataset_itself(tiny):
    assert apply(tiny, Filters()) is tiny
    assert Filters().is_empty and not FEBRUARY.is_empty


DAYS = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2024, 3, 5))


@settings(max_examples=40, deadline=None)
@given(
    start=st.none() | DAYS,
    end=st.none() | DAYS,
    segments=st.lists(st.sampled_from(["business", "mass", "premium"]), max_size=3),
    channels=st.lists(st.sampled_from(["chat", "email", "internal", "phone"]), max_size=4),
)
def test_whatever_is_chosen_every_kept_row_matches_and_nothing_else_is_lost(
    tiny, start, end, segments, channels
):
    chosen = Filters(start=start, end=end, segments=tuple(segments), channels=tuple(channels))
    cut = apply(tiny, chosen)
    # the same rows by an independent reading of the filters, straight in Polars
    day = pl.col("timestamp").dt.date()
    keep = pl.lit(True)
    if start is not None:
        keep &= day >= start
    if end is not None:
        keep &= day <= end
    if channels:
        keep &= pl.col("channel").is_in(channels)
    if segments:
        ids = tiny.customers.filter(pl.col("segment").is_in(segments))["customer_id"]
        keep &= pl.col("customer_id").is_in(ids.implode())
    assert cut.events.equals(tiny.events.filter(keep))
    # the interval report by day (its queues are phone, chat, phone)
    acd_day = pl.col("interval_start").dt.date()
    acd_keep = pl.lit(True)
    if start is not None:
        acd_keep &= acd_day >= start
    if end is not None:
        acd_keep &= acd_day <= end
    if channels:
        acd_keep &= pl.Series(["phone", "chat", "phone"]).is_in(channels)
    assert cut.acd.equals(tiny.acd.filter(acd_keep))


def test_a_range_covering_everything_keeps_identical_tables_under_its_own_hash(tiny):
    wide = apply(tiny, Filters(start=dt.date(2020, 1, 1), end=dt.date(2030, 1, 1)))
    for name in ("events", "customers", "acd", "surveys"):
        assert wide.table(name).equals(tiny.table(name))
    assert wide.content_hash != tiny.content_hash
