"""What a page needs from the data, said in one sentence when the data lacks it."""

from __future__ import annotations

import streamlit as st

from analytics.dataset import Dataset
from dashboard.i18n import t


def has(dataset: Dataset, table: str) -> bool:
    """Whether ``table`` holds rows (events may be empty when another table came alone)."""
    frame = dataset.table(table)
    return frame is not None and frame.height > 0


def require(dataset: Dataset, *tables: str) -> None:
    """Stop the page with one sentence unless one of ``tables`` has rows."""
    if any(has(dataset, name) for name in tables):
        return
    present = [t(f"needs.table.{n}") for n in dataset.report.tables if has(dataset, n)]
    st.info(
        t(
            "needs.page",
            needs=t("needs.or").join(t(f"needs.what.{n}") for n in tables),
            present=", ".join(present) or "—",
        )
    )
    st.stop()
