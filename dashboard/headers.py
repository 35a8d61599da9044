"""Column headers from a page's own catalogue section (``[cost.col]``, ``[risk.col]``),
handed to :mod:`dashboard.tables` as its ``labels``."""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.i18n import catalogue, t


def headers(section: str, columns: Iterable[str]) -> dict[str, str]:
    """``section.column`` in words for each column the section names; a column it does not
    name (a snapshot's own attribute) is left to ``[columns]`` or its own name."""
    known = catalogue("en")
    return {c: t(f"{section}.{c}") for c in columns if f"{section}.{c}" in known}
