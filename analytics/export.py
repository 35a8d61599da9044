"""Exports that are safe to open in Excel.

Text cells that start with ``=``, ``+``, ``-``, ``@``, tab or carriage return are prefixed
with an apostrophe, so a spreadsheet shows them as text instead of running them as
formulas (OWASP's advice against CSV injection). Numbers are left as numbers, written
in plain decimals (never ``7.5e-44``).

``for_people`` rounds each column to what it means before export (a column *kind*):

=============  =============================================  ==========================
kind           value                                          written as
=============  =============================================  ==========================
text, date,    as is                                          as is
datetime, flag
count          a whole number of things                       integer
seconds        a duration in seconds                          integer
number         a quantity (calls, agents, months)             1 decimal
decimal        a factor or ratio                              2 decimals
score          an error score (MASE, Brier)                   3 decimals
money          an amount in the dataset's currency            2 decimals
probability    a probability 0..1                             3 decimals
percent        a share 0..1                                   percent, 1 decimal (25.3)
=============  =============================================  ==========================

NaN and infinities become empty cells: a missing number is missing, not ``NaN``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Literal

import polars as pl

Kind = Literal[
    "text",
    "date",
    "datetime",
    "flag",
    "count",
    "seconds",
    "number",
    "decimal",
    "score",
    "money",
    "probability",
    "percent",
]
# Decimal places each numeric kind is rounded to; percent is rounded after * 100.
DECIMALS: dict[str, int] = {
    "count": 0,
    "seconds": 0,
    "number": 1,
    "decimal": 2,
    "score": 3,
    "money": 2,
    "probability": 3,
    "percent": 1,
}

_FORMULA_START = r"^[=+\-@\t\r]"
# A negative number kept as text (a quarantined "-3") is a value to Excel, not a formula.
_NEGATIVE_NUMBER = r"^-\d+([.,]\d+)?$"


def excel_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every text cell that a spreadsheet would run defused (a leading
    ``'``); a plain negative number stays as it is."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START) & ~pl.col(c).str.contains(_NEGATIVE_NUMBER))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def for_people(frame: pl.DataFrame, kinds: Mapping[str, Kind]) -> pl.DataFrame:
    """Numbers rounded to what they mean (the table above); shares as percents; NaN and
    infinities as nulls. Columns without a kind, and non-numeric kinds, stay as they are."""
    columns = []
    for name, dtype in frame.schema.items():
        kind = kinds.get(name, "text")
        if kind not in DECIMALS or not dtype.is_numeric():
            continue
        value = pl.col(name).cast(pl.Float64)
        value = pl.when(value.is_finite()).then(value)  # NaN, inf -> null
        if kind == "percent":
            value = 100 * value
        value = value.round(DECIMALS[kind])
        columns.append((value.cast(pl.Int64) if DECIMALS[kind] == 0 else value).alias(name))
    return frame.with_columns(columns)


def to_csv_bytes(frame: pl.DataFrame, *, excel_locale: bool = True) -> bytes:
    """CSV for people: UTF-8 with BOM, ``;`` and decimal comma (as Russian Excel expects)
    when ``excel_locale``, else plain ``,``-separated UTF-8."""
    safe = excel_safe(frame)
    if excel_locale:
        text = safe.write_csv(separator=";", decimal_comma=True, float_scientific=False)
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return safe.write_csv(float_scientific=False).encode("utf-8")


def to_xlsx_bytes(sheets: dict[str, pl.DataFrame]) -> bytes:
    """An Excel workbook with one sheet per frame (sheet names cut to Excel's 31 chars)."""
    import xlsxwriter

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"strings_to_formulas": False}) as book:
        for name, frame in sheets.items():
            excel_safe(frame).write_excel(book, worksheet=name[:31], autofit=True)
    return buffer.getvalue()
