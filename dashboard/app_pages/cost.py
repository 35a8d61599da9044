"""Cost to serve: what each case, customer and scenario costs, and which behaviours drive it."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.cost import (
    TAGS,
    customer_costs,
    pareto,
    period_months,
    priciest,
    quantiles,
    tag_costs,
    twins,
    unrated_channels,
    whale,
)
from analytics.cost_summary import case_events, case_list, drill, summarize, twin_table
from dashboard.auth import customer_lists, settings_editable
from dashboard.chart_locale import chart_config
from dashboard.charts import quantile_boxes, share_curve
from dashboard.cost_view import chosen_view, export, rates_editor, table, tiles
from dashboard.escape import md
from dashboard.fmt import money, number, symbol
from dashboard.i18n import t
from dashboard.needs import require
from dashboard.state import current_dataset

dataset = current_dataset()
currency = dataset.settings.currency
st.title(t("cost.title"))
require(dataset, "events")
st.caption(t("cost.intro"))
if settings_editable():  # the rates are settings: admins only
    rates_editor(dataset)
unrated = unrated_channels(dataset)
if unrated:
    st.warning(t("cost.unrated", channels=md(", ".join(unrated))))

view = chosen_view(dataset)
cases = view.cases
months = period_months(dataset.events)
people = customer_costs(cases, dataset.customers, months)  # a group-by over cached cases
figures = summarize(cases, people)
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
    boxes = quantile_boxes(quantiles(cases, "cost", "scenario"), symbol(currency))
    left.plotly_chart(boxes, width="stretch", config=chart_config())
    right.subheader(t("cost.pareto") + mark)
    axes = (t("cost.pareto_x"), t("cost.pareto_y"))
    right.plotly_chart(
        share_curve(pareto(people), "customer_share", "cost_share", *axes),
        width="stretch",
        config=chart_config(),
    )
    if "margin" in people.columns and people["margin"].null_count() < people.height:
        st.subheader(t("cost.whale") + mark)
        st.caption(t("cost.whale_note", months=number(months, 1)))
        axes = (t("cost.whale_x"), t("cost.whale_y"))
        curve = share_curve(
            whale(people), "customer_share", "cumulative_margin_share", *axes, diagonal=False
        )
        st.plotly_chart(curve, width="stretch", config=chart_config())

names = {g: t(f"alerts.tag.{g}") for g in TAGS}
st.subheader(t("cost.tags"))
st.caption(t("cost.tags_intro"))
tags = tag_costs(cases).drop("mean_cost").with_columns(pl.col("tag").replace_strict(names))
table(tags if figures.total else tags.drop("extra_per_case", "at_stake"), currency, mark)
with st.expander(t("cost.page.defs")):
    st.markdown("\n".join(f"* **{names[g]}**: {t(f'cost.defs.{g}')}" for g in TAGS))
if figures.total:
    excess, total = money(figures.excess, currency), money(figures.total, currency)
    st.markdown(t("status_log.excess", excess=excess, total=total, mark=mark))
    st.subheader(t("cost.priciest") + mark)
    top = priciest(cases).head(15).with_columns(pl.col("tag").replace_strict(names))
    table(top, currency, mark)

if not customer_lists():  # viewers: aggregates only (customer pairs and case lists follow)
    st.stop()
if dataset.customers is not None:
    st.subheader(t("cost.twins"))
    st.caption(t("cost.twins_intro"))
    pairs = twins(cases, dataset.customers)
    table(twin_table(pairs.head(12)), currency, mark)
    if pairs.height:
        pair = pairs.row(0, named=True)
        sides = zip(st.columns(2), ("low", "high"), strict=True)
        for column, side in sides:
            case = pair[f"{side}_case"]
            row = cases.filter(pl.col("case_id") == case).row(0, named=True)
            cost = money(row["cost"], currency) + mark
            column.markdown(
                t(f"cost.pair_{side}", case=md(case), contacts=row["contacts"], cost=cost)
            )
            with column:
                table(case_events(dataset.events, case), currency)

st.subheader(t("cost.drill"))
left, right = st.columns(2)
scenario = left.selectbox(
    t("cost.drill_scenario"),
    ["", *sorted(cases["scenario"].drop_nulls().unique())],
    format_func=lambda s: s or t("process.all"),
    key="cost_scenario",
    bind="query-params",
)
# A (scenario, behaviour) pair from the ranking above, down to its cases.
tag = right.selectbox(
    t("cost.tag"),
    ["", *TAGS],
    format_func=lambda g: names[g] if g else t("cost.any_tag"),
    key="cost_tag",
    bind="query-params",
)
chosen = case_list(drill(cases, scenario, tag), names)
st.markdown(f"**{t('cost.drill_cases', cases=number(chosen.height))}**")
table(chosen.head(200), currency, mark)
a, b = st.columns(2)
with a:
    name = f"cases_{scenario or 'all'}{'_' + tag if tag else ''}.csv"
    export(chosen, name, t("cost.download_cases"), currency)
with b:
    ranked = people.sort(["cost", "customer_id"], descending=[True, False])
    export(ranked, "customers_cost.csv", t("cost.download_customers"), currency)
