"""Process variance: the paths, a map of the common ones, rework, manual steps, drift."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from analytics.cost import closing_states, cost_view, manual_steps
from analytics.export import to_csv_bytes
from analytics.process import case_drift, coverage, process_mining_log, standard_edges, variants
from analytics.process_layout import ProcessViews, path_map, process_views
from dashboard import process_view as view
from dashboard.auth import export_button
from dashboard.escape import draw_svg
from dashboard.fmt import number, percent
from dashboard.i18n import t
from dashboard.needs import require
from dashboard.process_map import process_map_svg
from dashboard.state import current_dataset, engine, engine_using

dataset = current_dataset()

st.title(t("process.title"))
require(dataset, "events")
st.caption(t("process.intro"))
# A status-update log repeats a state over many updates: by default (more than 20 % of
# the transitions) a run of them is one step; the switch undoes or forces it.
# Cases priced as on the Cost page, under its default closing states (the same cache entry).
closing = tuple(engine(closing_states, dataset)[1])
views = engine_using(process_views, dataset, None, closing)
if views.loops.share:
    collapse = st.toggle(
        t("status_log.collapse"),
        value=views.loops.collapsed,
        key="process_collapse",
        help=t("status_log.collapse_help", share=percent(views.loops.share)),
    )
    if collapse != views.loops.collapsed:
        views = engine_using(process_views, dataset, collapse, closing)
if views.loops.collapsed:
    st.info(t("status_log.collapsed", share=percent(views.loops.share)))
priced = engine(cost_view, dataset, None, closing)
mark = t("status_log.estimate_mark") if priced.basis == "estimated" else ""


@st.fragment
def scenario_view(views: ProcessViews, mark: str) -> None:
    """Everything drawn for the scenario picked: a pick, a standard path or a coverage
    redraws this part only, not the sidebar and the page above."""
    scenarios = list(views.scenarios)
    left, right = st.columns([1, 3])
    scenario = left.selectbox(
        t("process.scenario"),
        scenarios,
        index=scenarios.index(views.default_scenario),  # the largest drift tells the story
        format_func=lambda s: s or t("process.all"),
        key="scenario",
        bind="query-params",
    )
    table = variants(views.cases_of(scenario), views.paths)
    # The most frequent path unless the user picks another, such as the documented procedure.
    choices = table["variant"].to_list()
    shares = dict(zip(choices, table["share"], strict=True))
    picked = right.selectbox(
        t("process.standard"),
        choices,
        format_func=lambda v: f"{percent(shares[v], 1)} · {v}",
        key=f"standard_{scenario}",  # each scenario has its own paths
        help=t("process.standard_help"),
    )
    standard = table.row(choices.index(picked), named=True)
    if scenario and scenario == views.default_scenario:
        lead = views.drifts.row(0, named=True)
        first, last = percent(lead["first_share"], 0), percent(lead["last_share"], 0)
        st.caption(t("process.default_note", deviation=lead["deviation"], first=first, last=last))

    # One horizontal block for the four, not a column block each: fewer blocks for the
    # browser to rebuild on every scenario switch, the same row of tiles.
    tiles = st.container(horizontal=True)
    tiles.metric(t("process.cases"), number(table["cases"].sum()))
    tiles.metric(t("process.variants"), number(table.height))
    tiles.metric(t("process.coverage"), number(coverage(table)))
    tiles.metric(t("process.deviating"), percent(1 - standard["share"], 0))

    st.subheader(t("process.map"))
    st.caption(t("process.map_intro"))
    manual_here = engine(manual_steps, dataset).filter(
        pl.col("scenario") == scenario if scenario else True
    )
    map_view(views, scenario, table, standard, frozenset(manual_here["activity"]))

    grid = {"hide_index": True, "width": "stretch", "column_config": view.headers(mark)}
    # One table at a time: a tab's table is built and drawn only while it is open, so a
    # scenario switch sends one table to the browser instead of four. The open tab is kept
    # in the URL (the workshop's drift step opens its tab).
    labels = [view.tab_label(name) for name in view.TABS]
    drawn = st.tabs(labels, key=view.TAB_KEY, bind="query-params")
    tabs = dict(zip(view.TABS, drawn, strict=True))
    if tabs["variants"].open:
        # Full width: the paths are long and every column should show without scrolling.
        hours = (pl.col("median_duration_s") / 3600).alias("hours")
        columns = ("variant", "cases", "share", "cumulative_share", hours, "^median_cost$")
        tabs["variants"].dataframe(table.head(50).select(columns), **grid)
        view.downloads(tabs["variants"], table.drop("path"))
    if tabs["drift"].open:
        tabs["drift"].caption(t("process.drift_intro"))
        changes = case_drift(views.months_of(scenario), views.paths, standard["path"])
        if changes.height:
            growth = (pl.col("growth") * 100).alias("growth")
            columns = ("deviation", "first_share", "last_share", growth, "became_norm")
            tabs["drift"].dataframe(changes.head(20).select(columns), **grid)
    if tabs["rework"].open:
        tabs["rework"].caption(t("process.rework_intro"))
        tabs["rework"].dataframe(views.scenarios[scenario].rework, **grid)
    if tabs["manual"].open:
        tabs["manual"].caption(t("process.manual_intro"))
        shown = manual_here.drop("scenario") if scenario else manual_here
        tabs["manual"].dataframe(shown, **grid)


@st.fragment
def map_view(
    views: ProcessViews,
    scenario: str,
    table: pl.DataFrame,
    standard: dict[str, Any],
    manual: frozenset[str],
) -> None:
    """The map and its paths slider: moving the slider redraws this part only, not the
    tables below; the scenario part reruns it with the scenario's ``table``, ``standard``
    path and ``manual`` steps."""
    shown, most = coverage(table), table.height
    if most > 1:  # a slider needs two values
        label, why = t("process.paths"), t("process.paths_help")
        shown = st.slider(label, 1, most, shown, key=f"paths_{scenario}", help=why)
    covered = percent(table["cumulative_share"][shown - 1])
    st.caption(t("process.paths_cover", paths=shown, total=most, share=covered))
    edges, layout = path_map(views.scenarios[scenario], table, shown)
    if edges.height:
        words = {k: t(f"process.{k}") for k in ("transitions", "cases", "median", "minutes")}
        edge_set = set(standard_edges(standard["path"]))
        draw_svg(process_map_svg(layout, edges, set(manual), edge_set, words))


scenario_view(views, mark)
# Every event with its customer, whatever the scenario: a customer-level export (logged),
# built only when asked for (the event log of a large dataset is 100 MB of CSV).
export_button(
    t("process.download_log"),
    lambda: to_csv_bytes(process_mining_log(dataset.events), excel_locale=False),
    "event_log.csv",
    "text/csv",
    rows=dataset.events.height,
)
