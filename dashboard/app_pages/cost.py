"""Cost to serve: what each case, customer and scenario costs, and which behaviours drive it."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.cost import TAGS, unrated_channels
from analytics.cost_summary import drill_list, page, twin_table
from dashboard.auth import customer_lists, settings_editable
from dashboard.chart_locale import chart_config
from dashboard.charts import quantile_boxes, share_curve
from dashboard.cost_view import chosen_view, export, rates_editor, revenue_band, table, tiles
from dashboard.escape import md
from dashboard.fmt import money, number, percent, symbol, up_to
from dashboard.i18n import channel, t
from dashboard.needs import require
from dashboard.state import current_dataset, engine

dataset = current_dataset()
currency = dataset.settings.currency
st.title(t("cost.title"))
require(dataset, "events")
st.caption(t("cost.intro"))
if settings_editable():  # the rates are settings: admins only
    rates_editor(dataset)
unrated = engine(unrated_channels, dataset)
if unrated:
    st.warning(t("cost.unrated", channels=md(", ".join(channel(c) for c in unrated))))

collapse, closing = chosen_view(dataset)
shown = engine(page, dataset, collapse, closing)
view, figures, people = shown.view, shown.figures, shown.people
if view.loops.collapsed:
    st.info(t("status_log.collapsed", share=percent(view.loops.share)))
# Never shown as measured: without handle times or explicit costs every figure is an
# estimate from the rates, and labelled so; with no cost at all, money is left out.
mark = t("status_log.estimate_mark") if view.basis == "estimated" else ""
if not figures.total:
    st.info(t("status_log.no_cost"))
elif view.basis == "estimated":
    st.warning(t("status_log.estimated"))
if figures.total:
    tiles(figures, dataset, mark)
    left, right = st.columns(2, gap="large")
    left.subheader(t("cost.distribution") + mark)
    boxes = quantile_boxes(shown.boxes, symbol(currency))
    left.plotly_chart(boxes, width="stretch", config=chart_config())
    right.subheader(t("cost.pareto") + mark)
    axes = (t("cost.pareto_x"), t("cost.pareto_y"))
    right.plotly_chart(
        share_curve(shown.pareto, "customer_share", "cost_share", *axes),
        width="stretch",
        config=chart_config(),
    )
    if shown.whale is not None:
        st.subheader(t("cost.whale") + mark)
        st.caption(t("cost.whale_note", months=up_to(shown.months)))
        axes = (t("cost.whale_x"), t("cost.whale_y"))
        curve = share_curve(
            shown.whale, "customer_share", "cumulative_margin_share", *axes, diagonal=False
        )
        st.plotly_chart(curve, width="stretch", config=chart_config())

names = {g: t(f"alerts.tag.{g}") for g in TAGS}
st.subheader(t("cost.tags"))
st.caption(t("cost.tags_intro"))
tags = shown.tags.with_columns(pl.col("tag").replace_strict(names))
table(tags if figures.total else tags.drop("extra_per_case", "at_stake"), currency, mark)
with st.expander(t("cost.page.defs")):
    st.markdown("\n".join(f"* **{names[g]}**: {t(f'cost.defs.{g}')}" for g in TAGS))
if figures.total:
    excess, total = money(figures.excess, currency), money(figures.total, currency)
    st.markdown(t("status_log.excess", excess=excess, total=total, mark=mark))
    st.subheader(t("cost.priciest") + mark)
    top = shown.priciest.with_columns(pl.col("tag").replace_strict(names))
    table(top, currency, mark)

if not customer_lists():  # viewers: aggregates only (customer pairs and case lists follow)
    st.stop()
if shown.pairs is not None:
    st.subheader(t("cost.twins"))
    st.caption(t("cost.twins_intro"))
    table(revenue_band(twin_table(shown.pairs.head(12))), currency, mark)
    if shown.pair_cases is not None and shown.pair_events is not None:
        pair = shown.pairs.row(0, named=True)
        # One under the other, each across the page: side by side, half a 1366 px window
        # (443 px) held four of the six columns (Russian: 646 px needed).
        for side, events in zip(("low", "high"), shown.pair_events, strict=True):
            case = pair[f"{side}_case"]
            row = shown.pair_cases.filter(pl.col("case_id") == case).row(0, named=True)
            cost = money(row["cost"], currency) + mark
            st.markdown(t(f"cost.pair_{side}", case=md(case), contacts=row["contacts"], cost=cost))
            table(events, currency)


# Worked out once per page run, not on each of the fragment's (a unique of every case).
scenarios = view.cases["scenario"].drop_nulls().unique().sort().to_list()


@st.fragment
def drill_down() -> None:
    """A (scenario, behaviour) pair from the ranking above, down to its cases: a choice
    here redraws this part only (what does not depend on it is drawn outside)."""
    left, right = st.columns(2)
    scenario = left.selectbox(
        t("cost.drill_scenario"),
        ["", *scenarios],
        format_func=lambda s: s or t("process.all"),
        key="cost_scenario",
        bind="query-params",
    )
    tag = right.selectbox(
        t("cost.tag"),
        ["", *TAGS],
        format_func=lambda g: names[g] if g else t("cost.any_tag"),
        key="cost_tag",
        bind="query-params",
    )
    words = tuple(sorted(names.items()))
    chosen = engine(drill_list, dataset, collapse, closing, scenario, tag, words)
    st.markdown(f"**{t('cost.drill_cases', cases=number(chosen.height))}**")
    # The grid leaves out the start and the number of channels (the download has them), so
    # the behaviours get room at 1366 px: all eight columns needed 1058-1103 px of 904.
    grid = chosen.head(200).drop("start", "channels")
    table(grid, currency, mark, wide=("behaviours",), row_height=65)
    name = f"cases_{scenario or 'all'}{'_' + tag if tag else ''}.csv"
    export(chosen, name, t("cost.download_cases"), currency)


st.subheader(t("cost.drill"))
drill_down()
export(people, "customers_cost.csv", t("cost.download_customers"), currency)
