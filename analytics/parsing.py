"""Turning raw export columns into typed canonical columns, with a reason for each reject.

Every rule is a Polars expression over the whole column, so validation costs a few
vectorised passes, never a Python loop over rows.

Conventions (also in the README):

* numbers: spaces and non-breaking spaces are thousands separators; a comma is the
  decimal mark unless the value is English-grouped (``1,234.5``);
* durations: seconds, or ``h:mm:ss`` / ``mm:ss``; a header naming minutes (``мин``,
  ``min``) or milliseconds scales the values;
* dates: one format family per column (ISO, ``dd.mm.yyyy``, or slashes); for slashes
  the column's values settle the order (a first field above 12 means day-first, a
  second field above 12 month-first); when nothing settles it, the mapping's
  ``date_order`` decides, and without one day-first is assumed and a warning says so.
  ISO values with an offset are converted to the dataset time zone; all timestamps
  are stored as naive local time in that zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analytics.mapping import DateOrder
from analytics.schema import Column, Kind

_TRUE = ["true", "1", "yes", "y", "да", "д", "истина", "t", "x", "+"]
_FALSE = ["false", "0", "no", "n", "нет", "н", "ложь", "f", "-"]
_ENGLISH_GROUPED = r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"

_ISO = [
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
]
_ISO_TZ = ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z"]
_DOT = ["%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"]
_SLASH = ["{a}/{b}/%Y %H:%M:%S", "{a}/{b}/%Y %H:%M", "{a}/{b}/%Y"]
_SAMPLE = 20_000


@dataclass(frozen=True)
class DateFormat:
    """How one date column is read: chrono formats tried in order, and what settled it."""

    label: str
    formats: tuple[str, ...]
    with_offset: bool = False
    ambiguous: bool = False


def settle_date_format(values: pl.Series, order: DateOrder | None = None) -> DateFormat:
    """Choose one format family for a text date column from its values.

    The family comes from a sample; for ``d/m/yyyy`` vs ``m/d/yyyy`` every value is
    checked, because one ``13/01/2024`` anywhere settles the whole column.
    """
    present = values.drop_nulls()
    sample = present.head(_SAMPLE).str.strip_chars()
    counts = {
        "iso": sample.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}").sum(),
        "dot": sample.str.contains(r"^\d{1,2}\.\d{1,2}\.\d{4}").sum(),
        "slash": sample.str.contains(r"^\d{1,2}/\d{1,2}/\d{4}").sum(),
    }
    family = max(counts, key=lambda k: counts[k])
    if counts[family] == 0 or family == "iso":
        if sample.str.contains(r"(Z|[+-]\d{2}:?\d{2})$").any():
            return DateFormat("ISO 8601 with offset", tuple(_ISO_TZ), with_offset=True)
        return DateFormat("ISO 8601 (yyyy-mm-dd hh:mm:ss)", tuple(_ISO))
    if family == "dot":
        return DateFormat("dd.mm.yyyy hh:mm", tuple(_DOT))
    fields = present.str.extract_groups(r"^\s*(\d{1,2})/(\d{1,2})/")
    first = fields.struct.field("1").cast(pl.Int32, strict=False).max()
    second = fields.struct.field("2").cast(pl.Int32, strict=False).max()
    ambiguous = False
    if first is not None and first > 12:
        settled: DateOrder = "dmy"
    elif second is not None and second > 12:
        settled = "mdy"
    else:
        settled, ambiguous = (order or "dmy"), order is None
    a, b = ("%d", "%m") if settled == "dmy" else ("%m", "%d")
    label = "d/m/yyyy h:mm" if settled == "dmy" else "m/d/yyyy h:mm"
    return DateFormat(label, tuple(f.format(a=a, b=b) for f in _SLASH), ambiguous=ambiguous)


def parse_number(text: pl.Expr) -> pl.Expr:
    """Parse text numbers with decimal comma or point and space/nbsp thousands separators."""
    cleaned = text.str.replace_all(r"[\s\u00a0\u202f']", "")
    english = cleaned.str.contains(_ENGLISH_GROUPED)
    return (
        pl.when(english)
        .then(cleaned.str.replace_all(",", ""))
        .otherwise(cleaned.str.replace(",", ".", literal=True))
        .cast(pl.Float64, strict=False)
    )


def parse_duration(text: pl.Expr, factor: float) -> pl.Expr:
    """Seconds from ``h:mm:ss``, ``mm:ss`` or a number in the header's unit."""
    parts = text.str.strip_chars().str.split(":")
    n = parts.list.len()
    as_clock = (
        pl.when(n == 3)
        .then(
            parts.list.get(0, null_on_oob=True).cast(pl.Float64, strict=False) * 3600
            + parts.list.get(1, null_on_oob=True).cast(pl.Float64, strict=False) * 60
            + parse_number(parts.list.get(2, null_on_oob=True))
        )
        .when(n == 2)
        .then(
            parts.list.get(0, null_on_oob=True).cast(pl.Float64, strict=False) * 60
            + parse_number(parts.list.get(1, null_on_oob=True))
        )
    )
    return pl.when(text.str.contains(":")).then(as_clock).otherwise(parse_number(text) * factor)


def parse_datetime(text: pl.Expr, fmt: DateFormat, timezone: str) -> pl.Expr:
    """Parse with the settled formats; offsets are converted to the local ``timezone``."""
    stripped = text.str.strip_chars()
    if fmt.with_offset:
        parsed = pl.coalesce(
            [stripped.str.to_datetime(f, strict=False, time_unit="us") for f in fmt.formats]
        )
        return parsed.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
    return pl.coalesce(
        [stripped.str.to_datetime(f, strict=False, time_unit="us") for f in fmt.formats]
    )


def parse_bool(text: pl.Expr) -> pl.Expr:
    low = text.str.strip_chars().str.to_lowercase()
    return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)


def typed_expr(
    col: Column,
    raw: pl.Expr,
    dtype: pl.DataType,
    *,
    seconds_factor: float = 1.0,
    date_format: DateFormat | None = None,
    timezone: str = "UTC",
) -> pl.Expr:
    """The canonical value of ``col`` from a raw column of type ``dtype`` (null if invalid)."""
    if dtype == pl.String:
        return _from_text(col, raw, seconds_factor, date_format, timezone)
    return _from_typed(col, raw, dtype, seconds_factor, timezone)


def _from_text(
    col: Column, raw: pl.Expr, factor: float, fmt: DateFormat | None, timezone: str
) -> pl.Expr:
    kind = col.kind
    if kind == Kind.STR:
        return raw.str.strip_chars()
    if kind == Kind.FLOAT:
        return parse_number(raw)
    if kind == Kind.INT:
        number = parse_number(raw)
        return pl.when(number == number.floor()).then(number).cast(pl.Int64, strict=False)
    if kind == Kind.DURATION:
        return parse_duration(raw, factor)
    if kind == Kind.BOOL:
        return parse_bool(raw)
    assert fmt is not None, "date columns need a settled format"
    parsed = parse_datetime(raw, fmt, timezone)
    return parsed.dt.date() if kind == Kind.DATE else parsed


def _from_typed(
    col: Column, raw: pl.Expr, dtype: pl.DataType, factor: float, timezone: str
) -> pl.Expr:
    kind = col.kind
    if kind == Kind.STR:
        return raw.cast(pl.String)
    if kind in (Kind.FLOAT, Kind.INT):
        number = raw.cast(pl.Float64, strict=False)
        if kind == Kind.INT:
            return pl.when(number == number.floor()).then(number).cast(pl.Int64, strict=False)
        return number
    if kind == Kind.DURATION:
        if isinstance(dtype, pl.Duration):
            return raw.dt.total_microseconds().cast(pl.Float64) / 1e6
        return raw.cast(pl.Float64, strict=False) * factor
    if kind == Kind.BOOL:
        if dtype == pl.Boolean:
            return raw
        number = raw.cast(pl.Float64, strict=False)
        return pl.when(number == 1).then(True).when(number == 0).then(False)
    if isinstance(dtype, pl.Datetime):
        moment = raw
        if dtype.time_zone is not None:
            moment = raw.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
        moment = moment.dt.cast_time_unit("us")
    elif dtype == pl.Date:
        moment = raw.cast(pl.Datetime("us"))
    else:
        return pl.lit(None, dtype=pl.Date if kind == Kind.DATE else pl.Datetime("us"))
    return moment.dt.date() if kind == Kind.DATE else moment


def output_dtype(col: Column) -> pl.DataType:
    return {
        Kind.STR: pl.String(),
        Kind.FLOAT: pl.Float64(),
        Kind.INT: pl.Int64(),
        Kind.DURATION: pl.Float64(),
        Kind.BOOL: pl.Boolean(),
        Kind.DATETIME: pl.Datetime("us"),
        Kind.DATE: pl.Date(),
    }[col.kind]


_EXPECTED = {
    Kind.FLOAT: "a number",
    Kind.INT: "a whole number",
    Kind.DURATION: "a duration (seconds or h:mm:ss)",
    Kind.BOOL: "yes/no",
    Kind.DATETIME: "a date and time",
    Kind.DATE: "a date",
}


def reject_reason(col: Column, present: pl.Expr, value: pl.Expr, fmt: DateFormat | None) -> pl.Expr:
    """Why a row's value of ``col`` is rejected, or null when it is fine.

    ``present`` says the export had a non-empty value; ``value`` is the typed result.
    """
    checks: list[tuple[pl.Expr, str]] = []
    if col.required:
        checks.append((~present, f"missing {col.name}"))
    if col.kind != Kind.STR:
        expected = _EXPECTED[col.kind]
        if fmt is not None:
            expected = f"{expected} in the column's format {fmt.label}"
        checks.append((present & value.is_null(), f"{col.name}: not {expected}"))
    if col.minimum is not None and col.maximum is not None:
        outside = (value < col.minimum) | (value > col.maximum)
        checks.append((outside, f"{col.name}: outside {col.minimum:g}..{col.maximum:g}"))
    elif col.minimum == 0:
        checks.append((value < 0, f"{col.name}: negative"))
    if not checks:
        return pl.lit(None, dtype=pl.String)
    expr = pl.when(checks[0][0]).then(pl.lit(checks[0][1]))
    for cond, reason in checks[1:]:
        expr = expr.when(cond).then(pl.lit(reason))
    return expr.otherwise(pl.lit(None, dtype=pl.String))
