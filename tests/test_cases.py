import datetime as dt
from itertools import pairwise

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.cases import (
    SELF_LOOP_SHARE,
    _seconds_since,
    case_order,
    case_steps,
    case_table,
    chronological,
    chronological_order,
    collapse_self_loops,
    contiguous,
    enum_text,
    fetch,
    in_halves,
    like_chunks,
    self_loops,
    sort_keys,
    text_codes,
)
from analytics.cost import case_costs, costed_steps, event_cost, tag_costs
from analytics.io import load_sources, read_uploads
from analytics.process import directly_follows, variant_paths, variants

T0 = dt.datetime(2024, 1, 1, 9)


def _events(rows: list[tuple[str, int, str, str | None]]) -> pl.DataFrame:
    """Events from (case, second, activity, scenario), in export order."""
    return pl.DataFrame(
        {
            "row_nr": range(len(rows)),
            "case_id": [r[0] for r in rows],
            "customer_id": [f"c{r[0]}" for r in rows],
            "timestamp": [T0 + dt.timedelta(seconds=r[1]) for r in rows],
            "activity": [r[2] for r in rows],
            "scenario": [r[3] for r in rows],
        },
        schema_overrides={"row_nr": pl.UInt32, "scenario": pl.String},
    )


def _reference(events: pl.DataFrame) -> dict[str, list[str]]:
    """Each case's activities ordered by (timestamp, export row), the slow obvious way."""
    paths: dict[str, list[tuple]] = {}
    for r in events.iter_rows(named=True):
        paths.setdefault(r["case_id"], []).append((r["timestamp"], r["row_nr"], r["activity"]))
    return {case: [a for *_, a in sorted(steps)] for case, steps in paths.items()}


logs = st.lists(
    st.tuples(
        st.sampled_from("ABCDEFG"),
        st.integers(0, 50),  # few distinct seconds: many ties
        st.sampled_from(["request", "bot", "reply", "approve", "я"]),
        st.sampled_from(["s", "t", None]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(logs)
def test_steps_match_the_obvious_ordering(rows):
    events = _events(rows)
    steps = case_steps(events)
    expected = _reference(events)
    got: dict[str, list[str]] = {}
    for r in steps.iter_rows(named=True):
        case = events["case_id"][r["row"]]
        got.setdefault(case, []).append(r["activity"])
        assert r["step"] == len(got[case]) - 1
        assert r["repeat"] == (r["activity"] in got[case][:-1])
    assert got == expected
    # Cases are contiguous, 'last' marks each case's final step.
    assert steps.filter(pl.col("last")).height == len(expected)
    assert steps["case_no"].is_sorted()
    # Same variant id exactly when the same path.
    paths = case_table(steps, events)
    by_path: dict[tuple, set[int]] = {}
    for case, variant in zip(paths["case_id"], paths["variant"], strict=True):
        by_path.setdefault(tuple(expected[case]), set()).add(variant)
    assert all(len(v) == 1 for v in by_path.values())
    assert len({next(iter(v)) for v in by_path.values()}) == len(by_path)
    # Cases are listed in case order, each with its own first and last step.
    firsts = steps.filter(pl.col("step") == 0)
    assert paths["case_id"].to_list() == events["case_id"].gather(firsts["row"]).to_list()
    assert paths["start"].to_list() == firsts["timestamp"].to_list()
    assert paths["steps"].to_list() == [len(expected[c]) for c in paths["case_id"]]
    # The variant table's paths are the real ones, with their case counts.
    table = variants(paths, variant_paths(steps))
    counts = {tuple(p): c for p, c in zip(table["path"].to_list(), table["cases"], strict=True)}
    assert counts == {p: sum(1 for q in expected.values() if tuple(q) == p) for p in by_path}


@settings(max_examples=40, deadline=None)
@given(logs)
def test_directly_follows_counts_match_the_obvious_ones(rows):
    events = _events(rows)
    expected: dict[tuple[str, str], list[int]] = {}
    for case, path in _reference(events).items():
        for i, (a, b) in enumerate(pairwise(path)):
            count, cases, loops = expected.get((a, b), [0, set(), 0])
            expected[(a, b)] = [count + 1, cases | {case}, loops + (b in path[: i + 1])]
    edges = directly_follows(case_steps(events))
    got = {
        (r["source"], r["target"]): [r["count"], r["cases"], r["rework_share"] * r["count"]]
        for r in edges.iter_rows(named=True)
    }
    assert got.keys() == expected.keys()
    for edge, (count, cases, loops) in expected.items():
        assert got[edge][0] == count and got[edge][1] == len(cases)
        assert got[edge][2] == pytest.approx(loops)


@settings(max_examples=60, deadline=None)
@given(logs)
def test_collapsed_steps_are_the_runs_of_the_obvious_paths(rows):
    events = _events(rows)
    timed: dict[str, list[tuple]] = {}
    for r in events.iter_rows(named=True):
        timed.setdefault(r["case_id"], []).append((r["timestamp"], r["row_nr"], r["activity"]))
    paths = {case: [(t, a) for t, _, a in sorted(steps)] for case, steps in timed.items()}
    # A run of one activity is one step, at the run's first update.
    runs = {
        c: [s for i, s in enumerate(p) if i == 0 or p[i - 1][1] != s[1]] for c, p in paths.items()
    }
    transitions = sum(len(p) - 1 for p in paths.values())
    repeats = sum(a[1] == b[1] for p in paths.values() for a, b in pairwise(p))
    steps = case_steps(events)
    loop, loops = self_loops(steps)
    assert loops.share == pytest.approx(repeats / transitions if transitions else 0.0)
    assert loops.collapsed == (loops.share > SELF_LOOP_SHARE)
    assert self_loops(steps, collapse=False)[1].collapsed is False
    collapsed = collapse_self_loops(steps, loop)
    got: dict[str, list[tuple]] = {}
    for r in collapsed.iter_rows(named=True):
        case = events["case_id"][r["row"]]
        got.setdefault(case, []).append((r["timestamp"], r["activity"]))
        assert r["step"] == len(got[case]) - 1
        assert r["repeat"] == (r["activity"] in [a for _, a in got[case][:-1]])
        assert r["last"] == (len(got[case]) == len(runs[case]))
    assert got == runs
    table = case_table(collapsed, events)
    by_path: dict[tuple, set[int]] = {}
    for case, variant in zip(table["case_id"], table["variant"], strict=True):
        by_path.setdefault(tuple(a for _, a in runs[case]), set()).add(variant)
    assert all(len(v) == 1 for v in by_path.values())  # one id per path, one path per id
    assert len({next(iter(v)) for v in by_path.values()}) == len(by_path)


def test_case_scenario_is_the_first_known_one():
    steps = case_steps(
        _events([("A", 0, "request", None), ("A", 1, "reply", "t"), ("B", 2, "x", "s")])
    )
    by_case = dict(zip(steps["case_no"], steps["case_scenario"], strict=True))
    assert sorted(by_case.values()) == ["s", "t"]


def test_a_case_without_any_scenario_has_none():
    steps = case_steps(_events([("A", 0, "request", None), ("B", 1, "x", "s")]))
    assert sorted(steps["case_scenario"].to_list(), key=str) == [None, "s"]


def test_case_table_gives_each_case_its_scenario_as_text():
    events = _events([("A", 0, "request", None), ("B", 1, "x", "s"), ("C", 2, "y", "a long name")])
    table = case_table(case_steps(events), events)
    assert table.schema["scenario"] == pl.String
    assert dict(zip(table["case_id"], table["scenario"], strict=True)) == {
        "A": None,
        "B": "s",
        "C": "a long name",
    }


def test_enum_text_is_the_cast_to_string():
    values = pl.Series(
        "v",
        ["b", None, "a long name over twelve", "b"],
        dtype=pl.Enum(["a long name over twelve", "b", "unused"]),
    )
    assert enum_text(values).name == "v"
    assert enum_text(values).to_list() == ["b", None, "a long name over twelve", "b"]
    assert enum_text(values).equals(values.cast(pl.String))
    assert enum_text(values[:0]).dtype == pl.String


def test_times_are_kept_to_the_second():
    events = _events([("A", 0, "a", None), ("A", 90, "b", None)]).with_columns(
        pl.col("timestamp") + pl.duration(milliseconds=700)
    )
    steps = case_steps(events)
    assert steps["timestamp"].to_list() == [T0, T0 + dt.timedelta(seconds=90)]
    assert case_table(steps)["duration_s"].to_list() == [90]


def test_a_case_longer_than_the_variant_table_still_gets_its_own_variant():
    # 5,000 steps go past the 4,096-row random table: the sequence is hashed instead.
    long = [("A", i, "a" if i % 7 else "b", None) for i in range(5000)]
    other = [("B", i, "a" if i % 7 else "b", None) for i in range(4999)] + [("B", 5000, "c", None)]
    same = [("C", i + 6000, a, None) for _, i, a, _ in long]
    events = _events(long + other + same)
    paths = case_table(case_steps(events), events)
    variant = dict(zip(paths["case_id"], paths["variant"], strict=True))
    assert variant["A"] == variant["C"] != variant["B"]


@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 3)), max_size=60), st.data())
def test_case_order_matches_a_stable_sort_by_hash(events, data):
    # Hashes drawn from a handful of values just above the row bits: cases that share
    # their top bits are common here (one in a million at 10 M events).
    n = len(events)
    bits = max(1, (n - 1).bit_length())
    case = np.array([(top << bits) + low for top, low in events], dtype=np.uint64)
    second = np.sort(data.draw(st.lists(st.integers(0, 2**31 - 1), min_size=n, max_size=n)))
    second = np.array(second, dtype=np.uint32)
    # Codes that ride in the gather beside the hash bits (small) or do not fit (large).
    top = data.draw(st.sampled_from([1, 255, 2**32 - 1]))
    codes = np.array(data.draw(st.lists(st.integers(0, top), min_size=n, max_size=n)))
    codes = codes.astype(np.min_scalar_type(top))
    row, starts, seconds, code = case_order(case, second, codes=lambda: codes)
    expected = np.lexsort((np.arange(n), case))
    assert row.tolist() == expected.tolist()
    assert seconds.tolist() == second[expected].tolist()
    assert code is not None and code.tolist() == codes[expected].tolist()
    assert code.dtype == codes.dtype
    changes = np.flatnonzero(np.diff(case[expected])) + 1
    assert starts.tolist() == ([0] if n else []) + changes.tolist()


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), max_size=40))
def test_sorting_the_keys_is_a_plain_sort(values):
    # Few distinct values (ties), most sharing the top bit (one half far larger than
    # the values above the middle one), as the case-order keys do when hashes collide.
    keys = np.array([(top << 62) + low for top, low in values], dtype=np.uint64)
    got = keys.copy()
    sort_keys(got)
    assert got.tolist() == sorted(keys.tolist())


def test_halves_are_split_where_asked():
    assert in_halves(lambda part: (part.start, part.stop), 7) == ((0, 3), (3, 7))
    assert in_halves(lambda part: (part.start, part.stop), 7, 2) == ((0, 2), (2, 7))


@given(
    st.sampled_from(["ms", "us", "ns"]),
    st.lists(st.integers(0, 2**31 + 5), max_size=20),
    st.lists(st.integers(-1, 10**9 - 1), min_size=20, max_size=20),
    st.integers(1, 4),
)
def test_whole_seconds_are_the_integer_floor(unit, seconds, offsets, chunks):
    # Ticks just before, at and after whole seconds, up to and past the 2^31 s cap.
    per = {"ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    origin = 1_700_000_000 * per
    ticks = [
        origin + s * per + min(max(o, -per + 1), per - 1)
        for s, o in zip(seconds, offsets[: len(seconds)], strict=True)
    ]
    ticks = [max(t, origin) for t in ticks]
    series = pl.Series(ticks, dtype=pl.Int64).cast(pl.Datetime(unit))
    # As loaded logs come: in several chunks, each worked out into its own slice.
    size = max(-(-len(ticks) // chunks), 1)
    pieces = [series[i : i + size] for i in range(0, len(ticks), size)]
    series = pl.concat(pieces, rechunk=False) if pieces else series
    assert series.n_chunks() == max(len(pieces), 1)
    expected = [min((t - origin) // per, 2**31 - 1) for t in ticks]
    seconds, whole = _seconds_since(series, origin)
    assert seconds.tolist() == expected
    assert whole == all((t - origin) % per == 0 for t in ticks)


def _in_chunks(frame: pl.DataFrame, chunks: int) -> pl.DataFrame:
    """``frame`` in ``chunks`` chunks, as a loaded log comes."""
    size = max(-(-frame.height // chunks), 1)
    pieces = [frame[i : i + size] for i in range(0, frame.height, size)] or [frame]
    return pl.concat(pieces, rechunk=False)


@given(
    st.lists(
        st.tuples(st.integers(-5, 5), st.none() | st.floats(-9, 9), st.none() | st.text("ab")),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 4),
    st.data(),
)
def test_fetch_is_a_plain_gather_whatever_the_chunks_rows_and_nulls(values, chunks, data):
    # Numbers without nulls go through numpy, text and nulls through Polars in row order:
    # both must be what a plain gather of the expressions gives, rows repeated or not.
    frame = _in_chunks(
        pl.DataFrame(
            values, schema=["n", "f", "t"], orient="row", schema_overrides={"f": pl.Float64}
        ),
        chunks,
    )
    rows = pl.Series(
        data.draw(st.lists(st.integers(0, frame.height - 1), max_size=40)), dtype=pl.UInt32
    )
    columns = [pl.col("n") * 2, pl.col("f"), pl.col("t"), pl.col("n").cast(pl.Float64).alias("g")]
    expected = frame.rechunk().select(columns).select(pl.all().gather(rows))
    got = fetch(frame, columns, rows)
    assert got.equals(expected) and got.schema == expected.schema


@given(st.lists(st.integers(-(2**40), 2**40), max_size=30), st.integers(1, 4))
def test_contiguous_and_like_chunks_keep_values_and_layout(values, chunks):
    series = _in_chunks(pl.DataFrame({"v": values}, schema={"v": pl.Int64}), chunks)["v"]
    array = contiguous(series)
    assert array.tolist() == values
    back = like_chunks(array * 3, series, "w")
    assert back.chunk_lengths() == series.chunk_lengths() and back.name == "w"
    assert back.to_list() == [v * 3 for v in values]


def test_text_codes_are_alphabetical_with_null_last():
    values = pl.Series(["b", None, "a", "b", "c"])
    codes, names = text_codes(values, values.hash().to_numpy())
    assert names == ["a", "b", "c"]
    assert codes.tolist() == [1, 3, 0, 1, 2]


def test_text_codes_with_many_distinct_values_use_the_hash_lookup():
    # 3,000 distinct texts are too many for a collision-free table of 2k² slots.
    values = pl.Series([f"v{i:05d}" for i in range(3000)] * 2)
    codes, names = text_codes(values, values.hash().to_numpy())
    assert names == sorted(set(values))
    assert codes.tolist() == list(range(3000)) * 2


CHANNELS = ["phone", "chat", "meeting", "internal", "pigeon", ""]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from("ABC"),
            st.sampled_from(CHANNELS),
            st.sampled_from(["", "30", "125.5"]),
            st.sampled_from(["yes", "no", ""]),
            st.sampled_from(["", "", "99"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_case_cost_is_the_sum_of_the_event_formula(rows):
    # The cost pass looks channel terms up per distinct channel; the plain expression
    # evaluates them per event. Both must give the same money.
    lines = ["case_id,customer_id,timestamp,activity,channel,handle_s,is_manual,cost"]
    for i, (case, channel, handle, manual, cost) in enumerate(rows):
        lines.append(
            f"{case},c{case},2024-01-01 10:{i:02d},step,{channel},{handle},{manual},{cost}"
        )
    dataset = load_sources(read_uploads([("log.csv", "\n".join(lines).encode())]))
    expected = (
        dataset.events.group_by("case_id")
        .agg(event_cost(dataset.settings).sum().alias("expected"))
        .join(case_costs(dataset).select("case_id", "cost"), on="case_id")
    )
    assert expected["cost"].to_list() == pytest.approx(expected["expected"].to_list())


def test_an_empty_log_gives_empty_views():
    events = _events([("A", 0, "a", "s")]).clear()
    steps = case_steps(events)
    assert steps.height == 0
    assert case_table(steps, events).height == 0
    assert directly_follows(steps).height == 0


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(["ms", "us", "ns"]),
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 2)), min_size=1, max_size=40),
    st.sampled_from([0, 1, 999, 10**6]),
    st.booleans(),
    st.booleans(),
    st.integers(1, 3),
    st.randoms(use_true_random=False),
)
def test_chronological_order_is_a_stable_sort_by_time_then_export_row(
    unit, times, sub_second, wide, in_export_order, chunks, rnd
):
    # Whole seconds, milliseconds or ticks (a sub-second part of 0, 1 tick or 999 ticks),
    # spans short or of 2^58 ticks (too long to pack beside a row: the plain argsort),
    # ties, the frame in export order or not, in several chunks.
    step = 2**54 if wide else {"ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    ticks = [s * step + part * sub_second for s, part in times]
    rows = list(range(len(ticks)))
    if not in_export_order:
        rnd.shuffle(rows)
    frame = pl.DataFrame(
        {"timestamp": pl.Series(ticks, dtype=pl.Int64).cast(pl.Datetime(unit)), "row_nr": rows}
    )
    size = -(-frame.height // chunks)
    frame = pl.concat([frame[i : i + size] for i in range(0, frame.height, size)], rechunk=False)
    expected = frame.with_row_index("at").sort("timestamp", "row_nr", maintain_order=True)["at"]
    order = chronological_order(frame)
    got = list(range(frame.height)) if order is None else order.tolist()
    assert got == expected.to_list()
    assert chronological(frame).equals(frame[expected])


def _reshaped(dataset, events):
    import dataclasses

    return dataclasses.replace(dataset, events=events)


def _views(dataset):
    """Everything the process and cost pages show, from the case steps of a dataset."""
    steps = case_steps(dataset.events)
    costs = case_costs(dataset, costed_steps(dataset, steps))
    table = case_table(steps, dataset.events)
    return (
        table,
        variants(table, variant_paths(steps), costs),
        directly_follows(steps),
        costs,
        tag_costs(costs),
    )


ACTIVITIES = ["request", "bot", "reply", "approve", "resolved", "я"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from("ABCDEF"),
            st.integers(0, 40),  # minutes: ties within a case are common
            st.sampled_from(ACTIVITIES),
            st.sampled_from(["phone", "chat", "bot", ""]),
            st.sampled_from(["", "30", "125.5"]),
            st.sampled_from(["", "r1", "r2"]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_any_row_order_gives_the_same_paths_graph_and_costs(rows, rnd):
    # The same export written in time order, in case order and shuffled gives the same
    # variants, graph, case costs and tag money, to the last bit. Ties keep their export
    # order: the reshaped exports number their rows afresh only where that keeps it
    # (sorted by time or by case and time), the shuffle keeps each row's number, and a
    # shuffle numbered afresh is compared on a log without ties within a case.
    from polars.testing import assert_frame_equal

    lines = ["case_id,customer_id,timestamp,activity,channel,handle_s,resource,scenario"]
    for case, minute, activity, channel, handle, resource in rows:
        scenario = "billing" if case in "ABC" else "delivery"
        lines.append(
            f"{case},c{case.lower()},2024-01-01 10:{minute:02d},{activity},{channel},"
            f"{handle},{resource},{scenario}"
        )
    dataset = load_sources(read_uploads([("log.csv", "\n".join(lines).encode())]))
    events = dataset.events

    def shuffled(frame: pl.DataFrame) -> pl.DataFrame:
        order = list(range(frame.height))
        rnd.shuffle(order)
        return frame[order]

    untied = events.filter(~pl.struct("case_id", "timestamp").is_duplicated())
    pairs = [
        (events, events.sort("timestamp", "row_nr").with_row_index("n")),
        (events, events.sort("case_id", "timestamp", "row_nr").with_row_index("n")),
        (events, shuffled(events)),
        (untied, shuffled(untied).with_row_index("n")),
    ]
    for base, other in pairs:
        if "n" in other.columns:  # numbered afresh in the new row order
            other = other.with_columns(pl.col("n").alias("row_nr")).drop("n")
        expected, got = _views(_reshaped(dataset, base)), _views(_reshaped(dataset, other))
        for want, have in zip(expected, got, strict=True):
            assert_frame_equal(have, want, check_exact=True)


def test_a_case_split_over_two_runs_of_a_case_ordered_export_is_put_in_time_order():
    # Case by case, each run in time order, but A comes back after B: its rows in frame
    # order (10:00, 10:05, 10:02) are not its time order.
    rows = [("A", 0, "open"), ("A", 300, "close"), ("B", 60, "x"), ("A", 120, "work")]
    events = _events([(*r, None) for r in rows])
    got: dict[str, list[str]] = {}
    for r in case_steps(events).iter_rows(named=True):
        got.setdefault(events["case_id"][r["row"]], []).append(r["activity"])
    assert got == {"A": ["open", "work", "close"], "B": ["x"]}


@settings(max_examples=60, deadline=None)
@given(
    logs,
    st.lists(st.integers(0, 999), min_size=60, max_size=60),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_steps_match_the_obvious_ordering_in_any_row_order(rows, millis, sub_second, rnd):
    # Rows shuffled and numbered afresh (an export in no particular order), with whole
    # seconds (cases grouped first, each then sorted by second and row) or with
    # milliseconds that order steps of the same second differently from their rows (the
    # timestamps sorted first).
    rows = list(rows)
    rnd.shuffle(rows)
    events = _events(rows)
    if sub_second:
        events = events.with_columns(
            pl.col("timestamp") + pl.Series(millis[: len(rows)]).cast(pl.Duration("ms"))
        )
    expected = _reference(events)
    got: dict[str, list[str]] = {}
    for r in case_steps(events).iter_rows(named=True):
        got.setdefault(events["case_id"][r["row"]], []).append(r["activity"])
    assert got == expected
