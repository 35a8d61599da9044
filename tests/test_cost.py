import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.cost import (
    TAGS,
    _counts,
    case_costs,
    customer_costs,
    event_cost,
    minute_rate,
    pareto,
    priciest,
    tag_costs,
    twins,
    whale,
)
from analytics.io import load_path, load_sources, read_uploads
from analytics.schema import Settings
from tests.conftest import SAMPLE_DIR


def test_event_cost_by_hand():
    settings = Settings()
    events = pl.DataFrame(
        {
            "channel": ["phone", "internal", "meeting", "chat", "pigeon"],
            "handle_s": [120.0, 600.0, 3600.0, None, 60.0],
            "is_manual": [False, True, True, None, False],
            "cost": [None, None, None, 99.0, None],
        }
    )
    got = events.select(event_cost(settings))["event_cost"].to_list()
    assert got == pytest.approx(
        [
            2 * 28 + 15,  # 2 phone minutes + a contact
            10 * 30 + 350,  # 10 internal minutes + a manual step (internal is no contact)
            60 * 45 + 15 + 350 + 1500,  # an hour's meeting, a contact, manual, the meeting fee
            99,  # the export's own cost wins
            0 + 15,  # a channel without a rate costs only the contact
        ]
    )


LOG = """case_id,customer_id,timestamp,activity,channel,resource,scenario,is_manual,handle_s
H,c1,2024-01-01 10:00,request,phone,L1,s,no,60
H,c1,2024-01-01 11:00,reply,email,L1,s,no,60
L,c2,2024-01-01 10:00,bot,bot,Bot,s,no,
L,c2,2024-01-01 10:01,bot,bot,Bot,s,no,
L,c2,2024-01-01 10:02,bot,bot,Bot,s,no,
L,c2,2024-01-01 10:03,request,chat,L1,s,no,60
P,c3,2024-01-01 10:00,request,chat,A,s,no,60
P,c3,2024-01-01 10:10,check,internal,B,s,no,60
P,c3,2024-01-01 10:20,reply,chat,A,s,no,60
P,c3,2024-01-01 10:30,check,internal,B,s,no,60
R,c4,2024-01-01 10:00,request,chat,L1,s,no,60
R,c4,2024-01-01 10:05,reply,chat,L1,s,no,60
R2,c4,2024-01-10 10:00,request,chat,L1,s,no,60
M,c5,2024-01-01 10:00,request,chat,L1,s,yes,60
S,c6,2024-01-01 10:00,request,chat,L1,s,no,60
S,c6,2024-01-01 10:05,reply,chat,L1,s,no,60
"""


@pytest.fixture
def cases():
    return case_costs(load_sources(read_uploads([("log.csv", LOG.encode())])))


def _tags(cases, case_id):
    row = cases.filter(pl.col("case_id") == case_id).row(0, named=True)
    return {tag for tag in TAGS if row[tag]}


def test_behaviour_tags_by_hand(cases):
    assert _tags(cases, "H") == {"channel_hopping"}  # phone then e-mail
    assert _tags(cases, "L") == {"bot_loop"}  # three bot steps in a row
    # A -> B -> A -> B: two returns (ping-pong); 'check' done twice (repeat)
    assert _tags(cases, "P") == {"ping_pong", "repeat_return"}
    assert _tags(cases, "R2") == {"repeat_return"}  # same scenario within 14 days of R
    assert _tags(cases, "R") == set()
    assert _tags(cases, "M") == {"non_standard"}
    assert _tags(cases, "S") == set()


def test_case_cost_and_contacts_by_hand(cases):
    row = cases.filter(pl.col("case_id") == "P").row(0, named=True)
    # chat 1 min x 22 + 15 (x2), internal 1 min x 30 (x2)
    assert row["cost"] == pytest.approx(2 * (22 + 15) + 2 * 30)
    assert row["contacts"] == 2 and row["channels"] == 1


def test_tag_costs_against_standard_cases(cases):
    table = {r["tag"]: r for r in tag_costs(cases).iter_rows(named=True)}
    standard = cases.filter(pl.col("case_id").is_in(["R", "S"]))["cost"].mean()
    m_cost = cases.filter(pl.col("case_id") == "M")["cost"][0]
    assert table["non_standard"]["extra_per_case"] == pytest.approx(m_cost - standard)
    assert table["non_standard"]["share"] == pytest.approx(1 / 7)
    ranked = priciest(cases)
    assert ranked["excess_cost"].is_sorted(descending=True)


def test_pareto_and_whale_are_proper_curves():
    people = pl.DataFrame(
        {
            "customer_id": list("abcd"),
            "cost": [10.0, 30.0, 0.0, 60.0],
            "margin": [50.0, -20.0, 30.0, 40.0],
        }
    )
    curve = pareto(people, points=5)
    assert curve["cost_share"][-1] == pytest.approx(1.0)
    assert curve["cost_share"].is_sorted()
    top = pareto(people, points=101).filter(pl.col("customer_share") == 0.25)["cost_share"][0]
    assert top == pytest.approx(0.6)  # the top quarter (one customer) takes 60 %
    hump = whale(people, points=101)
    # ranked by margin 50, 40, 30, -20: cumulative 50, 90, 120, 100 of 100
    assert hump["cumulative_margin_share"].max() == pytest.approx(1.2)
    assert hump["cumulative_margin_share"][-1] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def sample():
    dataset = load_path(SAMPLE_DIR)
    return dataset, case_costs(dataset)


def test_planted_twins_differ_threefold(sample):
    dataset, cases = sample
    table = twins(cases, dataset.customers)
    business = table.filter(
        (pl.col("segment") == "business") & (pl.col("scenario") != "onboarding")
    )
    assert business.height > 0
    assert (business["contacts_p90"] >= 2.5 * business["contacts_p10"]).all()
    assert business["ratio"].max() >= 5
    # the heaviest case of the top group carries manual work (approvals, meetings, custom work)
    top = table.row(0, named=True)
    heavy = cases.filter(pl.col("case_id") == top["high_case"]).row(0, named=True)
    light = cases.filter(pl.col("case_id") == top["low_case"]).row(0, named=True)
    assert heavy["contacts"] >= 3 * light["contacts"]


def test_manual_work_is_the_expensive_behaviour(sample):
    _, cases = sample
    table = {r["tag"]: r for r in tag_costs(cases).iter_rows(named=True)}
    assert table["non_standard"]["extra_per_case"] > 5 * cases["cost"].median()
    people = customer_costs(cases, None, 12)
    assert people["cost"].sum() == pytest.approx(cases["cost"].sum())


def test_unrated_channels_are_listed():
    from analytics.cost import unrated_channels

    log = "case_id,timestamp,activity,channel\nA,2024-01-01 10:00,x,pigeon\nA,2024-01-01 10:01,y,phone\n"
    dataset = load_sources(read_uploads([("log.csv", log.encode())]))
    assert unrated_channels(dataset) == ["pigeon"]


def test_minute_rate_is_team_cost_over_practical_capacity():
    # 10 agents x 160 paid hours, 85 % of it available for handling: 81,600 minutes a month.
    assert minute_rate(1_200_000, 1_600, 0.85) == pytest.approx(1_200_000 / 81_600)
    assert minute_rate(1_200_000, 1_600) == minute_rate(1_200_000, 1_600, 0.85)  # the default
    with pytest.raises(ValueError):
        minute_rate(1_200_000, 0)
    with pytest.raises(ValueError):
        minute_rate(1_200_000, 1_600, 1.2)


@settings(max_examples=50, deadline=None)
@given(st.data(), st.integers(1, 7), st.booleans())
def test_flag_counts_per_case_are_the_plain_sums(data, width, long_cases):
    # Packed four to a 64-bit sum, or one each when some case is too long for 16 bits.
    n = data.draw(st.integers(1, 300))
    flags = pl.DataFrame(
        {f"f{k}": data.draw(st.lists(st.booleans(), min_size=n, max_size=n)) for k in range(width)}
    )
    cuts = data.draw(st.lists(st.integers(1, n - 1), max_size=20, unique=True)) if n > 1 else []
    starts = np.array(sorted({0, *cuts}), dtype=np.int64)
    got = _counts(flags, starts, 2**16 if long_cases else 10)
    for name in flags.columns:
        expected = np.add.reduceat(flags[name].to_numpy().astype(np.int64), starts)
        assert got[name].tolist() == expected.tolist()
