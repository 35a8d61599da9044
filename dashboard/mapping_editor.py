"""The Data page's mapping editor: per file its table, per canonical column the export
column (or two joined, such as a date and a time) or a constant; empty-cell markers; and
the whole mapping as TOML for what a table cannot say (value maps)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.dataset import LoadReport
from analytics.io import Sources, assign_table
from analytics.mapping import Mapping
from analytics.messages import message_of
from analytics.schema import TABLES
from dashboard.escape import md
from dashboard.i18n import t, tr


def _rows(frame: pl.DataFrame) -> dict[str, tuple[str | tuple[str, ...], str]]:
    """``{canonical: (header or joined headers, constant)}`` of one edited table."""
    out: dict[str, tuple[str | tuple[str, ...], str]] = {}
    for row in frame.iter_rows(named=True):
        parts = tuple(p for p in (row["source"], row["source2"]) if p)
        header: str | tuple[str, ...] = parts if len(parts) > 1 else (parts[0] if parts else "")
        out[row["column"]] = (header, (row["constant"] or "").strip())
    return out


def _apply(
    current: Mapping,
    edited: dict[tuple[str, str], pl.DataFrame],
    tables: dict[str, str],
    orders: dict[str, str],
    missing: str,
) -> Mapping:
    columns = {k: dict(v) for k, v in current.columns.items()}
    constants = {k: dict(v) for k, v in current.constants.items()}
    for (name, _file), frame in edited.items():
        for canonical, (header, constant) in _rows(frame).items():
            columns.setdefault(name, {})[canonical] = "" if constant else header
            if constant:
                constants.setdefault(name, {})[canonical] = constant
            else:
                constants.get(name, {}).pop(canonical, None)
    return Mapping(
        columns=columns,
        date_order={**current.date_order, **orders},  # type: ignore[dict-item]
        constants={k: v for k, v in constants.items() if v},
        values=current.values,
        missing=tuple(m.strip() for m in missing.split(",") if m.strip()),
        files={**current.files, **tables},
    )


def mapping_editor(sources: Sources, current: Mapping, report: LoadReport) -> Mapping | None:
    """Draw the editor; the new mapping when the user applies it, else ``None``."""
    version = st.session_state.get("mapping_version", 0)
    names = list(TABLES)
    with st.form("mapping_form"):
        edited: dict[tuple[str, str], pl.DataFrame] = {}
        forced: dict[str, str] = {}
        for i, source in enumerate(sources.items):
            detected = assign_table(source, current) or "events"
            name = st.selectbox(
                t("data.mapping_file", file=md(source.name)),
                names,
                index=names.index(detected),
                format_func=lambda n: t(f"needs.table.{n}"),
                key=f"table_{i}_{version}",
            )
            if name != detected:
                forced[source.name] = name
            table = TABLES[name]
            chosen = current.resolve(source.columns, table)
            user = current.columns.get(name, {})
            first = [h if (h := chosen.get(c, "")) in source.columns else "" for c in table.names]
            joined = [user.get(c) if isinstance(user.get(c), tuple) else None for c in table.names]
            frame = pl.DataFrame(
                {
                    "column": table.names,
                    "required": [c.required for c in table.columns],
                    "meaning": [t(f"meaning.{name}.{c.name}") for c in table.columns],
                    "source": [j[0] if j else f for f, j in zip(first, joined, strict=True)],
                    "source2": [j[1] if j else "" for j in joined],
                    "constant": [current.constants.get(name, {}).get(c, "") for c in table.names],
                }
            )
            options = ["", *source.columns]
            edited[(name, source.name)] = st.data_editor(
                frame,
                key=f"map_{i}_{version}",
                hide_index=True,
                disabled=["column", "required", "meaning"],
                column_config={
                    "column": st.column_config.TextColumn(t("data.canonical")),
                    "required": st.column_config.CheckboxColumn(t("data.required")),
                    "meaning": st.column_config.TextColumn(t("data.meaning")),
                    "source": st.column_config.SelectboxColumn(t("data.source"), options=options),
                    "source2": st.column_config.SelectboxColumn(
                        t("data.source2"), options=options, help=t("data.source2_help")
                    ),
                    "constant": st.column_config.TextColumn(
                        t("data.constant"), help=t("data.constant_help")
                    ),
                },
                width="stretch",
            )
        orders = {
            name: st.radio(
                t("data.date_order", table=name),
                ["dmy", "mdy"],
                format_func={o: t(f"data.{o}") for o in ("dmy", "mdy")}.__getitem__,
                horizontal=True,
                index=["dmy", "mdy"].index(current.date_order.get(name, "dmy")),
            )
            for name, rep in report.tables.items()
            if rep.ambiguous_dates
        }
        missing = st.text_input(
            t("data.missing"), ", ".join(current.missing), help=t("data.missing_help")
        )
        if st.form_submit_button(t("data.apply_mapping"), type="primary"):
            return _apply(current, edited, forced, orders, missing)
    with st.expander(t("data.mapping_toml")):
        text = st.text_area(
            t("data.mapping_toml"), current.to_toml(), height=240, label_visibility="collapsed"
        )
        if st.button(t("data.apply_mapping_toml")):
            try:
                return Mapping.from_toml(text)
            except ValueError as exc:
                st.error(t("data.mapping_error", error=md(tr(message_of(exc)))))
    st.download_button(
        t("data.save_mapping"), current.to_toml(), file_name="mapping.toml", mime="application/toml"
    )
    return None
