"""Exports that are safe to open in Excel.

Text cells that start with ``=``, ``+``, ``-``, ``@``, tab or carriage return are prefixed
with an apostrophe, so a spreadsheet shows them as text instead of running them as
formulas (OWASP's advice against CSV injection). Numbers are left as numbers.
"""

from __future__ import annotations

import io

import polars as pl

_FORMULA_START = r"^[=+\-@\t\r]"


def excel_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every text cell that a spreadsheet would run defused."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def to_csv_bytes(frame: pl.DataFrame, *, excel_locale: bool = True) -> bytes:
    """CSV for people: UTF-8 with BOM, ``;`` and decimal comma (as Russian Excel expects)
    when ``excel_locale``, else plain ``,``-separated UTF-8."""
    safe = excel_safe(frame)
    if excel_locale:
        return b"\xef\xbb\xbf" + safe.write_csv(separator=";", decimal_comma=True).encode("utf-8")
    return safe.write_csv().encode("utf-8")


def to_xlsx_bytes(sheets: dict[str, pl.DataFrame]) -> bytes:
    """An Excel workbook with one sheet per frame (sheet names cut to Excel's 31 chars)."""
    import xlsxwriter

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"strings_to_formulas": False}) as book:
        for name, frame in sheets.items():
            excel_safe(frame).write_excel(book, worksheet=name[:31], autofit=True)
    return buffer.getvalue()
