"""Tables for people: one way to show a frame and to let it be downloaded.

``kinds`` names what each column holds (``analytics.export.Kind``: count, money,
percent, probability, seconds, ...). From it a table gets

* headers in words from the ``[columns]`` catalogue section (the column name itself when
  there is no entry, e.g. a pivot's segment names), with the unit where it has one
  (``Стоимость, ₽``, ``Ожидание, с``); ``labels`` overrides a header;
* numbers in the reader's locale (Streamlit's ``localized`` format, decimals from the
  kind), shares as percents with one decimal, missing values (None, NaN) as ``—``;
* a ``channel`` column's canonical codes in words (``телефон``, not ``phone``);
* an export with the same headers, numbers rounded to what they mean
  (``analytics.export.for_people``), yes/no in words, UTF-8 with BOM for Excel.

The frame keeps its column names, so AppTest still sees ``at.dataframe[i].value`` by
name. Everything is vectorised: no Python callback runs inside Polars.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from functools import partial
from typing import Any

import polars as pl
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from analytics.export import DECIMALS, Kind, for_people, to_csv_bytes
from dashboard.fmt import symbol
from dashboard.i18n import catalogue, channel, date_format, in_language, language, t, tr

MISSING = "—"
_STEP = {0: 1, 1: 0.1, 2: 0.01, 3: 0.001}


def header(
    name: str,
    kind: Kind = "text",
    currency: str = "",
    labels: Mapping[str, str] | None = None,
    *,
    export: bool = False,
) -> str:
    """The column's header in words, with its unit: a currency sign for money, seconds,
    and (in exports, where the number is 25.3 rather than 25.3 %) a percent sign."""
    text = (labels or {}).get(name) or catalogue(language()).get(f"columns.{name}") or name
    unit = {
        "money": symbol(currency) if currency else "",
        "seconds": t("tables.seconds"),
        "percent": "%" if export else "",
    }.get(kind, "")
    return f"{text}, {unit}" if unit else text


def _config(name: str, kind: Kind, currency: str, labels: Mapping[str, str] | None) -> ColumnConfig:
    label = header(name, kind, currency, labels)
    if kind in ("percent", "probability"):
        # Streamlit's percent keeps (decimals - 2) places of the share: 0.001 -> 25.3 %.
        return st.column_config.NumberColumn(label, format="percent", step=0.001)
    if kind in DECIMALS:
        places = 0 if kind == "money" else DECIMALS[kind]  # whole money on screen
        return st.column_config.NumberColumn(label, format="localized", step=_STEP[places])
    if kind == "flag":
        return st.column_config.CheckboxColumn(label)
    day = date_format()  # 21.04.2025 in Russian
    if kind == "date":
        return st.column_config.DateColumn(label, format=day)
    if kind == "datetime":
        return st.column_config.DatetimeColumn(label, format=f"{day} HH:mm")
    return st.column_config.TextColumn(label)


def whole(values: pl.Series) -> bool:
    """Every present value is a whole number (3.0, not 6.5; NaN is not): a float column
    that reads as a count, without a ",0" on every row."""
    return bool((values % 1 == 0).all())


def kind_of(name: str, dtype: pl.DataType, kinds: Mapping[str, Kind]) -> Kind:
    """The column's kind: as given, else read from its type (dates, times, flags, whole
    numbers as counts, other numbers with one decimal, the rest as text)."""
    if name in kinds:
        return kinds[name]
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Boolean:
        return "flag"
    if dtype.is_integer():
        return "count"
    return "number" if dtype.is_float() else "text"


def _finite(frame: pl.DataFrame) -> pl.DataFrame:
    """NaN and infinities as nulls, which the table shows as ``—``; a ``channel`` column's
    canonical codes (``phone``, ``self_service``) in words."""
    floats = [c for c, d in frame.schema.items() if d.is_float()]
    return channel_words(frame).with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats
    )


def channel_words(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its ``channel`` column's canonical codes in the reader's words (the
    table shows a company's other values as it wrote them)."""
    if frame.schema.get("channel") != pl.String:
        return frame
    names = {c: channel(c) for c in frame["channel"].drop_nulls().unique()}
    return frame.with_columns(pl.col("channel").replace(names))


def show(
    frame: pl.DataFrame,
    kinds: Mapping[str, Kind],
    *,
    currency: str = "",
    labels: Mapping[str, str] | None = None,
    key: str | None = None,
    height: int | str = "auto",
    wide: Collection[str] = (),
    row_height: int | None = None,
) -> None:
    """``st.dataframe`` with headers in words, formatted numbers and ``—`` for missing.
    Columns in ``wide`` (long text) get 400 px before the others share what is left; a
    ``row_height`` over 64 px (Streamlit's 4rem) lets their text wrap instead of being cut."""
    config = {
        c: _config(c, kind_of(c, d, kinds), currency, labels) for c, d in frame.schema.items()
    }
    for c in wide:
        config[c] = {**config[c], "width": "large"}  # type: ignore[typeddict-item]
    st.dataframe(
        _finite(frame),
        hide_index=True,
        width="stretch",
        height=height,  # type: ignore[arg-type]
        key=key,
        placeholder=MISSING,
        column_config=config,
        row_height=row_height,
    )


def static(frame: pl.DataFrame, formats: Mapping[str, Callable[[Any], str]]) -> None:
    """``st.table`` (whole, its sentences wrapping) with the figure columns in ``formats``
    kept as numbers and written by their function (``1 289 119``, ``257 080 402 ₽``):
    Streamlit right-aligns a numeric column as the grids do, a column of text never (a
    Styler's text-align is not honoured)."""
    styled = frame.to_pandas().style.format(dict(formats), na_rep=MISSING)
    st.table(styled, hide_index=True)


def for_export(
    frame: pl.DataFrame,
    kinds: Mapping[str, Kind],
    *,
    currency: str = "",
    labels: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """The frame as a person downloads it: numbers rounded by kind, yes/no in words,
    headers in words with their units (CSV and Excel sheets alike)."""
    rounded = for_people(channel_words(frame), kinds)
    flags = [c for c, d in rounded.schema.items() if d == pl.Boolean]
    words = rounded.with_columns(
        pl.when(pl.col(c))
        .then(pl.lit(t("tables.yes")))
        .when(~pl.col(c))
        .then(pl.lit(t("tables.no")))
        .alias(c)
        for c in flags
    )
    return words.rename(
        {
            c: header(c, kind_of(c, d, kinds), currency, labels, export=True)
            for c, d in frame.schema.items()
        }
    )


def export_csv(
    frame: pl.DataFrame,
    kinds: Mapping[str, Kind],
    *,
    currency: str = "",
    labels: Mapping[str, str] | None = None,
) -> bytes:
    """``for_export`` as CSV: ``;`` and decimal comma, UTF-8 with BOM (Excel opens it)."""
    return to_csv_bytes(for_export(frame, kinds, currency=currency, labels=labels))


def download(
    frame: pl.DataFrame,
    kinds: Mapping[str, Kind],
    name: str,
    *,
    currency: str = "",
    labels: Mapping[str, str] | None = None,
    label: str | None = None,
    key: str | None = None,
) -> None:
    """A download button for ``export_csv`` of the frame, saved as ``name`` (.csv), written
    when asked for (in this run's language), not on every redraw."""
    st.download_button(
        label or t("tables.download"),
        in_language(partial(export_csv, frame, kinds, currency=currency, labels=labels)),
        file_name=name if name.endswith(".csv") else f"{name}.csv",
        mime="text/csv",
        key=key,
    )


def quarantine_csv(frame: pl.DataFrame, reasons: Iterable[object]) -> bytes:
    """The quarantined rows for a person: the reason in the reader's language (``reasons``:
    the table report's messages, whose English the frame holds), headers in words."""
    words = {str(r): tr(r) for r in reasons}
    people = frame.with_columns(pl.col("reason").replace(words))
    names = {c: t(f"data.quarantine_{c}") for c in ("file", "row", "reason")}
    # an export's own column of that name keeps it; ours keep their codes
    return to_csv_bytes(people.rename({c: n for c, n in names.items() if n not in frame.columns}))
