import datetime as dt

import polars as pl
import pytest

from analytics.parsing import parse_bool, parse_duration, parse_number, settle_date_format


def _apply(expr, values):
    return (
        pl.DataFrame({"x": values}, schema={"x": pl.String}).select(expr.alias("y"))["y"].to_list()
    )


def test_numbers_with_decimal_comma_and_thousands():
    values = ["12,5", "1 234,56", "1\u00a0234,5", "1,234.5", "7", "-3,25", "abc", None, "1.5"]
    assert _apply(parse_number(pl.col("x")), values) == [
        12.5,
        1234.56,
        1234.5,
        1234.5,
        7.0,
        -3.25,
        None,
        None,
        1.5,
    ]


def test_durations_from_clock_and_units():
    values = ["00:01:05", "2:30", "90", "1,5", "x:y"]
    assert _apply(parse_duration(pl.col("x"), 60.0), values) == [65.0, 150.0, 5400.0, 90.0, None]


def test_booleans_in_two_languages():
    values = ["да", "Нет", "TRUE", "0", "maybe", None]
    assert _apply(parse_bool(pl.col("x")), values) == [True, False, True, False, None, None]


def _settle(values, order=None):
    return settle_date_format(pl.Series(values, dtype=pl.String), order)


def test_day_first_settled_by_a_day_above_12():
    fmt = _settle(["01/02/2024 10:00", "13/02/2024 09:30"])
    assert fmt.label == "d/m/yyyy h:mm" and not fmt.ambiguous


def test_month_first_settled_by_a_second_field_above_12():
    fmt = _settle(["01/02/2024 10:00", "02/13/2024 09:30"])
    assert fmt.label == "m/d/yyyy h:mm" and not fmt.ambiguous


def test_ambiguous_column_uses_the_mapping_or_says_so():
    assert _settle(["01/02/2024", "03/04/2024"]).ambiguous
    fmt = _settle(["01/02/2024", "03/04/2024"], "mdy")
    assert fmt.label == "m/d/yyyy h:mm" and not fmt.ambiguous


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05 10:07:08", dt.datetime(2024, 3, 5, 10, 7, 8)),
        ("2024-03-05T10:07", dt.datetime(2024, 3, 5, 10, 7)),
        ("2024-03-05", dt.datetime(2024, 3, 5)),
        ("05.03.2024 10:07", dt.datetime(2024, 3, 5, 10, 7)),
        ("5.3.2024", dt.datetime(2024, 3, 5)),
    ],
)
def test_common_formats_parse(value, expected):
    from analytics.parsing import parse_datetime

    fmt = _settle([value])
    assert _apply(parse_datetime(pl.col("x"), fmt, "Europe/Moscow"), [value]) == [expected]


def test_offsets_convert_to_local_time():
    from analytics.parsing import parse_datetime

    values = ["2024-03-05T07:00:00Z", "2024-03-05T10:00:00+03:00"]
    fmt = _settle(values)
    assert fmt.with_offset
    # Moscow is UTC+3 all year: both are 10:00 local.
    assert (
        _apply(parse_datetime(pl.col("x"), fmt, "Europe/Moscow"), values)
        == [dt.datetime(2024, 3, 5, 10, 0)] * 2
    )
