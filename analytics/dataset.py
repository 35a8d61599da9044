"""A loaded dataset and the report of how it was loaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from analytics.schema import Settings


@dataclass(frozen=True)
class TableReport:
    """How one canonical table was loaded.

    Invariant: ``rows_read == rows_loaded + rows_quarantined``. ``quarantine`` holds
    every rejected row with ``file``, ``row`` (1-based data row in that file; the header
    is not counted), ``reason`` (the first rule it broke) and its raw values as text.
    """

    table: str
    files: tuple[str, ...]
    rows_read: int
    rows_loaded: int
    quarantine: pl.DataFrame
    mappings: dict[str, dict[str, str]] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    ambiguous_dates: bool = False  # some d/m vs m/d column could not be settled by its values
    # The reasons as engine messages (analytics.messages), so the app shows them translated.
    messages: tuple[str, ...] = ()

    @property
    def rows_quarantined(self) -> int:
        return self.quarantine.height

    @property
    def reasons(self) -> dict[str, int]:
        if self.quarantine.is_empty():
            return {}
        counts = (
            self.quarantine.group_by("reason")
            .len()
            .sort(["len", "reason"], descending=[True, False])
        )
        known = {str(m): m for m in self.messages}  # each text back to its message
        reasons = [known.get(r, r) for r in counts["reason"].to_list()]
        return dict(zip(reasons, counts["len"].to_list(), strict=True))

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": list(self.files),
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "reasons": self.reasons,
            "mapping": self.mappings,
            "date_formats": self.date_formats,
        }


@dataclass(frozen=True)
class LoadReport:
    """Per-table reports plus file-level errors (unusable input) and warnings."""

    tables: dict[str, TableReport]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        """True when some table loaded at least one row: each page works on what it has."""
        return any(t.rows_loaded > 0 for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "tables": {name: rep.to_dict() for name, rep in self.tables.items()},
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Dataset:
    """The canonical tables of one company, its settings, and how they were loaded.

    ``events`` always has every canonical column (absent ones are typed nulls) plus
    ``row_nr``, the row's position in the exports, which breaks timestamp ties.
    Optional tables are ``None`` when not supplied.
    """

    name: str
    content_hash: str
    events: pl.DataFrame
    customers: pl.DataFrame | None
    acd: pl.DataFrame | None
    surveys: pl.DataFrame | None
    settings: Settings
    report: LoadReport
    calls: pl.DataFrame | None = None
    acd_derived: bool = False  # acd is the interval report of ``calls``, not an export
    # (content hash, analytics.reduce.tables.Reduced) of a folder `cx-radar reduce` wrote
    reduced: tuple[str, Any] | None = None

    def reduced_tables(self) -> Any:
        """The tables a reduce computed for exactly this data and these settings (the
        folder was written by ``cx-radar reduce``), an ``analytics.reduce.tables.Reduced``;
        None otherwise, and once the data are filtered or the settings changed (either
        gives another content hash)."""
        if self.reduced is None or self.reduced[0] != self.content_hash:
            return None
        return self.reduced[1]

    def table(self, name: str) -> pl.DataFrame | None:
        return {
            "events": self.events,
            "customers": self.customers,
            "acd": self.acd,
            "surveys": self.surveys,
            "calls": self.calls,
        }[name]


def direct(fn: Callable[..., Any], dataset: Dataset, *params: object) -> Any:
    """``fn(dataset, *params)``: the ``compute`` of an engine step that builds on other
    steps, when no cache is given (the app passes ``dashboard.state.engine``)."""
    return fn(dataset, *params)
