import datetime as dt
import io
import tomllib
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.io import load_path, load_sources, read_uploads
from analytics.mapping import Mapping

BAD = Path(__file__).parent / "data" / "bad"

RUSSIAN_EXPORT = """Номер обращения;Клиент;Дата обращения;Этап;Канал;Время ожидания, мин;Ручная обработка
A1;K1;01.02.2024 10:00;запрос;Телефон;1,5;нет
A1;K1;01.02.2024 10:05;решено;Чат;-3;да
A2;K2;31.02.2024 10:00;запрос;голубь;2;нет
A3;;02.02.2024 11:00;запрос;звонок;00:01:05;да
;K3;02.02.2024 11:00;запрос;звонок;5;нет
A4;K4;02.02.2024 12:00;запрос;VOICE;;
"""


def _load(files, mapping=None):
    return load_sources(read_uploads(files), mapping)


@pytest.mark.parametrize("name", sorted(tomllib.loads((BAD / "expected.toml").read_text("utf-8"))))
def test_bad_files_give_one_clear_message(name):
    expected = tomllib.loads((BAD / "expected.toml").read_text("utf-8"))[name]
    dataset = load_path(BAD / name)
    assert dataset.report.errors == tuple(expected)
    assert not dataset.report.usable


def test_russian_cp1251_semicolon_export_is_accounted_for():
    dataset = _load([("обращения.csv", RUSSIAN_EXPORT.encode("cp1251"))])
    report = dataset.report.tables["events"]
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (6, 3, 3)
    assert report.reasons == {
        "missing case_id": 1,
        "timestamp: not a date and time in the column's format dd.mm.yyyy hh:mm": 1,
        "wait_s: negative": 1,
    }
    events = dataset.events
    assert events["case_id"].to_list() == ["A1", "A3", "A4"]
    assert events["customer_id"].to_list() == ["K1", "A3", "K4"]  # no customer: the case
    assert events["channel"].to_list() == ["phone", "phone", "phone"]
    assert events["wait_s"].to_list() == [90.0, 65.0, None]  # minutes header; h:mm:ss
    assert events["is_manual"].to_list() == [False, True, None]
    assert events["timestamp"][0] == dt.datetime(2024, 2, 1, 10, 0)
    quarantine = report.quarantine
    assert quarantine["row"].to_list() == [3, 4, 6]  # as Excel numbers them: header = 1
    assert quarantine["Канал"].to_list() == ["Чат", "голубь", "звонок"]


def test_unknown_channel_values_are_kept_and_listed():
    csv = "case_id,timestamp,activity,channel\nA,2024-01-01 10:00,x,pigeon\nB,2024-01-01 10:00,x,Чат\n"
    dataset = _load([("events.csv", csv.encode())])
    assert dataset.events["channel"].to_list() == ["pigeon", "chat"]
    assert "events.channel: 1 value(s) not recognised, kept as they are: 'pigeon' (1 rows)" in (
        dataset.report.warnings
    )


def test_utf8_bom_comma_file_and_decimal_point():
    csv = "\ufeffcase_id,timestamp,activity,wait_s\nA,2024-01-01 10:00,x,12.5\n"
    dataset = _load([("events.csv", csv.encode("utf-8"))])
    assert dataset.events["wait_s"].to_list() == [12.5]


def test_duplicate_customers_are_quarantined_first_kept():
    customers = "customer_id,segment,monthly_revenue\nC1,mass,100\nC2,vip,200\nC1,mass,300\n"
    events = (
        "case_id,customer_id,timestamp,activity\nA,C1,2024-01-01 10:00,x\nB,C9,2024-01-01 10:00,x\n"
    )
    dataset = _load([("customers.csv", customers.encode()), ("events.csv", events.encode())])
    report = dataset.report.tables["customers"]
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 2, 1)
    assert report.reasons == {"duplicate customer_id (first row kept)": 1}
    assert dataset.customers["monthly_revenue"].to_list() == [100.0, 200.0]
    assert any(
        "1 row(s) of 1 customer(s) not in the customers table" in w for w in dataset.report.warnings
    )


def test_ranges_and_cross_column_rules():
    surveys = (
        "customer_id,date,nps,csat\nC1,2024-01-01,11,5\nC2,2024-01-02,9,0\nC3,2024-01-03,10,5\n"
    )
    acd = "interval_start,offered,answered\n2024-01-01 10:00,10,12\n2024-01-01 10:30,10,9\n"
    events = "case_id,timestamp,activity\nA,2024-01-01 10:00,x\n"
    dataset = _load(
        [
            ("surveys.csv", surveys.encode()),
            ("acd.csv", acd.encode()),
            ("events.csv", events.encode()),
        ]
    )
    assert dataset.report.tables["surveys"].reasons == {
        "csat: outside 1..5": 1,
        "nps: outside 0..10": 1,
    }
    assert dataset.report.tables["acd"].reasons == {"answered greater than offered": 1}


def test_ties_keep_export_row_order():
    csv = "case_id,timestamp,activity\nA,2024-01-01 10:00,first\nA,2024-01-01 10:00,second\nA,2024-01-01 10:00,third\n"
    events = _load([("events.csv", csv.encode())]).events
    ordered = events.sort("case_id", "timestamp", "row_nr")
    assert ordered["activity"].to_list() == ["first", "second", "third"]


def test_pure_event_log_is_accepted():
    csv = "case:concept:name,concept:name,time:timestamp\n1,a,2024-01-01T10:00:00\n1,b,2024-01-01T10:05:00\n"
    dataset = _load([("log.csv", csv.encode())])
    assert dataset.report.usable
    assert dataset.events["customer_id"].to_list() == ["1", "1"]
    assert (
        "events: no customer column; each case is treated as its own customer"
        in dataset.report.warnings
    )


def test_mapping_decides_ambiguous_dates():
    csv = "case_id,timestamp,activity\nA,01/02/2024 10:00,x\n"
    plain = _load([("events.csv", csv.encode())])
    assert plain.events["timestamp"][0] == dt.datetime(2024, 2, 1, 10, 0)
    assert plain.report.tables["events"].ambiguous_dates
    assert any("fit both d/m/yyyy and m/d/yyyy" in w for w in plain.report.warnings)
    us = _load([("events.csv", csv.encode())], Mapping(date_order={"events": "mdy"}))
    assert us.events["timestamp"][0] == dt.datetime(2024, 1, 2, 10, 0)


def test_mapping_maps_unusual_headers():
    csv = "Ticket No,When,What happened\nA,2024-01-01 10:00,x\n"
    unmapped = _load([("export.csv", csv.encode())])
    assert not unmapped.report.usable
    mapping = Mapping(
        columns={
            "events": {"case_id": "Ticket No", "timestamp": "When", "activity": "What happened"}
        }
    )
    assert _load([("export.csv", csv.encode())], mapping).events.height == 1


def test_parquet_excel_zip_and_folder(tmp_path, small_company):
    events = small_company.events.head(50)
    parquet = io.BytesIO()
    events.write_parquet(parquet)
    book = io.BytesIO()
    events.write_excel(book, worksheet="events")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("export/events.csv", events.write_csv())
        zf.writestr("export/settings.toml", 'currency = "EUR"\n')
    for name, data in [
        ("e.parquet", parquet.getvalue()),
        ("e.xlsx", book.getvalue()),
        ("e.zip", archive.getvalue()),
    ]:
        dataset = _load([(name, data)])
        assert dataset.events.height == 50, name
        assert dataset.events["timestamp"].to_list() == events["timestamp"].to_list(), name
    assert _load([("e.zip", archive.getvalue())]).settings.currency == "EUR"
    (tmp_path / "events.csv").write_text(events.write_csv(), encoding="utf-8")
    (tmp_path / "readme.pdf").write_bytes(b"%PDF")
    folder = load_path(tmp_path)
    assert folder.events.height == 50
    assert (
        "readme.pdf: not a data file (.csv, .parquet, .xlsx or .zip), ignored"
        in folder.report.warnings
    )


def test_generated_company_loads_without_loss(small_dir, small_company):
    dataset = load_path(small_dir)
    for name in ("events", "customers", "acd", "surveys"):
        report = dataset.report.tables[name]
        assert report.rows_read == report.rows_loaded == getattr(small_company, name).height
    assert dataset.report.errors == ()


GOOD = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
        lambda d: d.strftime("%d.%m.%Y %H:%M")
    ),
    st.sampled_from(["request", "agent reply"]),
    st.floats(min_value=0, max_value=1e5, allow_nan=False).map(
        lambda x: f"{x:.2f}".replace(".", ",")
    ),
)
BROKEN = st.one_of(
    GOOD.map(lambda r: ("", *r[1:])),  # missing case
    GOOD.map(lambda r: (r[0], "32.13.2024 25:00", *r[2:])),  # impossible date
    GOOD.map(lambda r: (*r[:3], "-" + r[3] if r[3] != "0,00" else "-1")),  # negative wait
    GOOD.map(lambda r: (*r[:3], "soon")),  # not a number
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.booleans(), GOOD, BROKEN), min_size=1, max_size=40))
def test_every_row_is_accounted_for(rows):
    lines = ["case_id;timestamp;activity;wait_s"]
    good = 0
    for is_good, g, b in rows:
        lines.append(";".join(g if is_good else b))
        good += is_good
    dataset = _load([("events.csv", "\n".join(lines).encode("cp1251"))])
    report = dataset.report.tables["events"]
    assert report.rows_read == len(rows) == report.rows_loaded + report.rows_quarantined
    assert report.rows_loaded == good
    assert sum(report.reasons.values()) == report.rows_quarantined
    assert dataset.events.height == good


def test_file_that_turns_cp1251_after_its_first_bytes(tmp_path):
    # The head (64 KiB) is plain ASCII, so the file is scanned as UTF-8 from disk; the
    # Cyrillic near the end is Windows-1251, and the loader must fall back, not fail.
    rows = ["case_id;timestamp;activity"]
    rows += [f"C{i};2024-01-01 10:00;request" for i in range(4000)]
    rows.append("Z;2024-01-01 11:00;Жалоба")
    (tmp_path / "events.csv").write_bytes("\n".join(rows).encode("cp1251"))
    dataset = load_path(tmp_path)
    assert dataset.report.errors == ()
    assert dataset.events.height == 4001
    assert dataset.events["activity"][-1] == "Жалоба"
