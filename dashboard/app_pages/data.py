"""Data: what was loaded and what was not, uploads, the column mapping, the settings."""

from __future__ import annotations

from functools import partial

import polars as pl
import streamlit as st

from analytics.mapping import Mapping
from analytics.messages import Message, message_of
from analytics.schema import TABLES, Settings
from dashboard import tables
from dashboard.auth import customer_lists, export_button, exports_log, settings_editable
from dashboard.escape import md
from dashboard.fmt import number
from dashboard.i18n import catalogue, t, tr
from dashboard.mapping_editor import mapping_editor
from dashboard.state import current_dataset, mapping, uploaded_dataset, uploaded_sources


def _store_uploads() -> None:
    files = st.session_state.get("uploader") or []
    st.session_state["uploads"] = tuple((f.name, f.getvalue()) for f in files)
    st.session_state["source"] = "upload" if files else "sample"


def _store_mapping_file() -> None:
    file = st.session_state.get("mapping_file")
    if file is None:
        return
    try:
        st.session_state["mapping"] = Mapping.from_toml(file.getvalue().decode("utf-8-sig"))
        st.session_state.pop("mapping_error", None)
    except UnicodeDecodeError as exc:
        byte = f"{exc.object[exc.start]:02x}"
        st.session_state["mapping_error"] = Message(
            "read.mapping_not_utf8", name=file.name, byte=byte, position=exc.start
        )
    except ValueError as exc:
        st.session_state["mapping_error"] = message_of(exc)


def preview(frame: pl.DataFrame) -> None:
    """The first rows, headed by the columns' names in words (a snapshot's own attribute
    columns keep their names), dates and numbers the language's way. Without ``row_nr``:
    the engine's tie-break counts loaded rows across files, not a row a person can find."""
    rows = frame.head(200).drop("row_nr", strict=False)
    labels = {c: t(f"column.{c}") for c in rows.columns if f"column.{c}" in catalogue("en")}
    # a float column of whole values (seconds of handling) without a ",0" on every row
    whole: dict[str, tables.Kind] = {
        c: "count" for c, d in rows.schema.items() if d.is_float() and tables.whole(rows[c])
    }
    tables.show(rows, whole, labels=labels, height=400)


# What was loaded, all of it: the sidebar filters cut what the analyses read, not the load.
dataset = current_dataset(filtered=False)
report = dataset.report
st.title(t("data.title"))
st.caption(t("data.intro"))
upload = uploaded_dataset()
if upload is not None and not upload.report.usable:  # why the sample is shown instead
    errors = (f"* {md(tr(e))}" for e in upload.report.errors)
    st.error("\n".join([t("upload.unusable"), *errors]))
# The built-in company by the name the sidebar gives it; an upload by its files' name.
sample = st.session_state.get("source", "sample") == "sample"
st.subheader(t("data.current", name=t("sidebar.sample") if sample else md(dataset.name)))
summary = pl.DataFrame(
    {
        t("data.table"): [t(f"needs.table.{n}") for n in report.tables],
        t("data.rows_read"): [r.rows_read for r in report.tables.values()],
        t("data.rows_loaded"): [r.rows_loaded for r in report.tables.values()],
        t("data.rows_quarantined"): [r.rows_quarantined for r in report.tables.values()],
    }
)
tables.static(summary, dict.fromkeys(summary.columns[1:], number))
for error in report.errors:
    st.error(md(tr(error)))
for warning in report.warnings:
    st.warning(md(tr(warning)))
for name, table in report.tables.items():
    if table.rows_quarantined:
        st.markdown(f"**{t('data.reasons')}: {t(f'needs.table.{name}')}**")
        reasons = {
            t("data.reason"): [tr(r) for r in table.reasons],
            t("data.reason_rows"): list(table.reasons.values()),
        }
        tables.static(pl.DataFrame(reasons), {t("data.reason_rows"): number})
        export_button(  # the rows as exported: customer-level (logged)
            t("data.download_quarantine", table=t(f"needs.table.{name}")),
            partial(tables.quarantine_csv, table.quarantine, table.reasons),
            f"{name}_quarantine.csv",
            "text/csv",
            rows=table.quarantine.height,
            key=f"quarantine_{name}",
        )
if not any(r.rows_quarantined for r in report.tables.values()):
    st.caption(t("data.no_quarantine"))

st.markdown(f"**{t('data.preview')}**")
loaded = [n for n in TABLES if dataset.table(n) is not None]
if customer_lists():
    for tab, name in zip(st.tabs([t(f"needs.table.{n}") for n in loaded]), loaded, strict=True):
        with tab:
            preview(dataset.table(name))  # type: ignore[arg-type]

st.divider()
if not settings_editable("auth.admin_only"):  # uploads, mapping, settings: admins only
    st.stop()
exports_log()
st.subheader(t("data.upload"))
st.file_uploader(
    t("data.upload"),
    type=["csv", "txt", "tsv", "parquet", "xlsx", "zip", "toml"],
    accept_multiple_files=True,
    help=t("data.upload_help"),
    key="uploader",
    on_change=_store_uploads,
    label_visibility="collapsed",
)
sources = uploaded_sources()
if sources is not None:
    st.subheader(t("data.mapping"))
    st.caption(t("data.mapping_intro"))
    st.file_uploader(
        t("data.load_mapping"), type=["toml"], key="mapping_file", on_change=_store_mapping_file
    )
    if "mapping_error" in st.session_state:
        st.error(t("data.mapping_error", error=st.session_state["mapping_error"]))
    new = mapping_editor(sources, mapping(), report)
    if new is not None:
        st.session_state["mapping"] = new
        st.session_state["mapping_version"] = st.session_state.get("mapping_version", 0) + 1
        st.rerun()

with st.expander(t("data.settings")):
    st.caption(t("data.settings_intro"))
    text = st.text_area(
        t("data.settings"), dataset.settings.to_toml(), height=320, label_visibility="collapsed"
    )
    if st.button(t("data.apply_settings")):
        try:
            st.session_state["settings"] = Settings.from_toml(text)
            st.rerun()
        except ValueError as exc:
            st.error(t("data.settings_error", error=md(tr(message_of(exc)))))
    st.download_button(
        t("data.save_settings"),
        dataset.settings.to_toml(),
        file_name="settings.toml",
        mime="application/toml",
    )
