"""Numbers on screen in one convention per language: the app's own formatter
(dashboard/fmt.py, metric tiles and sentences) writes a percent as the tables' ``percent``
format does, which is the browser's ``Intl.NumberFormat``: ``8.1%`` in English,
``8,1 %`` (a no-break space) in Russian."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Browser

from dashboard.fmt import compact_money, p_value, percent, up_to


@pytest.mark.parametrize(
    ("code", "share", "decimals", "text"),
    [
        ("en", 0.081, 1, "8.1%"),
        ("en", 0.32, 0, "32%"),
        ("en", 12.345, 1, "1,234.5%"),
        ("ru", 0.081, 1, "8,1\u00a0%"),
        ("ru", 0.32, 0, "32\u00a0%"),
        ("ru", 12.345, 1, "1\u00a0234,5\u00a0%"),
    ],
)
def test_percent_follows_the_languages_convention(lang, code, share, decimals, text):
    lang(code)
    assert percent(share, decimals) == text


def test_a_missing_percent_is_a_dash(lang):
    lang("en")
    assert percent(None) == percent(float("nan")) == "—"


@pytest.mark.browser
def test_percent_reads_as_the_browsers_intl_format(browser: Browser, lang):
    """What Chromium's Intl writes for the locales the app's grids run in (en-US, ru-RU)."""
    shares = [0.081, 0.32, 0.0005, 12.345, -0.104]
    page = browser.new_page()
    try:
        for code, locale in (("en", "en-US"), ("ru", "ru-RU")):
            intl = page.evaluate(
                """([locale, shares]) => shares.map(s => new Intl.NumberFormat(locale,
                    {style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1}
                ).format(s))""",
                [locale, shares],
            )
            lang(code)
            assert [percent(s) for s in shares] == intl, code
    finally:
        page.close()


@pytest.mark.parametrize(
    ("code", "months", "text"),
    [("en", 11.99, "12"), ("en", 12.0, "12"), ("en", 3.46, "3.5"), ("ru", 3.46, "3,5")],
)
def test_months_whole_without_decimals_fractional_with_one(lang, code, months, text):
    lang(code)
    assert up_to(months) == text


@pytest.mark.parametrize(
    ("code", "p", "sign", "text"),
    [
        ("en", 4.2e-10, True, "< 0.001"),  # not 4.2e-10, which reads as code
        ("ru", 4.2e-10, False, "< 0,001"),
        ("en", 0.0123, True, "= 0.012"),
        ("ru", 0.0123, False, "0,012"),
        ("ru", float("nan"), True, "—"),
    ],
)
def test_a_p_value_reads_as_a_threshold_or_three_decimals(lang, code, p, sign, text):
    lang(code)
    assert p_value(p, sign=sign) == text


@pytest.mark.parametrize(
    ("code", "value", "tick", "text"),
    [
        ("ru", 300e6, True, "300\u00a0млн\u00a0₽"),  # an axis tick: no ",0"
        ("ru", 300e6, False, "300,0\u00a0млн\u00a0₽"),  # a tile keeps its precision
        ("ru", 2.5e6, True, "2,5\u00a0млн\u00a0₽"),
        ("en", 150e3, True, "₽150K"),
        ("en", 21.42e6, False, "₽21.42M"),
    ],
)
def test_compact_money_ticks_drop_zero_decimals(lang, code, value, tick, text):
    lang(code)
    assert compact_money(value, "RUB", tick=tick) == text


@pytest.mark.parametrize(
    ("code", "value", "text"),
    [
        ("ru", dt.date(2025, 6, 23), "23.06.2025"),
        ("ru", "2025-06-23", "23.06.2025"),  # the engine's ISO text (an alert's week)
        ("ru", "2026-01-06T09:00:00", "06.01.2026"),  # a stored time: its day
        ("en", "2025-06-23", "2025-06-23"),
        ("ru", "next week", "next week"),  # not a day: kept
        ("ru", None, "…"),
    ],
)
def test_days_read_the_languages_way_from_a_date_or_iso_text(lang, code, value, text):
    from dashboard.filters import day

    lang(code)
    assert day(value) == text
