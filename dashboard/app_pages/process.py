"""Process variance: variants, the directly-follows graph, rework, manual steps, drift."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.cost import closing_states, cost_view, manual_steps
from analytics.export import to_csv_bytes, to_xlsx_bytes
from analytics.process import (
    case_views,
    coverage,
    directly_follows,
    drift,
    for_scenario,
    layout,
    process_mining_log,
    rework,
    standard_edges,
    variants,
)
from dashboard.charts import dfg_figure, share_curve
from dashboard.fmt import count_column, number, number_column, percent, share_column
from dashboard.i18n import t
from dashboard.needs import require
from dashboard.state import current_dataset, engine

dataset = current_dataset()
currency = dataset.settings.currency

st.title(t("process.title"))
require(dataset, "events")
st.caption(t("process.intro"))
# A status-update log repeats a state over many updates: by default (more than 20 % of
# the transitions) a run of them is one step; the switch undoes or forces it.
steps, cases, paths, loops = engine(case_views, dataset)
if loops.share:
    collapse = st.toggle(
        t("status_log.collapse"),
        value=loops.collapsed,
        key="process_collapse",
        help=t("status_log.collapse_help", share=percent(loops.share)),
    )
    if collapse != loops.collapsed:
        steps, cases, paths, loops = engine(case_views, dataset, collapse)
if loops.collapsed:
    st.info(t("status_log.collapsed", share=percent(loops.share)))
# The cost page's view under its default closing states: the same cached computation.
priced = engine(cost_view, dataset, None, tuple(engine(closing_states, dataset)[1]))
costs = priced.cases.select("case_id", "cost") if priced.cases["cost"].sum() else None
mark = t("status_log.estimate_mark") if priced.basis == "estimated" else ""
scenarios = ["", *sorted(cases["scenario"].drop_nulls().unique())]
labels = {s: s or t("process.all") for s in scenarios}
left, right = st.columns([1, 3])
scenario = left.selectbox(
    t("process.scenario"),
    scenarios,
    format_func=labels.__getitem__,
    key="scenario",
    bind="query-params",
)
chosen = cases if not scenario else cases.filter(pl.col("scenario") == scenario)
chosen_steps = for_scenario(steps, scenario)
table = variants(chosen, paths, costs)
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
standard = table.row(choices.index(picked), named=True) if picked else None

a, b, c, d = st.columns(4)
a.metric(t("process.cases"), number(chosen.height))
b.metric(t("process.variants"), number(table.height))
c.metric(t("process.coverage"), number(coverage(table)))
d.metric(t("process.deviating"), percent(1 - standard["share"] if standard else None, 0))

# Full width: the paths are long and every column should show without scrolling.
st.subheader(t("process.variant_table"))
st.dataframe(
    table.head(50).select(
        "variant",
        "cases",
        "share",
        "cumulative_share",
        (pl.col("median_duration_s") / 3600).alias("hours"),
        pl.col("^median_cost$"),  # none when the data has no cost
    ),
    hide_index=True,
    width="stretch",
    column_config={
        "variant": t("process.variant"),
        "cases": count_column(t("process.cases")),
        "share": share_column(t("process.share")),
        "cumulative_share": share_column(t("process.cumulative")),
        "hours": number_column(t("process.median_duration"), 1),
        "median_cost": number_column(t("process.median_cost") + mark),
    },
)
st.subheader(t("process.coverage_chart"))
curve = table.select((pl.int_range(1, pl.len() + 1) / pl.len()).alias("x"), "cumulative_share")
st.plotly_chart(
    share_curve(
        curve,
        "x",
        "cumulative_share",
        t("process.coverage_x"),
        t("process.coverage_y"),
        diagonal=False,
    ),
    width="stretch",
)

st.subheader(t("process.dfg"))
st.caption(t("process.dfg_intro"))
minimum = (
    st.slider(t("process.min_share"), 0.0, 50.0, 2.0, 0.5, key="min_share", bind="query-params")
    / 100
)
edges = directly_follows(chosen_steps)
shown = edges.filter(pl.col("cases") >= minimum * max(chosen.height, 1))
manual = engine(manual_steps, dataset)
manual_here = manual if not scenario else manual.filter(pl.col("scenario") == scenario)
if shown.height:
    st.plotly_chart(
        dfg_figure(
            shown,
            layout(shown, chosen_steps),
            set(manual_here["activity"]),
            standard_edges(standard["path"]) if standard else set(),
        ),
        width="stretch",
    )

left, right = st.columns(2, gap="large")
with left:
    st.subheader(t("process.rework"))
    st.dataframe(
        rework(chosen_steps),
        hide_index=True,
        width="stretch",
        column_config={
            "activity": t("process.activity"),
            "cases": count_column(t("process.cases")),
            "share": share_column(t("process.share")),
            "extra_steps": count_column(t("process.extra_steps")),
        },
    )
with right:
    st.subheader(t("process.manual"))
    st.dataframe(
        manual_here,
        hide_index=True,
        width="stretch",
        column_config={
            "scenario": t("process.scenario"),
            "activity": t("process.activity"),
            "steps": count_column(t("process.steps")),
            "cases": count_column(t("process.cases")),
            "cost": number_column(t("process.cost") + mark),
            "share_of_cost": share_column(t("process.share_of_cost")),
        },
    )

st.subheader(t("process.drift"))
st.caption(t("process.drift_intro"))
changes = drift(chosen_steps, standard=standard["path"] if standard else None)
if changes.height:
    st.dataframe(
        changes.head(20).select(
            "deviation",
            "first_share",
            "last_share",
            (pl.col("growth") * 100).alias("growth"),
            "became_norm",
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "deviation": t("process.deviation"),
            "first_share": share_column(t("process.first")),
            "last_share": share_column(t("process.last")),
            "growth": number_column(t("process.growth"), 1),
            "became_norm": t("process.norm"),
        },
    )

a, b, c = st.columns(3)
a.download_button(
    t("process.download_log"),
    to_csv_bytes(process_mining_log(dataset.events), excel_locale=False),
    file_name="event_log.csv",
    mime="text/csv",
)
flat = table.select(
    "variant", "cases", "share", "cumulative_share", "median_duration_s", pl.col("^median_cost$")
)
b.download_button(
    t("process.download_variants"), to_csv_bytes(flat), file_name="variants.csv", mime="text/csv"
)
c.download_button(
    t("process.download_variants_xlsx"),
    to_xlsx_bytes({"variants": flat}),
    file_name="variants.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
