"""The Workshop's and the Forecasts page's charts drawn as plain SVG: what each step or
series draws, the hover texts, and when the page keeps plotly's figure instead."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import polars as pl

from analytics.alert_text import headline
from analytics.escalation import Rules
from analytics.story import Figure, Step
from dashboard import i18n, story_view
from dashboard.forecast_view import SERIES_WIDTH_PX, SVG_POINTS, forecast_svg, series_names

NS = "{http://www.w3.org/2000/svg}"
MONTHS = [dt.date(2025, m, 1) for m in (1, 2, 3)]


def _svgs(markup: str) -> list[ET.Element]:
    """The drawings of one markup (a Workshop step may draw two panels)."""
    return list(ET.fromstring(f"<div>{markup}</div>"))


def _titles(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{NS}title")]


def test_green_draws_service_level_and_nps_by_month():
    frame = pl.DataFrame({"month": MONTHS, "sla": [0.95, 0.94, None], "nps": [40.0, 42.5, 41.0]})
    (svg,) = _svgs(story_view.drawing(Step("green", frame=frame), "RUB"))
    # A missing month is left out of its line, not drawn at zero.
    assert _titles(svg) == [
        "Service level, %\nJan 2025: 95.0",
        "Service level, %\nFeb 2025: 94.0",
        "NPS\nJan 2025: 40.0",
        "NPS\nFeb 2025: 42.5",
        "NPS\nMar 2025: 41.0",
    ]
    assert not list(svg.iter(f"{NS}polygon"))  # no churn panel on this step


def test_russian_months_read_as_words_like_the_plotly_axes():
    """The Workshop's months in Russian as plotly's month axes on other pages write them
    (the locale's short month names): its axis, hover texts and the drift bars read
    "01.2025" before."""
    frame = pl.DataFrame({"month": MONTHS, "sla": [0.95, 0.94, 0.93], "nps": [40.0, 41.0, 42.0]})
    drift = pl.DataFrame({"month": MONTHS, "share": [0.02, 0.1, 0.23]})
    with i18n.pinned("ru"):
        (svg,) = _svgs(story_view.drawing(Step("green", frame=frame), "RUB"))
        (bars,) = _svgs(story_view.drawing(Step("drift", frame=drift), "RUB"))
    texts = [t.text or "" for t in svg.iter(f"{NS}text")]
    assert {"янв 2025", "фев 2025", "мар 2025"} <= set(texts)
    assert _titles(svg)[0] == "Уровень сервиса, %\nянв 2025: 95,0"
    labels = [t.text or "" for t in bars.iter(f"{NS}text")]
    assert labels[0] == "янв 2025" and "мар 2025" in labels
    assert not any(re.search(r"\d\d\.2025", t) for t in texts + labels + _titles(svg))


def test_churn_adds_a_panel_with_its_interval():
    frame = pl.DataFrame(
        {
            "month": MONTHS,
            "sla": [0.95, 0.94, 0.95],
            "churn": [0.03, 0.04, 0.05],
            "churn_low": [0.02, 0.03, 0.04],
            "churn_high": [0.04, 0.05, 0.06],
        }
    )
    top, bottom = _svgs(story_view.drawing(Step("churn", frame=frame), "RUB"))
    assert len(_titles(top)) == 3 and not list(top.iter(f"{NS}polygon"))
    assert _titles(bottom)[-1].endswith("Mar 2025: 5.00")
    (band,) = bottom.iter(f"{NS}polygon")
    assert len(band.get("points").split()) == 6  # three highs, three lows


def _region_alert(region: str) -> dict[str, object]:
    """An alert of the default rules' region rule, as the engine raises it."""
    rule = next(r for r in Rules.default().rules if r.id == "region-revenue-at-risk")
    return {
        "signal": rule.signal,
        "zone": f"region {region}",
        "reason": "revenue at risk",
        "owner": rule.owner,
        "action": rule.action,
        "evidence": {"by": "region", "value": region},
    }


def test_money_steps_are_bars_with_exact_amounts_and_others_keep_plotly():
    frame = pl.DataFrame({"zone": ["north", "north"], "money_at_stake": [2_000_000.0, 500.0]})
    labels = (headline(_region_alert("north")),) * 2
    (svg,) = _svgs(story_view.drawing(Step("fix_first", frame=frame, labels=labels), "RUB"))
    texts = [t.text for t in svg.iter(f"{NS}text")]
    # Each alert keeps its bar, named by its headline.
    assert (
        texts[0] == "1. Region north: revenue at risk"
        and "2. Region north: revenue at risk" in texts
    )
    assert _titles(svg) == ["₽2,000,000", "₽500"]
    tension = Step("tension", frame=pl.DataFrame({"week": [1]}))
    assert story_view.drawing(tension, "RUB") is None
    assert story_view.drawing(Step("cost", skipped="story.skip.no_cost"), "RUB") is None


def _series(days: int, start: dt.datetime) -> pl.DataFrame:
    return pl.DataFrame({"time": [start + dt.timedelta(days=i) for i in range(days)]})


def test_a_daily_forecast_is_drawn_with_its_interval_and_hover_texts():
    start = dt.datetime(2025, 3, 1)
    history = _series(3, start).with_columns(volume=pl.Series([10.0, None, 12.0]))
    forecast = _series(2, start + dt.timedelta(days=3)).with_columns(
        mean=pl.Series([11.0, 13.0]), lower=pl.Series([8.0, 9.0]), upper=pl.Series([14.0, 17.0])
    )
    names = {"actual": "Actual", "forecast": "Forecast", "interval": "80 % interval"}
    svg = ET.fromstring(forecast_svg(history, forecast, names, intraday=False))
    assert _titles(svg) == [
        "Actual\n2025-03-01: 10",
        "Actual\n2025-03-03: 12",
        "Forecast\n2025-03-04: 11",
        "Forecast\n2025-03-05: 13",
    ]
    (band,) = svg.iter(f"{NS}polygon")
    assert len(band.get("points").split()) == 4
    texts = [t.text for t in svg.iter(f"{NS}text")]
    assert texts[-3:] == ["80 % interval", "Actual", "Forecast"]  # the legend
    assert "2025-03-01" in texts  # the x axis in dates


def test_a_russian_forecast_writes_its_days_the_russian_way():
    start = dt.datetime(2025, 3, 1)
    history = _series(2, start).with_columns(volume=pl.Series([10.0, 12.0]))
    forecast = _series(1, start + dt.timedelta(days=2)).with_columns(
        mean=pl.Series([11.0]), lower=pl.Series([8.0]), upper=pl.Series([14.0])
    )
    names = {"actual": "Факт", "forecast": "Прогноз", "interval": "Интервал 80 %"}
    with i18n.pinned("ru"):
        svg = ET.fromstring(forecast_svg(history, forecast, names, intraday=False))
    assert _titles(svg)[0] == "Факт\n01.03.2025: 10"
    texts = [t.text for t in svg.iter(f"{NS}text")]
    assert "01.03.2025" in texts and not any("2025-03" in (t or "") for t in texts)


def test_a_forecast_has_axis_titles_in_the_readers_language_at_the_columns_width():
    """Its axes say what they show (they had no titles), from the catalogue; the drawing is
    about the main column's width at 1366 px, so its 12 px texts read 12 px (540 wide, 20)."""
    start = dt.datetime(2025, 3, 1)
    history = _series(2, start).with_columns(volume=pl.Series([10.0, 12.0]))
    forecast = _series(1, start + dt.timedelta(days=2)).with_columns(
        mean=pl.Series([11.0]), lower=pl.Series([8.0]), upper=pl.Series([14.0])
    )
    drawn = {}
    for lang, intraday in (("ru", False), ("ru", True), ("en", False)):
        with i18n.pinned(lang):
            names = series_names(0.8, intraday)
            drawn[lang, intraday] = ET.fromstring(forecast_svg(history, forecast, names, intraday))
    texts = {k: [t.text for t in svg.iter(f"{NS}text")] for k, svg in drawn.items()}
    assert {"Дата", "Обращений в день"} <= set(texts["ru", False])
    assert "Обращений за интервал" in texts["ru", True]
    assert {"Date", "Contacts a day"} <= set(texts["en", False])
    assert drawn["ru", False].get("viewBox").split()[2] == str(SERIES_WIDTH_PX)
    assert 850 <= SERIES_WIDTH_PX <= 950  # the main column at 1366 px: 906 px


def test_a_long_series_is_left_to_plotly():
    start = dt.datetime(2025, 3, 1)
    history = _series(SVG_POINTS, start).with_columns(volume=pl.lit(1.0))
    forecast = _series(1, start).with_columns(
        mean=pl.lit(1.0), lower=pl.lit(0.0), upper=pl.lit(2.0)
    )
    assert forecast_svg(history, forecast, {}, intraday=True) is None


def test_the_first_alert_to_fix_reads_in_russian():
    """The Workshop's last step names the alert, its owner and action in the reader's
    language (they read "region Moscow: revenue at risk; ответственный: regional director.
    Действие: Find and fix ..." before), and its bars by the alerts' headlines."""
    alert = _region_alert("Москва")
    step = Step(
        "fix_first",
        figures={
            "alerts": Figure("count", 1),
            "alert": Figure("sentence", headline(alert)),
            "owner": Figure("text", alert["owner"]),
            "action": Figure("text", alert["action"]),
            "money": Figure("money", 2_000_000.0),
        },
        frame=pl.DataFrame({"zone": [alert["zone"]], "money_at_stake": [2_000_000.0]}),
        labels=(headline(alert),),
    )
    with i18n.pinned("ru"):
        words = story_view.words(step, "RUB")
        (svg,) = _svgs(story_view.drawing(step, "RUB"))
    assert "Регион Москва: выручка под угрозой" in words.headline
    assert "региональный" in words.headline.lower()  # the owner, in Russian
    english = {"region", "revenue", "director", "find", "fix", "failure"}
    assert not english & set(re.findall(r"[a-z]+", words.headline.lower()))
    assert next(t.text for t in svg.iter(f"{NS}text")) == "1. Регион Москва: выручка под угрозой"
