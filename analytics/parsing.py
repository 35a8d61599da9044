"""Turning raw export columns into typed canonical columns, with a reason for each reject.

Every rule is a Polars expression over the whole column, so validation costs a few
vectorised passes, never a Python loop over rows.

Conventions (also in the README):

* numbers: spaces and non-breaking spaces are thousands separators; a comma is the
  decimal mark unless the value is English-grouped (``1,234.5``);
* durations: seconds, or ``h:mm:ss`` / ``mm:ss``; a header naming minutes (``мин``,
  ``min``) or milliseconds scales the values;
* dates: one format family per column (ISO, ``dd.mm.yyyy``, slashes or dashes
  (``29-02-2016 01:16``), or compact
  ``yymmdd`` / ``yyyymmdd``); a time-only column beside a date column is joined to it; for slashes
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
from analytics.messages import Message
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
_COMPACT = [  # yymmdd / yyyymmdd, as older ACD systems write dates
    "%y%m%d %H:%M:%S",
    "%y%m%d %H:%M",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
    "%Y%m%d",
    "%y%m%d",
]
_SAMPLE = 20_000
# Families whose day and month order the values settle, with their separator.
_DAY_MONTH = {"slash": "/", "dash": "-"}
OFFSET_LABEL = "ISO 8601 with offset"  # the label of a column whose values carry offsets


@dataclass(frozen=True)
class DateFormat:
    """How one date column is read: chrono formats tried in order, and what settled it."""

    label: str
    formats: tuple[str, ...]
    with_offset: bool = False
    ambiguous: bool = False


@dataclass(frozen=True)
class TextTraits:
    """What one text column's values need, settled once per column so that each value
    is parsed by only the rules it can need (a column without ``:`` skips the clock
    parser, one without spaces skips separator cleaning)."""

    spaces: bool = False
    commas: bool = False
    english: bool = False
    clock: bool = False
    booleans: dict[str, bool] | None = None
    date: DateFormat | None = None


def _family(sample: pl.Series) -> str:
    sample = sample.drop_nulls().str.strip_chars()
    counts = {
        "iso": sample.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}").sum(),
        "dot": sample.str.contains(r"^\d{1,2}\.\d{1,2}\.\d{4}").sum(),
        "slash": sample.str.contains(r"^\d{1,2}/\d{1,2}/\d{4}").sum(),
        "dash": sample.str.contains(r"^\d{1,2}-\d{1,2}-\d{4}").sum(),
        "compact": sample.str.contains(r"^(\d{6}|\d{8})(\s|$)").sum(),
    }
    family = max(counts, key=lambda k: counts[k])
    if counts[family] == 0:
        family = "iso"
    if family == "iso" and sample.str.contains(r"(Z|[+-]\d{2}:?\d{2})$").any():
        return "iso_tz"
    return family


def _slash_fields(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    fields = text.str.extract_groups(r"^\s*(\d{1,2})[/-](\d{1,2})[/-]")
    return (
        fields.struct.field("1").cast(pl.Int32, strict=False).max(),
        fields.struct.field("2").cast(pl.Int32, strict=False).max(),
    )


def _date_format(
    family: str, sample: pl.Series, first: int | None, second: int | None, order: DateOrder | None
) -> DateFormat:
    """The formats of the family that the sample uses, most used first, plus the date-only
    one (exports drop the time at midnight); values in none of them are quarantined."""
    if family == "iso_tz":
        return DateFormat(OFFSET_LABEL, tuple(_ISO_TZ), with_offset=True)
    ambiguous = False
    if family in _DAY_MONTH:
        if first is not None and first > 12:
            settled: DateOrder = "dmy"
        elif second is not None and second > 12:
            settled = "mdy"
        else:
            settled, ambiguous = (order or "dmy"), order is None
        a, b = ("%d", "%m") if settled == "dmy" else ("%m", "%d")
        sep = _DAY_MONTH[family]
        formats = [f.format(a=a, b=b).replace("/", sep) for f in _SLASH]
        label = ("d/m/yyyy h:mm" if settled == "dmy" else "m/d/yyyy h:mm").replace("/", sep)
    elif family == "dot":
        formats, label = list(_DOT), "dd.mm.yyyy hh:mm"
    elif family == "compact":
        formats, label = list(_COMPACT), "yymmdd hh:mm:ss"
    else:
        formats, label = list(_ISO), "ISO 8601 (yyyy-mm-dd hh:mm:ss)"
    text = sample.drop_nulls().str.strip_chars()
    used = {f: text.str.to_datetime(f, strict=False).is_not_null().sum() for f in formats}
    chosen = [f for f in sorted(formats, key=lambda f: -used[f]) if used[f] > 0]
    if formats[-1] not in chosen:
        chosen.append(formats[-1])
    return DateFormat(label, tuple(chosen), ambiguous=ambiguous)


def settle_date_format(values: pl.Series, order: DateOrder | None = None) -> DateFormat:
    """Choose one format family for a text date column from its values.

    The family comes from a sample; for ``d/m/yyyy`` vs ``m/d/yyyy`` every value is
    checked, because one ``13/01/2024`` anywhere settles the whole column.
    """
    family = _family(values.head(_SAMPLE))
    first = second = None
    if family in _DAY_MONTH:
        first, second = pl.select(*_slash_fields(pl.lit(values))).row(0)
    return _date_format(family, values.head(_SAMPLE), first, second, order)


def settle_text_columns(
    lf: pl.LazyFrame,
    columns: dict[str, Column],
    order: DateOrder | None = None,
) -> dict[str, TextTraits]:
    """Settle :class:`TextTraits` for the text columns ``{header: canonical column}`` of
    ``lf`` with one streaming pass over the whole file plus a sample of its head."""
    sample = lf.select(list(columns)).head(_SAMPLE).collect()
    families = {
        h: _family(sample[h]) for h, c in columns.items() if c.kind in (Kind.DATETIME, Kind.DATE)
    }
    aggs: list[pl.Expr] = []
    for h, col in columns.items():
        text = pl.col(h)
        if col.kind in (Kind.FLOAT, Kind.INT, Kind.DURATION):
            aggs += [
                text.str.contains(r"[\s\u00a0\u202f']").any().alias(f"{h}\0spaces"),
                text.str.contains(",", literal=True).any().alias(f"{h}\0commas"),
                (text.str.contains(",", literal=True) & text.str.contains(".", literal=True))
                .any()
                .alias(f"{h}\0english"),
            ]
            if col.kind == Kind.DURATION:
                aggs.append(text.str.contains(":", literal=True).any().alias(f"{h}\0clock"))
        elif col.kind == Kind.BOOL:
            aggs.append(text.unique().implode().alias(f"{h}\0values"))
        elif families.get(h) in _DAY_MONTH:
            first, second = _slash_fields(text)
            aggs += [first.alias(f"{h}\0first"), second.alias(f"{h}\0second")]
    facts = lf.select(aggs).collect(engine="streaming").row(0, named=True) if aggs else {}
    traits: dict[str, TextTraits] = {}
    for h, col in columns.items():

        def fact(name: str, header: str = h) -> object:
            return facts.get(f"{header}\0{name}")

        if col.kind in (Kind.DATETIME, Kind.DATE):
            fmt = _date_format(families[h], sample[h], fact("first"), fact("second"), order)  # type: ignore[arg-type]
            traits[h] = TextTraits(date=fmt)
        elif col.kind == Kind.BOOL:
            values = [v for v in fact("values") or [] if v is not None]  # type: ignore[union-attr]
            traits[h] = TextTraits(booleans=_boolean_values(values))
        else:
            traits[h] = TextTraits(
                spaces=bool(fact("spaces")),
                commas=bool(fact("commas")),
                english=bool(fact("english")),
                clock=bool(fact("clock")),
            )
    return traits


def _boolean_values(values: list[str]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for value in values:
        low = value.strip().lower()
        if low in _TRUE:
            out[value] = True
        elif low in _FALSE:
            out[value] = False
    return out


def parse_number(text: pl.Expr, traits: TextTraits | None = None) -> pl.Expr:
    """Parse text numbers with decimal comma or point and space/nbsp thousands separators."""
    traits = traits or TextTraits(spaces=True, commas=True, english=True)
    cleaned = text.str.replace_all(r"[\s\u00a0\u202f']", "") if traits.spaces else text
    if not traits.commas:
        return cleaned.cast(pl.Float64, strict=False)
    decimal_comma = cleaned.str.replace(",", ".", literal=True)
    if not traits.english:
        return decimal_comma.cast(pl.Float64, strict=False)
    english = cleaned.str.contains(_ENGLISH_GROUPED)
    return (
        pl.when(english)
        .then(cleaned.str.replace_all(",", "", literal=True))
        .otherwise(decimal_comma)
        .cast(pl.Float64, strict=False)
    )


def parse_duration(text: pl.Expr, factor: float, traits: TextTraits | None = None) -> pl.Expr:
    """Seconds from ``h:mm:ss``, ``mm:ss`` or a number in the header's unit."""
    traits = traits or TextTraits(spaces=True, commas=True, english=True, clock=True)
    number = parse_number(text, traits) * factor
    if not traits.clock:
        return number
    parts = text.str.strip_chars().str.split(":")
    n = parts.list.len()

    def part(i: int) -> pl.Expr:
        return parts.list.get(i, null_on_oob=True)

    as_clock = (
        pl.when(n == 3)
        .then(
            part(0).cast(pl.Float64, strict=False) * 3600
            + part(1).cast(pl.Float64, strict=False) * 60
            + parse_number(part(2))
        )
        .when(n == 2)
        .then(part(0).cast(pl.Float64, strict=False) * 60 + parse_number(part(1)))
    )
    return pl.when(text.str.contains(":", literal=True)).then(as_clock).otherwise(number)


def parse_datetime(text: pl.Expr, fmt: DateFormat, timezone: str) -> pl.Expr:
    """Parse with the settled formats; offsets are converted to the local ``timezone``."""
    stripped = text.str.strip_chars()
    attempts = [stripped.str.to_datetime(f, strict=False, time_unit="us") for f in fmt.formats]
    parsed = attempts[0] if len(attempts) == 1 else pl.coalesce(attempts)
    if fmt.with_offset:
        return parsed.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
    return parsed


def parse_bool(text: pl.Expr, values: dict[str, bool] | None = None) -> pl.Expr:
    """Yes/no in English or Russian; ``values`` maps a column's distinct raw values."""
    if values is not None:
        return text.replace_strict(values, default=None, return_dtype=pl.Boolean)
    low = text.str.strip_chars().str.to_lowercase()
    return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)


def typed_expr(
    col: Column,
    raw: pl.Expr,
    dtype: pl.DataType,
    *,
    seconds_factor: float = 1.0,
    traits: TextTraits | None = None,
    timezone: str = "UTC",
) -> pl.Expr:
    """The canonical value of ``col`` from a raw column of type ``dtype`` (null if invalid)."""
    if dtype == pl.String:
        return _from_text(col, raw, seconds_factor, traits or TextTraits(), timezone)
    return _from_typed(col, raw, dtype, seconds_factor, timezone)


def _from_text(
    col: Column, raw: pl.Expr, factor: float, traits: TextTraits, timezone: str
) -> pl.Expr:
    kind = col.kind
    if kind == Kind.STR:
        stripped = raw.str.strip_chars()
        return pl.when(stripped != "").then(stripped)
    if kind == Kind.FLOAT:
        return parse_number(raw, traits)
    if kind == Kind.INT:
        number = parse_number(raw, traits)
        return pl.when(number == number.floor()).then(number).cast(pl.Int64, strict=False)
    if kind == Kind.DURATION:
        return parse_duration(raw, factor, traits)
    if kind == Kind.BOOL:
        return parse_bool(raw, traits.booleans)
    assert traits.date is not None, "date columns need a settled format"
    parsed = parse_datetime(raw, traits.date, timezone)
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


# What a value of each kind should have been (keys of [expected] in analytics/locales).
_EXPECTED = {
    Kind.FLOAT: "float",
    Kind.INT: "int",
    Kind.DURATION: "duration",
    Kind.BOOL: "bool",
    Kind.DATETIME: "datetime",
    Kind.DATE: "date",
}


def reject_checks(
    col: Column, present: pl.Expr, value: pl.Expr, fmt: DateFormat | None
) -> list[tuple[pl.Expr, str]]:
    """The rules a value of ``col`` must pass, in order: ``(broken, reason)`` pairs.

    ``present`` says the export had a non-empty value; ``value`` is the typed result. The
    reasons are :class:`~analytics.messages.Message` s (English as text, Russian in the app).
    """
    checks: list[tuple[pl.Expr, str]] = []
    name = col.name
    if col.required:
        checks.append((~present, Message("quarantine.missing", column=name)))
    if col.kind != Kind.STR:
        expected = Message(f"expected.{_EXPECTED[col.kind]}")
        reason = (
            Message("quarantine.not_kind", column=name, expected=expected)
            if fmt is None
            else Message("quarantine.not_format", column=name, expected=expected, format=fmt.label)
        )
        checks.append((present & value.is_null(), reason))
    if col.minimum is not None and col.maximum is not None:
        outside = (value < col.minimum) | (value > col.maximum)
        low, high = f"{col.minimum:g}", f"{col.maximum:g}"
        checks.append((outside, Message("quarantine.outside", column=name, low=low, high=high)))
    elif col.minimum == 0:
        checks.append((value < 0, Message("quarantine.negative", column=name)))
    return checks
