"""AppTest of the Data page's mapping editor on a real-shaped upload (a Russian per-call
export in Windows-1251 with `;`): a table forced per file, a constant, and the TOML."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.mapping import Mapping

APP = "../dashboard/app.py"
CALLS_RU = Path(__file__).parent / "data" / "shapes" / "calls_ru" / "calls_ru.csv"


def _upload(small_dir, monkeypatch, lang: str = "EN") -> AppTest:
    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    data = CALLS_RU.read_text(encoding="utf-8").encode("cp1251")
    at.session_state["uploads"] = (("выгрузка_звонков.csv", data),)
    at.session_state["source"] = "upload"
    at.session_state["lang"] = lang
    return at.switch_page("app_pages/data.py").run()


@pytest.fixture
def uploaded(small_dir, monkeypatch) -> AppTest:
    return _upload(small_dir, monkeypatch)


def test_a_russian_per_call_upload_is_recognised_without_a_mapping(uploaded):
    at = uploaded
    assert not at.exception
    summary = at.table[0].value
    assert summary["Table"].tolist() == ["per-call records"]
    # 7 rows: the «?» wait is quarantined; «Дата» + «Время входа в очередь» joined
    assert summary["Rows read"].tolist() == [7]
    assert summary["Quarantined"].tolist() == [1]
    assert any("joined into calls.arrived_at" in w.value for w in at.warning)
    assert at.selectbox[0].value == "calls"  # the editor shows the detected table


def test_the_mapping_toml_applies_constants_and_value_maps(uploaded):
    at = uploaded
    toml = '[calls.constants]\nqueue = "phone"\n[calls.values.outcome]\n"Фантом" = "other"\n'
    at.text_area[0].set_value(toml)
    next(b for b in at.button if b.label == "Apply this TOML").click().run()
    assert not at.exception
    mapping = at.session_state["mapping"]
    assert mapping == Mapping.from_toml(toml)
    at.switch_page("app_pages/forecast.py").run()
    assert not at.exception


def test_forcing_another_table_reports_the_file_against_it(uploaded):
    at = uploaded
    at.selectbox[0].set_value("acd")
    next(b for b in at.button if b.label == "Apply mapping").click().run()
    assert not at.exception
    assert at.session_state["mapping"].files == {"выгрузка_звонков.csv": "acd"}
    # as an interval report the file has no interval start: the page says so, and why the
    # sample is shown instead
    assert any("as acd it lacks interval_start" in e.value for e in at.error)


def test_a_bad_mapping_toml_is_an_error_not_a_traceback(uploaded):
    at = uploaded
    at.text_area[0].set_value("[calls.columns]\nnot_a_column = 'x'\n")
    next(b for b in at.button if b.label == "Apply this TOML").click().run()
    assert not at.exception
    assert any("unknown column 'not_a_column'" in e.value for e in at.error)


def _russian_data_page(small_dir, monkeypatch, uploads=()) -> AppTest:
    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["uploads"] = tuple(uploads)
    at.session_state["source"] = "upload" if uploads else "sample"
    at.session_state["lang"] = "RU"
    return at.switch_page("app_pages/data.py").run()


def test_a_bad_mapping_among_the_uploads_reads_in_russian(small_dir, monkeypatch):
    # The engine raised a message (key + values) inside the load error: both in Russian.
    events = b"case_id,timestamp,activity\nA,2024-01-01 10:00,x\nA,2024-01-01 11:00,y\n"
    uploads = (("events.csv", events), ("mapping.toml", b"[orders]\n"))
    at = _russian_data_page(small_dir, monkeypatch, uploads)
    assert not at.exception
    errors = " | ".join(e.value for e in at.error)
    assert "mapping.toml: сопоставление: неизвестная таблица \\[orders\\]; есть: events" in errors


def test_bad_settings_read_in_russian(small_dir, monkeypatch):
    from dashboard.i18n import catalogue

    ru = catalogue("ru")
    at = _russian_data_page(small_dir, monkeypatch)
    next(a for a in at.text_area if a.label == ru["data.settings"]).set_value("sla_goal = 80\n")
    next(b for b in at.button if b.label == ru["data.apply_settings"]).click().run()
    assert not at.exception
    errors = " | ".join(e.value for e in at.error)
    assert "Настройки не применены: ключ настроек «sla_goal» должен быть долей от 0" in errors
