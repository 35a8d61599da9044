"""Per-call records: loading real shapes and the interval report derived from them.

The numbers below are worked by hand from the files in ``tests/data/shapes`` (see each
test's comment) under the conventions of :mod:`analytics.calls`.
"""

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.calls import interval_report, service_level
from analytics.cli import main
from analytics.io import load_path
from analytics.mapping import Mapping

SHAPES = Path(__file__).parent / "data" / "shapes"
BANK = SHAPES / "calls" / "bank_calls.csv"
RU = SHAPES / "calls_ru" / "calls_ru.csv"
RU_MAPPING = Mapping.from_toml((SHAPES / "calls_ru" / "calls_ru.toml").read_text(encoding="utf-8"))


def test_a_bank_export_is_recognised_as_calls_with_date_and_time_joined():
    dataset = load_path(BANK)
    assert list(dataset.report.tables) == ["calls"]
    assert dataset.report.errors == ()
    calls = dataset.calls
    assert calls is not None and calls.height == 12
    # «date» 990102 + «vru_exit» 9:00:10 -> one timestamp (yymmdd, unsorted rows kept)
    first = calls.filter(pl.col("call_id") == "33200")
    assert first["arrived_at"].item() == dt.datetime(1999, 1, 2, 9, 0, 10)
    assert any("joined into calls.arrived_at" in w for w in dataset.report.warnings)


def test_bank_export_service_level_by_hand():
    # Offered: 7 answered (AGENT) + 3 HANG after waits 153, 60 and 1 s = 10; the HANG with
    # a zero wait never reached the queue and the PHANTOM is not offered.
    # In target (wait <= 20 s): waits 17, 0, 20, 5, 0 of the answered -> 5 of 10 = 0.5.
    # ASA = (17 + 0 + 42 + 20 + 5 + 30 + 0) / 7 = 114 / 7.
    # AHT = (54 + 208 + 190 + 120 + 300 + 120 + 60) / 7 = 1052 / 7.
    # Patience = waits of the offered (153+17+0+42+20+60+5+30+1+0 = 328) / 3 abandoned.
    totals = service_level(load_path(BANK).acd)
    assert (totals.offered, totals.answered, totals.abandoned) == (10, 7, 3)
    assert totals.service_level == pytest.approx(0.5)
    assert totals.asa_s == pytest.approx(114 / 7)
    assert totals.aht_s == pytest.approx(1052 / 7)
    assert totals.abandonment == pytest.approx(0.3)
    assert totals.patience_s == pytest.approx(328 / 3)


def test_bank_export_intervals_by_hand():
    acd = load_path(BANK).acd
    assert acd is not None
    rows = {r["interval_start"]: r for r in acd.to_dicts()}
    assert sorted(rows) == [
        dt.datetime(1999, 1, 1, 0, 0),
        dt.datetime(1999, 1, 1, 6, 30),
        dt.datetime(1999, 1, 1, 7, 30),
        dt.datetime(1999, 1, 1, 8, 0),
        dt.datetime(1999, 1, 2, 9, 0),
    ]  # 00:30 has only the zero-wait hang-up: no offered call, no interval
    busy = rows[dt.datetime(1999, 1, 1, 7, 30)]
    # 7:41 (wait 0, talk 208, BASCH), 7:42 (42, 190, MICHAL), 7:51 (20, 120, BASCH)
    assert (busy["offered"], busy["answered"], busy["answered_in_target"]) == (3, 3, 2)
    assert busy["aht_s"] == pytest.approx((208 + 190 + 120) / 3)
    assert busy["asa_s"] == pytest.approx((0 + 42 + 20) / 3)
    assert busy["agents"] == 2  # distinct agents who answered
    assert busy["wait_total_s"] == 62


def test_bank_export_warnings_teach():
    warnings = " | ".join(load_path(BANK).report.warnings)
    assert "«0» (8 rows) look like placeholders" in warnings
    assert "1 row(s) reuse an id of another row (e.g. «33119»)" in warnings
    assert "unique together with arrived_at" in warnings


def test_placeholder_callers_are_unknown_and_known_callers_become_phone_contacts():
    dataset = load_path(BANK)
    assert dataset.calls["customer_id"].null_count() == 8
    events = dataset.events
    # customers 9664491, 27543549 and 12345 (twice) are identified: 4 one-step phone cases
    assert events.height == 4
    assert events["channel"].unique().to_list() == ["phone"]
    assert sorted(events["customer_id"].unique().to_list()) == ["12345", "27543549", "9664491"]
    answered = events.filter(pl.col("outcome") == "resolved")
    assert sorted(answered["handle_s"].to_list()) == [54.0, 300.0]


def test_interval_length_is_a_setting():
    calls = load_path(BANK).calls
    assert interval_report(calls, interval_min=60).height == 5
    # at 15 minutes 7:41/7:42 (07:30) and 7:51 (07:45) fall apart
    assert interval_report(calls, interval_min=15).height == 6


def test_short_abandons_are_not_offered():
    calls = load_path(BANK).calls
    # the hang-up after 1 s is offered at the default 0 s, and short at 5 s
    assert interval_report(calls, short_abandon_s=5)["offered"].sum() == 9


def test_russian_export_with_a_mapping_by_hand():
    # Дата + Время входа в очередь joined; «?» and «-» are empty cells; Фантом is other.
    # Offered: answered waits 12, 25, 8 (the «?» wait is quarantined) + one Брошен after 40 s;
    # the Брошен after 0 s is not offered. SL = 2 / 4; ASA = 45 / 3; AHT = 360 / 3;
    # patience = (12 + 25 + 40 + 8) / 1.
    dataset = load_path(RU, RU_MAPPING)
    report = dataset.report.tables["calls"]
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (7, 6, 1)
    assert report.reasons == {"missing wait_s": 1}
    totals = service_level(dataset.acd)
    assert (totals.offered, totals.answered, totals.abandoned) == (4, 3, 1)
    assert totals.service_level == pytest.approx(0.5)
    assert totals.asa_s == pytest.approx(15.0)
    assert totals.aht_s == pytest.approx(120.0)
    assert totals.patience_s == pytest.approx(85.0)
    assert dataset.acd["queue"].unique().to_list() == ["phone"]  # the mapping's constant
    assert dataset.calls["agent"].null_count() == 3  # «?» is no agent called "?"


def test_a_file_failing_its_best_table_is_reported_against_it(tmp_path):
    # a per-call export without a queue-wait column: calls fits best; never loaded as surveys
    (tmp_path / "export.csv").write_text(
        "call_id,customer_id,date,vru_exit,outcome,ser_time,server\n"
        "1,5,990101,7:00:00,AGENT,10,A\n",
        encoding="utf-8",
    )
    dataset = load_path(tmp_path / "export.csv")
    assert dataset.report.errors[0].startswith("export.csv: as calls it lacks wait_s")
    assert "surveys" not in dataset.report.tables


def test_cli_service_level_json(capsys):
    assert main(["service-level", str(BANK), "--json", "--interval-min", "60"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["offered"] == 10 and out["service_level"] == pytest.approx(0.5)
    assert out["aht_s"] == pytest.approx(1052 / 7)
    assert len(out["intervals"]) == 5
    assert set(out["intervals"][0]) == {
        "interval_start",
        "queue",
        "offered",
        "answered",
        "abandoned",
        "answered_in_target",
        "aht_s",
        "agents",
        "service_level",
    }


def test_cli_service_level_from_an_interval_report(tmp_path, capsys):
    acd = load_path(BANK).acd
    acd.write_csv(tmp_path / "acd_report.csv")
    assert main(["service-level", str(tmp_path / "acd_report.csv"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["offered"] == 10 and out["service_level"] == pytest.approx(0.5)
    assert out["patience_s"] == pytest.approx(328 / 3)


_CALL = st.tuples(
    st.integers(0, 3 * 24 * 3600),  # arrival, seconds into three days
    st.sampled_from(["answered", "abandoned", "other"]),
    st.floats(0, 600, allow_nan=False),
    st.floats(0, 900, allow_nan=False),
    st.sampled_from(["q1", "q2", None]),
    st.sampled_from(["a", "b", "c", None]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_CALL, min_size=1, max_size=60), st.sampled_from([15, 30, 60]))
def test_interval_totals_equal_call_level_totals(rows, minutes):
    start = dt.datetime(2024, 1, 1)
    calls = pl.DataFrame(
        {
            "arrived_at": [start + dt.timedelta(seconds=r[0]) for r in rows],
            "outcome": [r[1] for r in rows],
            "wait_s": [r[2] for r in rows],
            "talk_s": [r[3] for r in rows],
            "queue": [r[4] for r in rows],
            "agent": [r[5] for r in rows],
        }
    )
    totals = service_level(interval_report(calls, interval_min=minutes))
    answered = calls.filter(pl.col("outcome") == "answered")
    abandoned = calls.filter((pl.col("outcome") == "abandoned") & (pl.col("wait_s") > 0))
    offered = answered.height + abandoned.height
    assert totals.offered == offered
    assert (totals.answered, totals.abandoned) == (answered.height, abandoned.height)
    if offered:
        in_target = answered.filter(pl.col("wait_s") <= 20).height
        assert totals.service_level == pytest.approx(in_target / offered)
    if answered.height:
        assert totals.asa_s == pytest.approx(answered["wait_s"].mean())
        assert totals.aht_s == pytest.approx(answered["talk_s"].mean())


def test_a_mapping_toml_beside_the_exports_is_used(tmp_path):
    (tmp_path / "calls_ru.csv").write_bytes(RU.read_bytes())
    (tmp_path / "mapping.toml").write_text('[calls.constants]\nqueue = "phone"\n', encoding="utf-8")
    dataset = load_path(tmp_path)
    assert dataset.acd["queue"].unique().to_list() == ["phone"]
    (tmp_path / "mapping.toml").write_text("[calls.columns]\nnope = 'x'\n", encoding="utf-8")
    errors = load_path(tmp_path).report.errors
    assert errors[0].startswith("mapping.toml: mapping: [calls.columns] has unknown column")


def test_an_itsm_log_with_dashed_day_first_dates_loads(tmp_path):
    # the public ITSM log's copy writes 29-02-2016 01:16; 29 > 12 settles day-first
    (tmp_path / "incidents.csv").write_text(
        "number,incident_state,sys_updated_at,assignment_group,reopen_count\n"
        "INC1,New,29-02-2016 01:16,?,0\n"
        "INC1,Resolved,1-3-2016 10:05,Group 70,0\n",
        encoding="utf-8",
    )
    dataset = load_path(tmp_path)
    events = dataset.events.sort("timestamp")
    assert dataset.report.tables["events"].rows_quarantined == 0
    assert events["timestamp"].to_list() == [
        dt.datetime(2016, 2, 29, 1, 16),
        dt.datetime(2016, 3, 1, 10, 5),
    ]
    assert events["resource"].to_list() == [None, "Group 70"]  # «?» is no group
