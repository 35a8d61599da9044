"""The Process page's column headers (one set for every table on it: each table shows the
columns it has) and the variants' downloads."""

from __future__ import annotations

from typing import Any

import polars as pl
from streamlit.delta_generator import DeltaGenerator

from analytics.export import to_csv_bytes, to_xlsx_bytes
from dashboard.fmt import count_column, number_column, share_column
from dashboard.i18n import t

# The tables below the map, one tab each; the open one is kept in the URL under TAB_KEY by
# its label (in the reader's language), which the workshop's links set too.
TABS = ("variants", "drift", "rework", "manual")
TAB_KEY = "process_tab"


def tab_label(name: str) -> str:
    return t(f"process.tab_{name}")


def headers(mark: str) -> dict[str, Any]:
    """Column name -> header or column config; ``mark`` follows the money columns when the
    costs are estimated."""
    return {
        "variant": t("process.variant"),
        "scenario": t("process.scenario"),
        "activity": t("process.activity"),
        "cases": count_column(t("process.cases")),
        "steps": count_column(t("process.steps")),
        "extra_steps": count_column(t("process.extra_steps")),
        "share": share_column(t("process.share")),
        "cumulative_share": share_column(t("process.cumulative")),
        "hours": number_column(t("process.median_duration"), 1),
        "median_cost": number_column(t("process.median_cost") + mark),
        "cost": number_column(t("process.cost") + mark),
        "share_of_cost": share_column(t("process.share_of_cost")),
        "deviation": t("process.deviation"),
        "first_share": share_column(t("process.first")),
        "last_share": share_column(t("process.last")),
        "growth": number_column(t("process.growth"), 1),
        "became_norm": t("process.norm"),
    }


def downloads(where: DeltaGenerator, flat: pl.DataFrame) -> None:
    """The variants table as CSV and Excel, side by side in one horizontal block; built
    only when asked for."""
    row = where.container(horizontal=True)
    row.download_button(
        t("process.download_variants"), lambda: to_csv_bytes(flat), "variants.csv", "text/csv"
    )
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    row.download_button(
        t("process.download_variants_xlsx"),
        lambda: to_xlsx_bytes({"variants": flat}),
        "variants.xlsx",
        xlsx,
    )
