"""AppTest of the global filters: set in the URL, applied on every page, compared on Overview."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.cost import case_costs
from analytics.filters import apply
from analytics.io import load_path
from tests.test_filters import EVENTS, FEBRUARY, TINY

APP = "../dashboard/app.py"  # AppTest resolves paths relative to this file
TIMEOUT = 120


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("filters") / "tiny", TINY)


def _app(folder: Path, monkeypatch: pytest.MonkeyPatch, **params: list[str]) -> AppTest:
    monkeypatch.setenv("CX_RADAR_DATA", str(folder))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at


def _metric(at: AppTest, label: str) -> tuple[str, str]:
    return next((m.value, m.delta) for m in at.metric if m.label == label)


def test_dates_in_the_url_filter_overview_and_cost_and_compare_with_the_month_before(
    tiny_dir, monkeypatch
):
    at = _app(tiny_dir, monkeypatch, dates=["2024-02-01", "2024-02-29"]).run()
    assert not at.exception
    assert at.date_input(key="dates").value == (FEBRUARY.start, FEBRUARY.end)
    assert "Filtered: 2024-02-01 – 2024-02-29." in [c.value for c in at.sidebar.caption]
    # February against 3..31 January (29 days), by hand (see test_filters):
    # SL (4 + 3) / (4 + 6) = 70 % vs 8 / 10 = 80 %; CSAT (2 + 4) / 2 vs 5;
    # contacts per case 3 / 3 vs 3 / 2 (K1's internal step is no contact)
    assert _metric(at, "Service level") == ("70.0%", "-10.0 pp")
    assert _metric(at, "CSAT") == ("3.00", "-2.00")
    assert _metric(at, "Contacts per case") == ("1.00", "-0.50")
    assert _metric(at, "NPS")[1] == "-150.0"  # -50 vs +100
    assert any("previous 29 days (2024-01-03 – 2024-01-31)" in c.value for c in at.caption)

    at.switch_page("app_pages/cost.py").run()
    assert not at.exception
    assert "3 events · 3 customers with events · 2024-02-01 – 2024-02-20" in [
        c.value for c in at.sidebar.caption
    ]
    whole = load_path(tiny_dir)
    february, everything = case_costs(apply(whole, FEBRUARY)), case_costs(whole)
    shown = _metric(at, "Cost per case, median")[0]
    assert shown == f"₽{february['cost'].median():,.0f}"
    assert shown != f"₽{everything['cost'].median():,.0f}"  # the filter made a difference


def test_a_segment_in_the_url_and_the_reset_button(tiny_dir, monkeypatch):
    at = _app(tiny_dir, monkeypatch, segment=["mass"]).run()
    assert not at.exception
    caption = "Filtered: mass. Not split by customer (shown whole): interval report."
    assert caption in [c.value for c in at.sidebar.caption]
    # c1 and c3: K1 (2 contacts), K2 (2), K5 (1): 5 contacts in 3 cases
    assert _metric(at, "Contacts per case")[0] == "1.67"
    assert _metric(at, "Active customers")[0] == "2"
    assert any("Pick a date range" in c.value for c in at.caption)  # no period, no change
    next(b for b in at.sidebar.button if b.label == "Reset filters").click().run()
    assert not at.exception
    assert at.multiselect(key="segment").value == []
    assert not any(c.value.startswith("Filtered") for c in at.sidebar.caption)
    assert _metric(at, "Active customers")[0] == "5"


def test_choices_the_data_lacks_get_no_widget_and_russian_reads_its_dates(tmp_path, monkeypatch):
    folder = _write(tmp_path / "log", {"events.csv": EVENTS})
    at = _app(folder, monkeypatch, lang=["RU"], dates=["2024-02-01", "2024-02-29"]).run()
    assert not at.exception
    keys = {w.key for w in at.sidebar.multiselect}
    assert keys == {"channel"}  # no customers table: no segment or region to choose
    assert "Отфильтровано: 01.02.2024 – 29.02.2024." in [c.value for c in at.sidebar.caption]
    assert any("(03.01.2024 – 31.01.2024)" in c.value for c in at.caption)
    # the span the pages cover, under the filters: days as the date inputs write them
    (covered,) = [c.value for c in at.sidebar.caption if "с событиями" in c.value]
    assert re.search(r"с событиями · 01\.02\.2024 – \d\d\.02\.2024$", covered), covered
    # 3 contacts in 3 cases against 3 in 2 (see test_filters)
    assert _metric(at, "Контактов на обращение") == ("1,00", "-0,50")


def test_escalations_under_a_filter_leave_out_what_the_slice_does_not_raise(tiny_dir, monkeypatch):
    import os

    from analytics.store import Store

    # An alert the whole data raised on an earlier run, still open in the state store.
    old = {"rule": "region-revenue-at-risk", "zone": "region Kazan", "reason": "revenue at risk"}
    old |= {"owner": "regional director", "severity": "high", "money_at_stake": 1000.0}
    old |= {"first_seen": "2024-03-01T00:00:00", "last_seen": "2024-03-01T00:00:00"}
    with Store.open(os.environ["CX_RADAR_STATE"]) as store:
        store.save_alerts({"old-alert": old | {"status": "open"}}, "2024-03-01T00:00:00")

    def statuses(at: AppTest) -> list[str]:
        table = next(d.value for d in at.dataframe if "status" in d.value.columns)
        return list(table["status"])

    at = _app(tiny_dir, monkeypatch).run()
    at.switch_page("app_pages/escalations.py").run()
    assert not at.exception
    assert "resolved" in statuses(at)  # the whole data no longer raises it: resolved
    at = _app(tiny_dir, monkeypatch, dates=["2024-02-01", "2024-02-29"]).run()
    at.switch_page("app_pages/escalations.py").run()
    assert not at.exception
    assert "resolved" not in statuses(at)  # outside the slice is not resolved
    assert any(c.value.startswith("The sidebar filters are on") for c in at.caption)


@pytest.mark.parametrize(("lang", "written"), [("EN", "YYYY-MM-DD"), ("RU", "DD.MM.YYYY")])
def test_date_inputs_write_a_day_as_the_tables_and_captions_do(
    tiny_dir, monkeypatch, lang, written
):
    """One format per language: the sidebar's range, Tension's baseline and the tables'
    date columns (2024-02-01 in English, 01.02.2024 in Russian, as the captions write it)."""
    at = _app(tiny_dir, monkeypatch, lang=[lang]).run()
    assert not at.exception
    assert at.date_input(key="dates").proto.format == written
    at.switch_page("app_pages/tension.py").run()
    assert not at.exception
    assert at.date_input(key="tension_baseline").proto.format == written
