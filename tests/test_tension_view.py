"""Sen's slope in words: per period, in the indicator's own unit, signed."""

from __future__ import annotations

import pytest

from dashboard.tension_view import slope_words


@pytest.mark.parametrize(
    ("code", "slope", "indicator", "frequency", "text"),
    [
        # a share's slope is in percentage points: 0.002755 a week = 0.28 pp a week
        ("en", 0.002755, "abandonment", "week", "+0.28 pp a week"),
        ("ru", 0.002755, "abandonment", "week", "+0,28\u00a0п.\u00a0п. в неделю"),
        ("en", -0.0101, "sl_miss", "day", "-1.01 pp a day"),
        ("en", 1.234, "asa", "day", "+1.23 s a day"),
        ("ru", 1.234, "asa", "week", "+1,23\u00a0с в неделю"),
        ("en", -0.0312, "csat", "week", "-0.03 points a week"),
        ("en", 12.5, "cost_per_case", "week", "+₽12.50 a week"),
        ("ru", 12.5, "cost_per_case", "week", "+12,50\u00a0₽ в неделю"),
        ("en", 0.0, "transfers", "week", "0.00 pp a week"),
    ],
)
def test_slope_in_the_indicators_unit_per_period(lang, code, slope, indicator, frequency, text):
    lang(code)
    assert slope_words(slope, indicator, frequency, "RUB") == text
