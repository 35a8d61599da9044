"""Tables for people: rounding by meaning, headers in words in both languages, no None or
NaN, Excel-friendly CSV (dashboard/tables.py over analytics/export.py)."""

from __future__ import annotations

import json

import polars as pl
from streamlit.testing.v1 import AppTest

from analytics.export import for_people
from dashboard import tables

# Real-shaped cells from the issue: a vanishing probability, an unrounded amount, NaN, None.
FRAME = pl.DataFrame(
    {
        "queue": ["support", None, "=cmd"],
        "p_breach": [7.538295321948948e-44, 0.12345, float("nan")],
        "amount": [23227.4333, None, 1.005],
        "churn_rate": [0.2534, 1.0, float("inf")],
        "agents": [3.0, 4.6, None],
        "aht_s": [181.4, 0.0, 59.5],
        "calibrated": [True, False, None],
    }
)
KINDS: dict[str, tables.Kind] = {
    "p_breach": "probability",
    "amount": "money",
    "churn_rate": "percent",
    "agents": "count",
    "aht_s": "seconds",
    "calibrated": "flag",
}


def test_numbers_are_rounded_to_what_they_mean():
    out = for_people(FRAME, KINDS)
    assert out["p_breach"].to_list() == [0.0, 0.123, None]  # 3 dp, NaN -> missing
    assert out["amount"].to_list() == [23227.43, None, 1.0]  # 2 dp (1.005 is 1.00499... in binary)
    assert out["churn_rate"].to_list() == [
        25.3,
        100.0,
        None,
    ]  # share -> percent, 1 dp; inf -> missing
    assert out["agents"].to_list() == [3, 5, None] and out["agents"].dtype == pl.Int64
    assert out["aht_s"].to_list() == [181, 0, 60]
    assert out["queue"].to_list() == FRAME["queue"].to_list()  # text untouched


def test_russian_export_has_words_bom_and_no_scientific_notation(lang):
    lang("ru")
    data = tables.export_csv(FRAME, KINDS, currency="RUB")
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].split(";") == [
        "Очередь",
        "Вероятность срыва",
        "Сумма, ₽",
        "Отток в месяц, %",
        "В плане",
        "Время обработки, с",
        "Откалибровано",
    ]
    assert lines[1:] == [
        "support;0;23227,43;25,3;3;181;да",
        ";0,123;;100;5;0;нет",
        "'=cmd;;1;;;60;",  # formula defused; every missing cell empty
    ]
    text = "\n".join(lines)
    assert "e-" not in text and "NaN" not in text and "None" not in text and "inf" not in text


def test_english_export_headers_and_an_override(lang):
    lang("en")
    data = tables.export_csv(FRAME, KINDS, currency="USD", labels={"queue": "Line"})
    assert data.decode("utf-8-sig").splitlines()[0].split(";") == [
        "Line",
        "Breach probability",
        "Amount, $",
        "Churn, a month, %",
        "Planned",
        "Handle time, s",
        "Calibrated",
    ]


def _table_app() -> None:
    import polars as pl

    from dashboard.tables import show

    frame = pl.DataFrame({"segment": ["mass", None], "churn_rate": [0.05, float("nan")]})
    show(frame, {"churn_rate": "percent"}, labels={"segment": "Who"})


def test_show_puts_headers_formats_and_a_dash_for_missing():
    at = AppTest.from_function(_table_app, default_timeout=60).run()
    assert not at.exception
    element = at.dataframe[0]
    assert list(element.value.columns) == ["segment", "churn_rate"]  # names kept for code
    assert element.proto.placeholder == "—"
    config = json.loads(element.proto.columns)
    assert config["segment"]["label"] == "Who"
    assert config["churn_rate"]["label"] == "Churn, a month"
    assert config["churn_rate"]["type_config"] == {
        "type": "number",
        "format": "percent",
        "step": 0.001,
    }
    assert element.value["churn_rate"].isna().tolist() == [False, True]  # NaN sent as missing


def test_dates_read_the_languages_way(lang):
    # 21.04.2025 in Russian, 2025-04-21 in English; a time after the date in both.
    from dashboard.tables import _config

    lang("ru")
    assert _config("started", "date", "", None)["type_config"]["format"] == "DD.MM.YYYY"
    assert _config("time", "datetime", "", None)["type_config"]["format"] == "DD.MM.YYYY HH:mm"
    lang("en")
    assert _config("started", "date", "", None)["type_config"]["format"] == "YYYY-MM-DD"


def _gaps_app() -> None:
    import polars as pl
    import streamlit as st

    from dashboard.tension_view import gaps_table

    st.session_state["lang"] = "RU"
    gaps_table(
        pl.DataFrame(
            {
                "activity": ["agent reply"],
                "measure": ["wait_s"],
                "tau": [0.61],
                "p_value": [1.234e-5],
                "sen_slope_per_week": [12.5],
                "first_half_median": [300.0],
                "last_week": [480.0],
                "growth_per_week": [0.042],
            }
        )
    )


def test_tension_gaps_read_in_russian_with_p_in_russian_marks():
    # A p-value of 1.234e-5 would round to 0 as a number: written "< 0,001" (fmt.p_value).
    at = AppTest.from_function(_gaps_app, default_timeout=60).run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert shown["p_value"].tolist() == ["< 0,001"]
    assert shown["measure"].tolist() == ["ожидание, с"]
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["tau"]["label"] == "τ Кендалла"


def test_canonical_channels_read_as_words_a_companys_own_as_written(lang):
    # phone and self_service are the app's codes; "WhatsApp Business" is the company's.
    frame = pl.DataFrame({"channel": ["phone", "self_service", "WhatsApp Business", None]})
    lang("ru")
    assert tables.channel_words(frame)["channel"].to_list() == [
        "телефон",
        "самообслуживание",
        "WhatsApp Business",
        None,
    ]
    exported = tables.for_export(frame, {})
    assert exported[exported.columns[0]].to_list()[:2] == ["телефон", "самообслуживание"]
    lang("en")
    assert tables.channel_words(frame)["channel"].to_list()[:2] == ["phone", "self-service"]


def test_quarantined_rows_download_in_the_readers_language(lang, tmp_path):
    # a real-shaped export: a negative wait and 31 February, rows 3 and 4 as Excel shows them
    from analytics.io import load_path

    (tmp_path / "events.csv").write_text(
        "case_id,customer_id,timestamp,activity,channel,wait_s\n"
        "A1,C1,2024-02-01 10:00,request,phone,12\n"
        "A1,C1,2024-02-01 10:05,resolved,phone,-3\n"
        "A2,C2,2024-02-31 10:00,request,chat,5\n"
    )
    report = load_path(tmp_path).report.tables["events"]
    assert report.quarantine["row"].to_list() == [3, 4]  # as Excel numbers them
    lang("ru")
    lines = tables.quarantine_csv(report.quarantine, report.reasons).decode("utf-8-sig")
    head, negative, date = lines.splitlines()
    assert head.startswith("Файл;Строка в файле (заголовок — строка 1);Причина;case_id;")
    assert negative.startswith("events.csv;3;wait_s: отрицательное значение;A1;")
    assert negative.endswith(";-3")  # a negative number stays a number for Excel
    assert date.startswith("events.csv;4;timestamp: не дата и время в формате столбца")
    lang("en")
    english = tables.quarantine_csv(report.quarantine, report.reasons).decode("utf-8-sig")
    assert english.splitlines()[1].startswith("events.csv;3;wait_s: negative;")
