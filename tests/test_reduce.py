"""The reduce stage: the tables by hand on a small log, the folder it writes, the reduce in
parts and the Spark job against the in-memory engine (identical tables), the command."""

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.cli import main
from analytics.io import load_path
from analytics.mapping import Mapping
from analytics.messages import render
from analytics.process import SEP
from analytics.reduce import layout
from analytics.reduce.partitioned import _part, _reduce_part, reduce_parts, split
from analytics.reduce.run import reduce_canonical, reduce_loaded
from analytics.reduce.tables import reduce_dataset
from analytics.schema import Settings

SHAPES = Path(__file__).parent / "data" / "shapes"
STATUS_MAPPING = Mapping(columns={"events": {"channel": "contact_type"}})

# Rows out of time order; K2's first two steps share a second (export order decides).
HAND_LOG = """case_id,customer_id,timestamp,activity,channel,scenario,handle_s,resource
K3,C2,2024-03-02 08:00:20,bot,bot,delivery,,
K2,C1,2024-03-03 10:00:00,request,phone,billing,30,A
K1,C1,2024-03-01 09:10:00,agent reply,chat,billing,120,B
K2,C1,2024-03-03 10:00:00,agent reply,phone,billing,90,A
K3,C2,2024-03-02 08:00:00,bot,bot,delivery,,
K1,C1,2024-03-01 09:00:00,request,phone,billing,60,A
K4,C3,2024-03-05 11:30:00,resolved,internal,billing,,
K3,C2,2024-03-02 08:05:00,resolved,internal,delivery,,
K1,C1,2024-03-01 09:30:00,resolved,internal,billing,,B
K2,C1,2024-03-03 10:20:00,resolved,internal,billing,,A
K3,C2,2024-03-02 08:00:10,bot,bot,delivery,,
K4,C3,2024-03-05 11:00:00,request,phone,billing,60,A
"""


@pytest.fixture(scope="module")
def hand_dir(tmp_path_factory):
    """The hand log beside the bank's per-call export (calls and their phone contacts)."""
    folder = tmp_path_factory.mktemp("hand")
    (folder / "events.csv").write_text(HAND_LOG, encoding="utf-8")
    shutil.copy(SHAPES / "calls" / "bank_calls.csv", folder)
    return folder


def _reduced_into(dataset, tmp_path_factory, name):
    out = tmp_path_factory.mktemp(name) / "out"
    reduce_loaded(dataset, out)
    return out


@pytest.fixture(scope="module")
def hand_out(hand_dir, tmp_path_factory):
    return _reduced_into(load_path(hand_dir), tmp_path_factory, "hand_out")


@pytest.fixture(scope="module")
def company_out(small_dir, tmp_path_factory):
    return _reduced_into(load_path(small_dir), tmp_path_factory, "company_out")


@pytest.fixture(scope="module")
def status_out(tmp_path_factory):
    dataset = load_path(SHAPES / "status_log", STATUS_MAPPING)
    return _reduced_into(dataset, tmp_path_factory, "status_out")


def test_cases_variants_dfg_and_tags_by_hand(hand_out):
    # Default rates: phone 28 and chat 22 a handled minute, 15 a contact (every channel but
    # internal). K1: request 60 s phone = 28 + 15, reply 120 s chat = 44 + 15, resolved
    # internal 0: 102. K2: 30 s phone 14 + 15, 90 s phone 42 + 15: 86. K3: three bot
    # contacts, 15 each: 45. K4: 43.
    # Self-loops: K3's bot -> bot twice of 8 transitions (2 + 2 + 3 + 1): 25 % > 20 %, so
    # paths are collapsed: K3 is bot -> resolved at its first bot (08:00:00 to 08:05:00).
    reduced = layout.read_reduced(hand_out)
    assert reduced.loops.collapsed and reduced.loops.share == pytest.approx(2 / 8)
    cases = reduced.cases.filter(pl.col("case_id").str.starts_with("K"))
    by_id = {r["case_id"]: r for r in cases.iter_rows(named=True)}
    assert {k: by_id[k]["cost"] for k in by_id} == {"K1": 102, "K2": 86, "K3": 45, "K4": 43}
    assert {k: by_id[k]["contacts"] for k in by_id} == {"K1": 2, "K2": 2, "K3": 3, "K4": 1}
    assert {k: by_id[k]["channels"] for k in by_id} == {"K1": 2, "K2": 1, "K3": 0, "K4": 1}
    assert {k: by_id[k]["variant"] for k in by_id} == {
        "K1": SEP.join(["request", "agent reply", "resolved"]),
        "K2": SEP.join(["request", "agent reply", "resolved"]),  # the tie in export order
        "K3": SEP.join(["bot", "resolved"]),
        "K4": SEP.join(["request", "resolved"]),
    }
    assert by_id["K3"]["steps"] == 2 and by_id["K3"]["path_duration_s"] == 300
    assert by_id["K2"]["start"] == dt.datetime(2024, 3, 3, 10) and by_id["K2"]["duration_s"] == 1200
    tagged = {
        t: sorted(cases.filter(pl.col(t))["case_id"]) for t in ("channel_hopping", "bot_loop")
    }
    assert tagged == {"channel_hopping": ["K1"], "bot_loop": ["K3"]}
    # K2 began two days after K1 (same customer, same scenario) ended: a return.
    assert sorted(cases.filter(pl.col("repeat_return"))["case_id"]) == ["K2"]

    hand = reduced.variants.filter(~pl.col("variant").str.starts_with("call"))
    first = hand.row(0, named=True)
    assert first["path"] == ["request", "agent reply", "resolved"] and first["cases"] == 2
    assert first["median_duration_s"] == (1800 + 1200) / 2
    assert first["median_cost"] == (102 + 86) / 2

    edges = {(r["source"], r["target"]): r for r in reduced.dfg.iter_rows(named=True)}
    # request -> agent reply: 600 s in K1, 0 s in K2 (the tie); agent reply -> resolved:
    # 1,200 s in both.
    assert edges["request", "agent reply"]["count"] == 2
    assert edges["request", "agent reply"]["median_s"] == 300
    assert edges["agent reply", "resolved"]["median_s"] == 1200
    assert edges["bot", "resolved"]["median_s"] == 300 and ("bot", "bot") not in edges

    # Billing's one untagged case is K4 (43): K1, the one channel hopper, costs 59 more.
    tags = {r["tag"]: r for r in reduced.tags.iter_rows(named=True)}
    hopping = tags["channel_hopping"]
    assert (hopping["cases"], hopping["mean_cost"]) == (1, 102)
    assert hopping["at_stake"] == pytest.approx(59)
    assert list(reduced.tags["tag"])[:2] == ["channel_hopping", "repeat_return"]


def test_intervals_are_the_calls_interval_report(hand_out):
    # The bank export's report, as the loader derives it (test_calls.py works it by hand).
    dataset = load_path(hand_out)
    reduced = layout.read_reduced(hand_out)
    assert dataset.acd_derived and reduced.intervals is not None
    assert_frame_equal(
        reduced.intervals, dataset.acd.select(reduced.intervals.columns), check_row_order=False
    )
    assert reduced.intervals["offered"].sum() == dataset.acd["offered"].sum() > 0


def test_out_opens_as_the_dataset_that_was_reduced(hand_dir, hand_out, status_out):
    original, again = load_path(hand_dir), load_path(hand_out)
    assert_frame_equal(again.events, original.events)  # phone contacts added once, not twice
    assert_frame_equal(again.calls, original.calls)
    assert again.settings == original.settings
    status = load_path(SHAPES / "status_log", STATUS_MAPPING)
    assert_frame_equal(load_path(status_out).events, status.events)  # no mapping needed now
    assert sorted(p.name for p in (hand_out / "reduced").iterdir()) == [
        "cases.parquet",
        "dfg.parquet",
        "intervals.parquet",
        "manifest.json",
        "tags.parquet",
        "variants.parquet",
    ]


def test_reduced_tables_are_refused_when_the_data_changed(tmp_path, status_out):
    out = tmp_path / "out"
    shutil.copytree(status_out, out)
    assert layout.read_reduced(out).cases.height == 50
    events = pl.read_parquet(out / "events.parquet")
    events.head(events.height - 1).write_parquet(out / "events.parquet")
    with pytest.raises(layout.ReducedError, match=r"events\.parquet changed"):
        layout.read_reduced(out)
    with pytest.raises(layout.ReducedError, match="no reduced tables"):
        layout.read_reduced(tmp_path)


def _same(expected, got, exact=True):
    assert expected.tables().keys() == got.tables().keys()
    for name, table in expected.tables().items():
        if exact:
            assert_frame_equal(got.tables()[name], table)
        else:  # sums of money added in another order agree to the last bits
            assert_frame_equal(
                got.tables()[name], table, check_exact=False, rel_tol=1e-9, abs_tol=1e-9
            )
    assert got.loops == expected.loops


@pytest.mark.parametrize("parts", [1, 3])
def test_reduce_in_parts_equals_in_memory(company_out, hand_out, status_out, parts):
    for out in (company_out, hand_out, status_out):
        dataset = load_path(out)
        got = reduce_parts(
            [out / "events.parquet"],
            dataset.settings,
            parts,
            dataset.calls,
            work=out.parent,
            customers=dataset.customers,
            surveys=dataset.surveys,
        )
        _same(reduce_dataset(dataset), got)


def test_parts_that_read_self_loops_otherwise_are_reduced_again(tmp_path):
    # Ten cases with three self-loops in four transitions, ten with none: 30 of 80
    # transitions (37.5 %) are self-loops, collapsed; split into 7 parts some parts fall
    # under 20 % on their own and are reduced again under the whole log's decision.
    rows = []
    for n in range(20):
        names = ["A", "A", "A", "A", "B"] if n < 10 else ["A", "B", "C", "D", "E"]
        for i, name in enumerate(names):
            rows.append((f"case-{n:02d}", dt.datetime(2024, 1, 1 + n, 9, i), name))
    events = pl.DataFrame(rows, schema=["case_id", "timestamp", "activity"], orient="row")
    events.write_parquet(tmp_path / "events.parquet")
    decided = [
        _reduce_part(_part(p, Settings()), None, ()).collapsed
        for p in split([tmp_path / "events.parquet"], None, 7, tmp_path / "split")
    ]
    assert True in decided and False in decided
    got = reduce_parts([tmp_path / "events.parquet"], Settings(), 7, work=tmp_path)
    expected = reduce_dataset(load_path(tmp_path))
    assert expected.loops.collapsed and expected.loops.share == 30 / 80
    _same(expected, got)


def test_reduce_command_writes_a_dataset_and_says_what_it_wrote(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["reduce", str(SHAPES / "status_log"), str(out), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["rows"]["cases"] == 50 and result["collapsed"]
    parts = tmp_path / "parts"
    assert main(["reduce", str(out), str(parts), "--parts", "2"]) == 0
    assert "polars in 2 parts" in capsys.readouterr().out
    assert_frame_equal(layout.read_reduced(parts).cases, layout.read_reduced(out).cases)


def test_reduce_command_refuses_inputs_it_cannot_use(tmp_path, capsys):
    assert main(["reduce", str(SHAPES / "status_log"), str(tmp_path / "o"), "--parts", "2"]) == 1
    assert "reads canonical Parquet tables" in capsys.readouterr().err
    out = tmp_path / "same"
    shutil.copytree(SHAPES / "status_log", out)
    assert main(["reduce", str(out), str(out)]) == 1
    assert "another folder than INPUT" in capsys.readouterr().err
    assert main(["reduce", str(out), str(tmp_path / "o"), "--parts", "2", "--mapping", "m"]) == 2
    assert "Traceback" not in capsys.readouterr().err


# Spark in local mode: one JVM for the module; whole-stage code generation off, which
# costs more than it saves on a few thousand rows.
@pytest.fixture(scope="module")
def spark():
    from analytics.reduce.spark import session

    spark = session(
        "local[2]",
        partitions=2,
        conf={
            "spark.sql.codegen.wholeStage": "false",
            "spark.sql.codegen.factoryMode": "NO_CODEGEN",
            "spark.driver.extraJavaOptions": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
        },
    )
    yield spark
    spark.stop()


@pytest.mark.parametrize("name", ["company_out", "status_out", "hand_out"])
def test_spark_gives_the_polars_tables(spark, name, request, tmp_path, capsys):
    out = request.getfixturevalue(name)
    target = tmp_path / "spark"
    if name == "hand_out":  # through the command line (its session is the module's)
        assert main(["reduce", str(out), str(target), "--engine", "spark", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["engine"] == "spark"
    else:
        assert reduce_canonical(out, target, "spark").engine == "spark"
    got = layout.read_reduced(target)
    _same(layout.read_reduced(out), got, exact=False)
    assert json.loads((target / "reduced" / "manifest.json").read_text())["engine"] == "spark"
    assert_frame_equal(load_path(target).events, load_path(out).events)


def _json(capsys, *argv: str):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_reduced_folder_opens_as_a_dataset_with_its_tables(
    company_out, small_dir, capsys, monkeypatch
):
    # The same answers from the raw company and from OUT, where they come from the reduced
    # tables: the case views and costs are not computed again (they would raise here).
    commands = [("process", "variants"), ("process", "dfg"), ("cost", "summary")]
    raw = {c: _json(capsys, *c, str(small_dir)) for c in commands}
    assert load_path(company_out).reduced_tables() is not None

    def refuse(*_args, **_kwargs):
        raise AssertionError("computed again instead of read from the reduced tables")

    monkeypatch.setattr("analytics.cases.case_steps", refuse)
    monkeypatch.setattr("analytics.cost.costed_steps", refuse)
    for command in commands:
        assert _json(capsys, *command, str(company_out)) == raw[command], command
    # The variants and the graph need no events at all: OUT is not even loaded.
    monkeypatch.setattr("analytics.cli.load_path", refuse)
    for command in commands[:2]:
        assert _json(capsys, *command, str(company_out)) == raw[command], command


def test_case_costs_of_a_reduced_folder_are_read_from_it(company_out, small_dir, monkeypatch):
    from analytics.cost import case_costs

    raw = case_costs(load_path(small_dir)).sort("case_id")
    monkeypatch.setattr("analytics.cost.costed_steps", lambda *_a, **_k: 1 / 0)
    dataset = load_path(company_out)
    got = case_costs(dataset)
    assert_frame_equal(got.select(raw.columns), raw, check_dtypes=False)
    # Paths read otherwise than the reduce read them: computed from the events again.
    with pytest.raises(ZeroDivisionError):
        case_costs(dataset, closing=["resolved"])


def test_a_reduced_folder_whose_events_changed_is_read_without_its_tables(company_out, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(company_out, out)
    events = pl.read_parquet(out / "events.parquet")
    events.head(events.height - 1).write_parquet(out / "events.parquet")
    dataset = load_path(out)
    assert dataset.reduced_tables() is None
    (stale,) = [w for w in dataset.report.warnings if "changed since the reduce" in w]
    assert f"{out}: events.parquet changed since the reduce" in stale
    # The app shows the same warning in Russian.
    assert render(stale, "ru") == (
        f"{out}: после свёртки изменились файлы events.parquet; выполните `cx-radar reduce` снова"
    )


def test_the_risk_snapshots_are_the_models_own_features(company_out, small_dir):
    from analytics.risk_features import cutoffs, features

    raw = load_path(small_dir)
    table = load_path(company_out).reduced_tables().features
    dates = cutoffs(raw)
    assert sorted(set(table["role"])) == sorted(r for r, d in dates.items() if d)
    for role, cutoffs_of_role in dates.items():
        for cutoff in cutoffs_of_role:
            mine = table.filter(pl.col("cutoff") == cutoff).drop("cutoff", "role")
            assert set(table.filter(pl.col("cutoff") == cutoff)["role"]) == {role}
            assert_frame_equal(mine, features(raw, cutoff))


def test_the_risk_model_of_a_reduced_folder_trains_on_its_snapshots(
    company_out, small_dir, monkeypatch
):
    # The same model, scores and validation from the raw company and from OUT, where the
    # features and case costs are read (computing them from the events would raise here).
    from analytics.risk import train

    raw = train(load_path(small_dir))
    reduced = load_path(company_out)

    def refuse(*_args, **_kwargs):
        raise AssertionError("computed from the events instead of read from the snapshots")

    monkeypatch.setattr("analytics.risk_features._last_answers", refuse)
    monkeypatch.setattr("analytics.cost.costed_steps", refuse)
    got = train(reduced)
    assert (got.mode, got.method, got.split, got.card) == (
        raw.mode,
        raw.method,
        raw.split,
        raw.card,
    )
    assert_frame_equal(got.scored, raw.scored)
    assert_frame_equal(got.validation, raw.validation)


def test_repeat_contacts_of_cases_without_contacts_are_zero(tmp_path):
    # c1: two cases of internal steps only, 0 contacts in 2 cases: 0 repeat contacts (the
    # unsigned counts once gave 0 - 2 = 4,294,967,294); c2: 2 contacts in 1 case: 1.
    (tmp_path / "events.csv").write_text(
        "case_id,customer_id,timestamp,activity,channel\n"
        "k1,c1,2025-03-01 10:00,review,internal\n"
        "k2,c1,2025-03-05 10:00,review,internal\n"
        "k3,c2,2025-03-06 10:00,request,phone\n"
        "k3,c2,2025-03-07 10:00,callback,phone\n",
        encoding="utf-8",
    )
    (tmp_path / "customers.csv").write_text(
        "customer_id,signup_date,churn_date\nc1,2024-01-01,\nc2,2024-01-01,\n", encoding="utf-8"
    )
    from analytics.risk_features import features

    frame = features(load_path(tmp_path), dt.date(2025, 4, 1))
    assert dict(zip(frame["customer_id"], frame["repeat_contacts"], strict=True)) == {
        "c1": 0.0,
        "c2": 1.0,
    }


def test_the_app_shows_the_same_overview_from_a_reduced_folder(company_out, small_dir, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    shown = {}
    for folder in (small_dir, company_out):
        monkeypatch.setenv("CX_RADAR_DATA", str(folder))
        at = AppTest.from_file("../dashboard/app.py", default_timeout=180).run()
        assert not at.exception
        shown[folder] = [(m.label, m.value) for m in at.metric]
        st.cache_data.clear()
        st.cache_resource.clear()
    assert shown[small_dir] and shown[company_out] == shown[small_dir]
