"""Column mapping: which export header feeds which canonical column.

Suggestions come from the synonyms declared in :mod:`analytics.schema`; the user edits
them, and the result is saved as TOML and reused for the next export of the same shape::

    [events]
    date_order = "dmy"          # only needed where the dates cannot settle it

    [events.columns]
    case_id = "Номер обращения"
    wait_s = "Время ожидания, мин"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Literal

import tomli_w

from analytics.schema import TABLES, Table

DateOrder = Literal["dmy", "mdy"]

_UNIT_MINUTES = re.compile(r"\b(мин|минут\w*|min|mins|minutes?)\b")
_UNIT_MS = re.compile(r"\b(мс|ms|msec|milliseconds?)\b")
_UNITS = re.compile(
    r"\b(сек|секунд\w*|с|s|sec|secs|seconds?|мин|минут\w*|min|mins|minutes?|мс|ms|msec|"
    r"milliseconds?|руб|rub|₽)\b"
)


def normalize_header(header: str) -> str:
    """Lower-case, drop units and punctuation: «Время ожидания, сек» -> "время ожидания"."""
    text = header.lower().replace("ё", "е").replace("_", " ")
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


@dataclass
class Mapping:
    """User overrides per table: ``columns[table][canonical] = header``, ``date_order``."""

    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    date_order: dict[str, DateOrder] = field(default_factory=dict)

    def resolve(self, headers: list[str], table: Table) -> dict[str, str]:
        """Suggestions for these headers, overridden by the user's entries that exist here."""
        chosen = suggest(headers, table)
        for canonical, header in self.columns.get(table.name, {}).items():
            if header in headers:
                chosen = {k: v for k, v in chosen.items() if v != header}
                chosen[canonical] = header
            elif header == "":
                chosen.pop(canonical, None)  # the user said: this export has no such column
        return chosen

    def to_toml(self) -> str:
        doc: dict[str, dict[str, object]] = {}
        for table in TABLES:
            section: dict[str, object] = {}
            if table in self.date_order:
                section["date_order"] = self.date_order[table]
            if self.columns.get(table):
                section["columns"] = dict(self.columns[table])
            if section:
                doc[table] = section
        return tomli_w.dumps(doc)

    @classmethod
    def from_toml(cls, text: str) -> Mapping:
        """Parse a mapping file; unknown tables, columns or orders raise ``ValueError``."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"mapping is not valid TOML: {exc}") from exc
        mapping = cls()
        for table_name, section in data.items():
            if table_name not in TABLES or not isinstance(section, dict):
                raise ValueError(f"mapping: unknown table [{table_name}]; known: {list(TABLES)}")
            table = TABLES[table_name]
            columns = section.get("columns", {})
            for canonical, header in columns.items():
                if canonical not in table.names:
                    raise ValueError(
                        f"mapping: [{table_name}.columns] has unknown column {canonical!r}; "
                        f"known: {table.names}"
                    )
                if not isinstance(header, str):
                    raise ValueError(f"mapping: {table_name}.{canonical} must be a header name")
            mapping.columns[table_name] = dict(columns)
            order = section.get("date_order")
            if order is not None:
                if order not in ("dmy", "mdy"):
                    raise ValueError(f"mapping: {table_name}.date_order must be 'dmy' or 'mdy'")
                mapping.date_order[table_name] = order
        return mapping
