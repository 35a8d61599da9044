import datetime as dt

import numpy as np
import polars as pl
import pytest

from analytics.cases import case_steps, case_table
from analytics.io import load_path, load_sources, read_uploads
from analytics.process import (
    coverage,
    directly_follows,
    drift,
    group_medians,
    process_mining_log,
    rework,
    timed_pairs,
    variant_paths,
    variants,
)
from tests.conftest import SAMPLE_DIR

# Case A: request, bot, bot (tie with the previous bot: export order decides), reply.
# Case B: request, reply, request (a loop back), reply.  Case C: request, reply.
LOG = """case_id,timestamp,activity
A,2024-01-01 10:00,request
B,2024-01-02 09:00,request
A,2024-01-01 10:01,bot
A,2024-01-01 10:01,bot again
C,2024-02-01 08:00,request
B,2024-01-02 09:10,reply
B,2024-01-03 09:00,request
A,2024-01-01 10:05,reply
B,2024-01-03 09:30,reply
C,2024-02-01 08:20,reply
"""


@pytest.fixture
def events():
    return load_sources(read_uploads([("log.csv", LOG.encode())])).events


@pytest.fixture
def steps(events):
    return case_steps(events)


def with_paths(steps, events=None):
    """Each case with its ``path``: the case table joined with the variant paths."""
    return case_table(steps, events).join(variant_paths(steps), on="variant")


@pytest.fixture
def paths(steps, events):
    return with_paths(steps, events)


def test_paths_follow_time_then_export_order(paths):
    by_case = dict(zip(paths["case_id"], paths["path"].to_list(), strict=True))
    assert by_case == {
        "A": ["request", "bot", "bot again", "reply"],
        "B": ["request", "reply", "request", "reply"],
        "C": ["request", "reply"],
    }
    durations = dict(zip(paths["case_id"], paths["duration_s"], strict=True))
    assert durations == {"A": 300, "B": 88200, "C": 1200}


def test_unsorted_log_is_ordered_by_time_then_row(paths):
    shuffled = "case_id,timestamp,activity\nX,2024-01-01 10:05,second\nX,2024-01-01 10:00,first\nX,2024-01-01 10:05,third\n"
    events = load_sources(read_uploads([("log.csv", shuffled.encode())])).events
    assert with_paths(case_steps(events))["path"].to_list() == [["first", "second", "third"]]


def test_variants_and_coverage(steps, paths):
    table = variants(paths, variant_paths(steps))
    assert table["cases"].to_list() == [1, 1, 1]
    assert table["share"].to_list() == pytest.approx([1 / 3] * 3)
    assert table["cumulative_share"].to_list() == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert coverage(table, 0.8) == 3
    assert coverage(table, 0.5) == 2


def test_directly_follows_by_hand(steps):
    edges = directly_follows(steps)
    rows = {(r["source"], r["target"]): r for r in edges.iter_rows(named=True)}
    assert rows["request", "reply"]["count"] == 3  # B twice, C once
    assert rows["request", "reply"]["cases"] == 2
    assert rows["request", "reply"]["median_s"] == 1200  # 600, 1800, 1200 s
    # B's reply -> request goes back to a step done before: rework
    assert rows["reply", "request"]["rework_share"] == 1.0 and rows["reply", "request"]["rework"]
    assert rows["request", "bot"]["rework_share"] == 0.0
    # B's second request -> reply: 'reply' was seen before, one of three transitions
    assert rows["request", "reply"]["rework_share"] == pytest.approx(1 / 3)
    assert edges["count"].sum() == 3 + 3 + 1  # (4 - 1) + (4 - 1) + (2 - 1) transitions


def test_timed_pairs_by_hand(events):
    # Activities (alphabetical codes): bot 0, bot again 1, reply 2, request 3; k = 4.
    # A: request -> bot (3 * 4 + 0, 60 s), bot -> bot again (0 * 4 + 1, 0 s),
    # bot again -> reply (1 * 4 + 2, 240 s); B: request -> reply (3 * 4 + 2) twice, at
    # 600 s and 1800 s, reply -> request (2 * 4 + 3, 86400 - 600 s). Last steps: 16, 0 s.
    steps = case_steps(events)
    pair, seconds = timed_pairs(steps)
    case = events["case_id"].gather(steps["row"]).to_list()
    got: dict[str, list[tuple[int, int]]] = {}
    for c, p, s in zip(case, pair.tolist(), seconds.tolist(), strict=True):
        got.setdefault(c, []).append((p, s))
    assert got == {
        "A": [(12, 60), (1, 0), (6, 240), (16, 0)],
        "B": [(14, 600), (11, 85800), (14, 1800), (16, 0)],
        "C": [(14, 1200), (16, 0)],
    }


def test_group_medians_by_hand():
    # group 0: 7, 1, 4 -> 4; group 1: 10, 2**40, 0, 3 -> (3 + 10) / 2; group 2: none;
    # group 3: -5 alone; group 4 is past the groups asked for and left out
    group = np.array([0, 1, 0, 1, 1, 3, 0, 1, 4])
    values = np.array([7, 10, 1, 2**40, 0, -5, 4, 3, -(2**45)])
    medians = group_medians(group, values, 4)
    np.testing.assert_array_equal(medians, [4.0, 6.5, np.nan, -5.0])


@pytest.mark.parametrize("scale", [0, 3, 1000, 10**6, 2**50])
def test_group_medians_match_polars(scale):
    """Ties, zeros, negative values, odd and even counts, one bin holding most values."""
    rng = np.random.default_rng(scale)
    group = rng.integers(0, 30, 5000)
    values = np.where(
        rng.random(5000) < 0.6, rng.integers(0, 3, 5000), rng.integers(-scale, scale + 1, 5000)
    )
    reference = pl.DataFrame({"g": group, "v": values}).group_by("g").agg(pl.col("v").median())
    expected = np.full(30, np.nan)
    expected[reference["g"].to_numpy()] = reference["v"].to_numpy()
    np.testing.assert_array_equal(group_medians(group, values, 30), expected)


def test_directly_follows_median_with_many_activities():
    """More activities than a histogram row per possible pair allows: the pairs present
    are numbered first. Case i goes a -> s<i> -> a (301 activities): a -> s<i> at 60 s,
    s<i> -> a at 60 * (i % 3) + i % 60 s; each edge once."""
    lines = ["case_id,timestamp,activity"]
    for i in range(300):
        lines += [
            f"c{i},2024-01-01 10:00:00,a",
            f"c{i},2024-01-01 10:01:00,s{i:03}",
            f"c{i},2024-01-01 10:0{1 + i % 3}:{i % 60:02},a",
        ]
    events = load_sources(read_uploads([("log.csv", "\n".join(lines).encode())])).events
    edges = directly_follows(case_steps(events))
    rows = {(r["source"], r["target"]): r for r in edges.iter_rows(named=True)}
    assert len(rows) == 600 and all(r["count"] == 1 for r in rows.values())
    assert rows["a", "s007"]["median_s"] == 60
    assert rows["s007", "a"]["median_s"] == 60 + 7  # 10:02:07 - 10:01:00
    assert rows["s299", "a"]["median_s"] == 120 + 59  # 10:03:59 - 10:01:00


def test_rework_counts_repeats(steps):
    table = rework(steps)
    rows = {r["activity"]: r for r in table.iter_rows(named=True)}
    assert set(rows) == {"request", "reply"}
    assert rows["request"]["cases"] == 1 and rows["request"]["extra_steps"] == 1
    assert rows["request"]["share"] == pytest.approx(1 / 3)


def _drift_log() -> pl.DataFrame:
    """Steps of scenario s: a -> b in every case, then x in 1 of 10 January cases and in 5
    of 10 March cases."""
    lines = ["case_id,timestamp,activity,scenario"]

    def case(i, month, extra):
        day = dt.datetime(2024, month, 1 + i % 20, 10)
        lines.extend([f"{month}-{i},{day},a,s", f"{month}-{i},{day + dt.timedelta(minutes=1)},b,s"])
        if extra:
            lines.append(f"{month}-{i},{day + dt.timedelta(minutes=2)},x,s")

    for i in range(10):
        case(i, 1, i == 0)
        case(i, 3, i < 5)
    return case_steps(load_sources(read_uploads([("log.csv", "\n".join(lines).encode())])).events)


def test_drift_finds_a_deviation_that_became_the_norm():
    table = drift(_drift_log(), "s")
    top = table.row(0, named=True)
    assert top["deviation"] == "b → x"
    assert (top["first_share"], top["last_share"]) == (pytest.approx(0.1), pytest.approx(0.5))
    assert top["became_norm"]


def test_drift_against_a_standard_path_the_user_picked():
    # Standard a -> x: every case's a -> b deviates (all of each month, so no growth), and
    # b -> x still does, from 1 in 10 to 5 in 10.
    table = drift(_drift_log(), "s", standard=["a", "x"])
    rows = {r["deviation"]: r for r in table.iter_rows(named=True)}
    assert set(rows) == {"a → b", "b → x"}
    assert (rows["a → b"]["first_share"], rows["a → b"]["last_share"]) == (1.0, 1.0)
    assert not rows["a → b"]["became_norm"] and rows["b → x"]["became_norm"]
    assert table["deviation"].to_list() == ["b → x", "a → b"]  # the norm first


def test_process_mining_export_columns(paths):
    dataset = load_sources(read_uploads([("log.csv", LOG.encode())]))
    log = process_mining_log(dataset.events)
    assert log.columns[:3] == ["case:concept:name", "concept:name", "time:timestamp"]
    assert log.height == 10


@pytest.fixture(scope="module")
def sample_steps():
    return case_steps(load_path(SAMPLE_DIR).events)


def test_planted_bot_loop_became_the_norm_in_billing(sample_steps):
    table = drift(sample_steps, "billing")
    norms = table.filter(pl.col("became_norm"))["deviation"].to_list()
    assert "bot → bot" in norms


def test_planted_logistics_failure_shows_in_delivery_drift(sample_steps):
    table = drift(sample_steps, "delivery")
    norms = table.filter(pl.col("became_norm"))["deviation"].to_list()
    assert any("courier escalation" in d for d in norms)


def _status_dataset():
    from pathlib import Path

    from analytics.mapping import Mapping

    columns = {
        "case_id": "number",
        "activity": "incident_state",
        "timestamp": "sys_updated_at",
        "resource": "assignment_group",
    }
    path = Path(__file__).parent / "data" / "status" / "itsm_updates.csv"
    files = read_uploads([(path.name, path.read_bytes())])
    return load_sources(files, Mapping(columns={"events": columns}))


def test_case_views_collapse_a_status_log_by_default():
    from analytics.process import case_views

    dataset = _status_dataset()
    steps, cases, paths, loops = case_views(dataset)
    # 7 of the 29 transitions stay in one state (see test_cost): over 20 %, collapsed.
    assert loops.collapsed and loops.share == pytest.approx(7 / 29)
    walked = with_paths(steps, dataset.events)
    by_case = dict(zip(walked["case_id"], walked["path"], strict=True))
    assert by_case["INC1"].to_list() == ["New", "Active", "Resolved", "Closed"]
    assert by_case["INC3"].to_list() == [
        *("New", "Active", "Awaiting User Info", "Resolved", "Closed", "Active", "Resolved")
    ]
    # A run's time is its first update's: INC1 entered Active at 10:00, not 11:00.
    inc1 = cases.filter(pl.col("case_id") == "INC1").row(0, named=True)
    assert inc1["steps"] == 4 and inc1["start"] == dt.datetime(2016, 3, 14, 9)
    table = variants(cases, paths)
    assert table["cases"].to_list() == [2, 1, 1, 1]  # INC1 and INC5 share their path
    # Rework on the collapsed path: a state entered again, not an update within one.
    assert set(rework(steps)["activity"]) == {"Active", "Resolved", "В работе", "Решено"}
    _, _, kept_paths, kept = case_views(dataset, collapse=False)
    assert not kept.collapsed and kept_paths.height == 5
