"""Charts in the reader's language: month and weekday names, decimal comma, grouped thousands.

Plotly.js takes a locale through the chart's config (``locale`` plus ``locales``, the
definitions handed over with the chart instead of a script from a CDN, so it works
offline). Every ``st.plotly_chart`` passes ``config=chart_config()``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboard.i18n import language

# Plotly.js's own Russian locale (lib/locales/ru.js), format part: what axes and hover
# labels print. Russian groups thousands with a (non-breaking) space, decimals with a comma.
_RU_FORMAT = {
    "days": ["воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"],
    "shortDays": ["вс", "пн", "вт", "ср", "чт", "пт", "сб"],
    "months": [
        *("январь", "февраль", "март", "апрель", "май", "июнь"),
        *("июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь"),
    ],
    "shortMonths": [
        *("янв", "фев", "мар", "апр", "май", "июн"),
        *("июл", "авг", "сен", "окт", "ноя", "дек"),
    ],
    "date": "%d.%m.%Y",
    "decimal": ",",
    "thousands": "\u00a0",
}
# The modebar's tooltips.
_RU_DICTIONARY = {
    "Autoscale": "Автомасштаб",
    "Box Select": "Выделить прямоугольником",
    "Double-click to zoom back out": "Двойной щелчок возвращает масштаб",
    "Download plot": "Сохранить график",
    "Download plot as a png": "Сохранить как PNG",
    "Lasso Select": "Выделить лассо",
    "Pan": "Сдвиг",
    "Reset axes": "Сбросить оси",
    "Reset view": "Исходный вид",
    "Zoom": "Масштаб",
    "Zoom in": "Увеличить",
    "Zoom out": "Уменьшить",
    "Toggle Spike Lines": "Линии проекций",
    "Show closest data on hover": "Ближайшая точка при наведении",
    "Compare data on hover": "Сравнить при наведении",
    "Produced with Plotly.js": "Построено в Plotly.js",
}
_LOCALES = {"ru": {"dictionary": _RU_DICTIONARY, "format": _RU_FORMAT}}


def chart_config(**extra: Any) -> dict[str, Any]:
    """The ``config`` of ``st.plotly_chart`` in the current language (plus ``extra``
    options such as ``scrollZoom``)."""
    lang = language()
    if lang not in _LOCALES:
        return dict(extra)
    return {"locale": lang, "locales": {lang: _LOCALES[lang]}, **extra}


def month_label(value: dt.date) -> str:
    """A month as plotly's date axes write it, for months drawn as names (SVG axes, bars,
    hover texts): "янв 2025" in Russian, from the same short month names as the locale
    above, "Jan 2025" in English."""
    names = _LOCALES.get(language(), {}).get("format", {}).get("shortMonths")
    return f"{names[value.month - 1]} {value.year}" if names else value.strftime("%b %Y")
