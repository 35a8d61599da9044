"""Column mapping: which export header feeds which canonical column.

Suggestions come from the synonyms declared in :mod:`analytics.schema`; the user edits
them, and the result is saved as TOML and reused for the next export of the same shape::

    [events]
    date_order = "dmy"          # only needed where the dates cannot settle it

    [events.columns]
    case_id = "Номер обращения"
    wait_s = "Время ожидания, мин"

    missing = ["?", "-"]                    # empty-cell markers, any table (top of the file)
    [files]
    "export_2024.csv" = "calls"             # force a file's table
    [calls.columns]
    arrived_at = ["Дата", "Время входа в очередь"]   # joined with a space, then parsed
    [calls.constants]
    queue = "phone"
    [calls.values.outcome]
    "Фантом" = "other"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Literal

import polars as pl
import tomli_w

from analytics.messages import Message, toml_place
from analytics.schema import TABLES, Table

DateOrder = Literal["dmy", "mdy"]

_UNIT_MINUTES = re.compile(r"\b(мин|минут\w*|min|mins|minutes?)\b")
_UNIT_MS = re.compile(r"\b(мс|ms|msec|milliseconds?)\b")
_UNITS = re.compile(
    r"\b(сек|секунд\w*|с|s|sec|secs|seconds?|мин|минут\w*|min|mins|minutes?|мс|ms|msec|"
    r"milliseconds?|руб|rub|₽)\b"
)


def normalize_header(header: str) -> str:
    """Lower-case, split camelCase, drop units and punctuation: «Время ожидания, сек» ->
    "время ожидания", ``MonthlyCharges`` -> "monthly charges"."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", header)  # customerID -> customer ID
    text = text.lower().replace("ё", "е").replace("_", " ")
    text = re.sub(r"\(.*?\)|\[.*?\]", " ", text)
    text = _UNITS.sub(" ", text)
    text = re.sub(r"[^\w:]+", " ", text)
    return " ".join(text.split())


def header_seconds_factor(header: str) -> float:
    """How many seconds one unit of a duration header is: minutes 60, ms 0.001, else 1."""
    text = header.lower().replace("_", " ")
    if _UNIT_MINUTES.search(text):
        return 60.0
    if _UNIT_MS.search(text):
        return 0.001
    return 1.0


def suggest(headers: list[str], table: Table) -> dict[str, str]:
    """Suggest ``{canonical: header}`` for one file's headers.

    An exact match (after :func:`normalize_header`) on the canonical name or a synonym
    wins; then a header that contains a synonym of four or more letters as whole words.
    Each header is used once; canonical columns are filled in schema order.
    """
    normalized = {h: normalize_header(h) for h in headers}
    taken: set[str] = set()
    result: dict[str, str] = {}
    for exact in (True, False):
        for col in table.columns:
            if col.name in result:
                continue
            keys = [normalize_header(col.name), *(normalize_header(s) for s in col.synonyms)]
            for h in headers:
                if h in taken:
                    continue
                norm = normalized[h]
                hit = norm in keys if exact else any(_contains_words(norm, k) for k in keys)
                if hit:
                    result[col.name] = h
                    taken.add(h)
                    break
    return result


def _contains_words(text: str, words: str) -> bool:
    # Short synonyms ("id", "s") match only exactly: inside a longer header they mislead.
    return len(words) >= 4 and re.search(rf"(^| ){re.escape(words)}( |$)", text) is not None


_KNOWN = ", ".join(TABLES)  # the tables a mapping may name, for its error messages
JOIN = " + "  # the name of a column made by joining headers: «Дата + Время»
DEFAULT_MISSING = ("?", "NULL", "null", "N/A", "n/a", "#N/A", "NaN", "nan", "None", "(null)")


def joined_header(parts: tuple[str, ...]) -> str:
    """The synthetic header of columns joined with a space (date and time in two columns)."""
    return JOIN.join(parts)


def constant_header(value: str) -> str:
    """The synthetic header of a constant the mapping sets for every row."""
    return f"= {value}"


Header = str | tuple[str, ...]


@dataclass
class Mapping:
    """What a user says about an export beyond the suggestions.

    ``columns[table][canonical]`` is a header, or several joined with a space before
    parsing (a date and a time in two columns); ``""`` says the export has no such column.
    ``constants[table][canonical]`` fills a column with one value; ``values[table][column]``
    maps raw values to canonical ones (``"Отвечен" = "answered"``); ``missing`` lists
    markers of an empty cell in any table (beside :data:`DEFAULT_MISSING`); ``files`` forces
    a file's table; ``date_order`` settles d/m vs m/d where the values cannot.
    """

    columns: dict[str, dict[str, Header]] = field(default_factory=dict)
    date_order: dict[str, DateOrder] = field(default_factory=dict)
    constants: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)

    @property
    def missing_markers(self) -> list[str]:
        return sorted({*DEFAULT_MISSING, *self.missing})

    def resolve(self, headers: list[str], table: Table) -> dict[str, str]:
        """``{canonical: header}``: suggestions, overridden by the user's entries that exist
        here. Joined headers and constants appear under their synthetic names (see
        :meth:`prepare`). A header the user assigns may feed several canonical columns."""
        chosen = suggest(headers, table)
        user = self.columns.get(table.name, {})
        for canonical, header in user.items():
            parts = (header,) if isinstance(header, str) else tuple(header)
            if parts == ("",):
                chosen.pop(canonical, None)  # the user said: this export has no such column
            elif all(p in headers for p in parts):
                name = parts[0] if len(parts) == 1 else joined_header(parts)
                chosen = {k: v for k, v in chosen.items() if v != name or k in user}
                chosen[canonical] = name
        for canonical, value in self.constants.get(table.name, {}).items():
            chosen[canonical] = constant_header(value)
        return chosen

    def prepare(self, frame: pl.LazyFrame, table: Table) -> pl.LazyFrame:
        """``frame`` with the synthetic columns that :meth:`resolve` may name."""
        headers = frame.collect_schema().names()
        extra: list[pl.Expr] = []
        for header in self.columns.get(table.name, {}).values():
            parts = (header,) if isinstance(header, str) else tuple(header)
            if len(parts) > 1 and all(p in headers for p in parts):
                text = [pl.col(p).cast(pl.String).str.strip_chars() for p in parts]
                extra.append(pl.concat_str(text, separator=" ").alias(joined_header(parts)))
        for value in self.constants.get(table.name, {}).values():
            extra.append(pl.lit(value, pl.String).alias(constant_header(value)))
        return frame.with_columns(extra) if extra else frame

    def table_of(self, file_name: str) -> str | None:
        """The table a ``[files]`` entry forces for a file (by its name or its base name)."""
        base = file_name.split(":")[0].rsplit("/", 1)[-1]
        return self.files.get(file_name) or self.files.get(base)

    def to_toml(self) -> str:
        doc: dict[str, object] = {}
        if self.missing:
            doc["missing"] = list(self.missing)
        if self.files:
            doc["files"] = dict(self.files)
        for table in TABLES:
            section: dict[str, object] = {}
            if table in self.date_order:
                section["date_order"] = self.date_order[table]
            if self.columns.get(table):
                section["columns"] = {
                    k: v if isinstance(v, str) else list(v) for k, v in self.columns[table].items()
                }
            if self.constants.get(table):
                section["constants"] = dict(self.constants[table])
            if self.values.get(table):
                section["values"] = {k: dict(v) for k, v in self.values[table].items()}
            if section:
                doc[table] = section
        return tomli_w.dumps(doc)

    @classmethod
    def from_toml(cls, text: str) -> Mapping:
        """Parse a mapping file; unknown tables, columns or orders raise ``ValueError`` with
        a :class:`~analytics.messages.Message` (``mapping.*``), English as its text."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(Message("mapping.not_toml", **toml_place(exc))) from exc
        mapping = cls()
        missing = data.pop("missing", [])
        if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
            raise ValueError(Message("mapping.missing"))
        mapping.missing = tuple(missing)
        files = data.pop("files", {})
        for file, table_name in files.items():
            if table_name not in TABLES:
                raise ValueError(
                    Message("mapping.file_table", file=file, table=str(table_name), known=_KNOWN)
                )
        mapping.files = dict(files)
        for table_name, section in data.items():
            if table_name not in TABLES or not isinstance(section, dict):
                raise ValueError(Message("mapping.unknown_table", table=table_name, known=_KNOWN))
            table = TABLES[table_name]
            unknown = sorted(set(section) - {"columns", "date_order", "constants", "values"})
            if unknown:
                raise ValueError(
                    Message(
                        "mapping.unknown_keys",
                        table=table_name,
                        keys=", ".join(unknown),
                        n=len(unknown),
                    )
                )
            columns: dict[str, Header] = {}
            for canonical, header in section.get("columns", {}).items():
                _known_column(table, "columns", canonical)
                if isinstance(header, list) and header and all(isinstance(h, str) for h in header):
                    columns[canonical] = header[0] if len(header) == 1 else tuple(header)
                elif isinstance(header, str):
                    columns[canonical] = header
                else:
                    raise ValueError(Message("mapping.header", table=table_name, column=canonical))
            mapping.columns[table_name] = columns
            constants = section.get("constants", {})
            for canonical, value in constants.items():
                _known_column(table, "constants", canonical)
                if not isinstance(value, str | int | float) or isinstance(value, bool):
                    raise ValueError(
                        Message("mapping.constant", table=table_name, column=canonical)
                    )
            if constants:
                mapping.constants[table_name] = {k: str(v) for k, v in constants.items()}
            values = section.get("values", {})
            for canonical, pairs in values.items():
                _known_column(table, "values", canonical)
                if not isinstance(pairs, dict) or not all(
                    isinstance(v, str) for v in pairs.values()
                ):
                    raise ValueError(Message("mapping.values", table=table_name, column=canonical))
            if values:
                mapping.values[table_name] = {k: dict(v) for k, v in values.items()}
            order = section.get("date_order")
            if order is not None:
                if order not in ("dmy", "mdy"):
                    raise ValueError(Message("mapping.date_order", table=table_name))
                mapping.date_order[table_name] = order
        return mapping


def _known_column(table: Table, section: str, canonical: str) -> None:
    if canonical not in table.names:
        raise ValueError(
            Message(
                "mapping.unknown_column",
                table=table.name,
                section=section,
                column=canonical,
                known=", ".join(table.names),
            )
        )
