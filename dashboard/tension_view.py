"""The Tension page's tables: the zones and the operational gaps, shown as fits at 1366 px
and downloaded whole (dashboard/tables.py)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.export import Kind
from analytics.tension import SHARES
from dashboard import tables
from dashboard.fmt import money, number, p_value
from dashboard.i18n import t

# Column -> (kind, header key), in export order.
ZONES: dict[str, tuple[Kind, str]] = {
    "slice": ("text", "risk.slice"),
    "value": ("text", "risk.value"),
    "indicator": ("text", "risk.indicator_col"),
    "frequency": ("text", "risk.frequency"),
    "baseline": ("score", "risk.baseline"),
    "recent": ("score", "risk.recent"),
    "relative_change": ("percent", "risk.change"),
    "excess_per_month": ("number", "risk.excess"),
    "money_at_stake": ("money", "tension.money"),
    "started": ("date", "risk.started"),
    "first_alarm": ("date", "risk.first_alarm"),
    "customers": ("count", "risk.customers"),
    "revenue_exposed": ("money", "tension.exposed"),
}
# What a person reads first (the period too: a queue can be in alarm daily and weekly);
# the levels, the excess in the indicator's own unit, first alarm, customers and revenue
# exposed are in the download (and the chart below the table).
ZONES_ON_SCREEN = ("slice", "value", "indicator", "frequency")
ZONES_ON_SCREEN += ("relative_change", "money_at_stake", "started")
GAPS: dict[str, tuple[Kind, str]] = {
    "activity": ("text", "tension.gap_activity"),
    "measure": ("text", "tension.gap_measure"),
    "tau": ("decimal", "tension.gap_tau"),
    "p_value": ("text", "tension.gap_p"),  # 1,2e-05: p-values span orders of magnitude
    "sen_slope_per_week": ("number", "tension.gap_slope"),
    "first_half_median": ("number", "tension.gap_level"),
    "last_week": ("number", "tension.gap_last"),
    "growth_per_week": ("percent", "tension.gap_growth"),
}


def slope_words(slope: float, indicator: str, frequency: str, currency: str) -> str:
    """Sen's slope in the indicator's unit per period: a share's in percentage points
    (0.0028 a week -> "+0.28 pp a week"), ASA's in seconds, cost's in money, CSAT's in points."""
    sign, size = "+" if slope > 0 else "-" if slope < 0 else "", abs(slope)
    if indicator in SHARES:
        value = t("risk.slope.share", value=sign + number(100 * size, 2))
    elif indicator == "cost_per_case":
        value = sign + money(size, currency, 2)
    else:  # asa (seconds), csat (points)
        value = t(f"risk.slope.{indicator}", value=sign + number(size, 2))
    return t(f"risk.slope.{frequency}", value=value)


def _spec(columns: dict[str, tuple[Kind, str]]) -> tuple[dict[str, Kind], dict[str, str]]:
    return {c: k for c, (k, _) in columns.items()}, {c: t(key) for c, (_, key) in columns.items()}


def zones_table(shown: pl.DataFrame, currency: str) -> None:
    """The zones (their slice, indicator and period already in words)."""
    kinds, labels = _spec(ZONES)
    shown = shown.select(*ZONES)
    tables.show(shown.select(*ZONES_ON_SCREEN), kinds, currency=currency, labels=labels)
    st.caption(t("tension.zones_more"))
    tables.download(shown, kinds, "tension_zones", currency=currency, labels=labels)


def gaps_table(gaps: pl.DataFrame) -> None:
    """The operational gaps, their measure in words and p in the language's marks."""
    kinds, labels = _spec(GAPS)
    measures = {m: t(f"tension.gap_{m}") for m in ("wait_s", "handle_s")}
    p_text = pl.Series("p_value", [p_value(p) for p in gaps["p_value"]], pl.String)
    gaps = gaps.with_columns(pl.col("measure").replace_strict(measures), p_text).select(*GAPS)
    tables.show(gaps, kinds, labels=labels)
    tables.download(gaps, kinds, "tension_gaps", labels=labels)
