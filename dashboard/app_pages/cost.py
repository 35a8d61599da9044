"""Cost to serve: what each case, customer and scenario costs, and which behaviours drive it."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.cost import (
    TAGS,
    closing_states,
    cost_view,
    customer_costs,
    excess_cost,
    minute_rate,
    pareto,
    period_months,
    priciest,
    quantiles,
    tag_costs,
    twins,
    unrated_channels,
    whale,
)
from analytics.export import to_csv_bytes
from analytics.schema import Settings
from dashboard.charts import quantile_boxes, share_curve
from dashboard.escape import md
from dashboard.fmt import compact_money, count_column, money, number, number_column, percent
from dashboard.i18n import t
from dashboard.needs import require
from dashboard.state import current_dataset, engine

dataset = current_dataset()
settings = dataset.settings
currency = settings.currency
st.title(t("cost.title"))
require(dataset, "events")
st.caption(t("cost.intro"))


def save_settings(**changes: object) -> None:
    """The settings with ``changes``, for every page from now on; the page is redrawn."""
    st.session_state["settings"] = Settings.from_dict({**settings.__dict__, **changes})
    st.rerun()


with st.expander(t("cost.rates")):
    st.caption(t("cost.rates_intro"))
    rates = st.data_editor(
        pl.DataFrame(
            {
                "channel": list(settings.cost_per_minute),
                "rate": list(settings.cost_per_minute.values()),
            }
        ),
        key=f"rates_{dataset.content_hash}",
        disabled=["channel"],
        hide_index=True,
        column_config={"channel": t("cost.channel"), "rate": t("cost.per_minute")},
    )
    a, b, c = st.columns(3)
    per_contact = a.number_input(t("cost.per_contact"), 0.0, value=settings.cost_per_contact)
    per_manual = b.number_input(t("cost.per_manual"), 0.0, value=settings.cost_per_manual_step)
    per_meeting = c.number_input(t("cost.per_meeting"), 0.0, value=settings.cost_per_meeting)
    if st.button(t("cost.apply_rates")):
        save_settings(
            cost_per_minute=dict(zip(rates["channel"], rates["rate"], strict=True)),
            cost_per_contact=per_contact,
            cost_per_manual_step=per_manual,
            cost_per_meeting=per_meeting,
        )
    st.markdown(f"**{t('cost.rate_calc')}**")
    st.caption(t("cost.rate_calc_intro"))
    a, b, c, d = st.columns(4)
    channel = a.selectbox(t("cost.channel"), list(settings.cost_per_minute), key="calc_channel")
    team_cost = b.number_input(
        t("cost.team_cost"), 0.0, value=1_200_000.0, step=10_000.0, format="%.0f"
    )
    paid_hours = c.number_input(t("cost.paid_hours"), 1.0, value=1_600.0, step=8.0, format="%.0f")
    capacity = d.number_input(t("cost.capacity"), 1.0, 100.0, value=85.0, step=1.0, format="%.0f")
    rate = minute_rate(team_cost, paid_hours, capacity / 100)
    st.markdown(t("cost.rate_result", rate=money(rate, currency, 2)))
    if st.button(t("cost.use_rate", channel=md(channel))):
        save_settings(cost_per_minute={**settings.cost_per_minute, channel: round(rate, 2)})

unrated = unrated_channels(dataset)
if unrated:
    st.warning(t("cost.unrated", channels=md(", ".join(unrated))))

# Status-update logs: which states close a case (a reopen leaves one), and whether runs
# of updates in one state are one step (by default when the log is made of them).
activities, default_closing = engine(closing_states, dataset)
left, right = st.columns(2)
closing = tuple(
    right.multiselect(
        t("status_log.closing"),
        activities,
        default=default_closing,
        key="cost_closing",
        help=t("status_log.closing_help"),
    )
)
auto = engine(cost_view, dataset, None, closing)
collapse = left.toggle(
    t("status_log.collapse"),
    value=auto.loops.collapsed,
    key="cost_collapse",
    help=t("status_log.collapse_help", share=percent(auto.loops.share)),
)
view = auto if collapse == auto.loops.collapsed else engine(cost_view, dataset, collapse, closing)
if view.loops.collapsed:
    st.info(t("status_log.collapsed", share=percent(view.loops.share)))
cases = view.cases
months = period_months(dataset.events)
people = customer_costs(cases, dataset.customers, months)  # a group-by over cached cases
total = cases["cost"].sum()
# Never shown as measured: without handle times or explicit costs every figure is an
# estimate from the rates, and labelled so; with no cost at all, money is left out.
mark = t("status_log.estimate_mark") if view.basis == "estimated" else ""
if not total:
    st.info(t("status_log.no_cost"))
elif view.basis == "estimated":
    st.warning(t("status_log.estimated"))
if total:
    case_q = cases["cost"].quantile
    top20 = pareto(people).filter(pl.col("customer_share") >= 0.2)["cost_share"][0]
    a, b, c, d = st.columns(4)
    a.metric(
        t("cost.total") + mark,
        compact_money(total, currency),
        help=t("cost.total_help", cases=number(cases.height), events=number(dataset.events.height)),
    )
    b.metric(
        t("cost.per_case") + mark,
        money(cases["cost"].median(), currency),
        help=t(
            "cost.per_case_help",
            p10=money(case_q(0.1), currency),
            p90=money(case_q(0.9), currency),
            p99=money(case_q(0.99), currency),
        ),
    )
    c.metric(
        t("cost.per_customer") + mark,
        money(people["cost"].median(), currency),
        help=t(
            "cost.per_customer_help",
            p90=money(people["cost"].quantile(0.9), currency),
            max=money(people["cost"].max(), currency),
        ),
    )
    d.metric(t("cost.concentration"), percent(top20, 0), help=t("cost.concentration_help"))
    st.caption(
        t(
            "cost.rates_used",
            minute=", ".join(
                f"{c} {money(r, currency, 2)}" for c, r in settings.cost_per_minute.items() if r
            ),
            contact=money(settings.cost_per_contact, currency),
            manual=money(settings.cost_per_manual_step, currency),
            meeting=money(settings.cost_per_meeting, currency),
            explicit=number(dataset.events.height - dataset.events["cost"].null_count()),
            events=number(dataset.events.height),
        )
    )

    left, right = st.columns(2, gap="large")
    with left:
        st.subheader(t("cost.distribution") + mark)
        st.plotly_chart(
            quantile_boxes(quantiles(cases, "cost", "scenario"), currency), width="stretch"
        )
    with right:
        st.subheader(t("cost.pareto") + mark)
        st.plotly_chart(
            share_curve(
                pareto(people),
                "customer_share",
                "cost_share",
                t("cost.pareto_x"),
                t("cost.pareto_y"),
            ),
            width="stretch",
        )
    if "margin" in people.columns and people["margin"].null_count() < people.height:
        st.subheader(t("cost.whale") + mark)
        st.caption(t("cost.whale_note", months=number(months, 1)))
        st.plotly_chart(
            share_curve(
                whale(people),
                "customer_share",
                "cumulative_margin_share",
                t("cost.whale_x"),
                t("cost.whale_y"),
                diagonal=False,
            ),
            width="stretch",
        )

st.subheader(t("cost.tags"))
st.caption(t("cost.tags_intro"))
tags = tag_costs(cases)
# Formatted in Python over a few rows, outside Polars: a Python callback inside Polars
# (map_elements) can deadlock the server against to_pandas() elsewhere.
money_columns = (
    [
        pl.Series(t("cost.extra") + mark, [money(v, currency) for v in tags["extra_per_case"]]),
        pl.Series(t("cost.at_stake") + mark, [money(v, currency) for v in tags["at_stake"]]),
    ]
    if total
    else []
)
st.table(
    tags.select(
        pl.col("tag")
        .replace_strict({g: t(f"cost.defs.{g}") for g in TAGS})
        .alias(t("cost.definition")),
        pl.col("tag").alias(t("cost.tag")),
        pl.Series(t("cost.cases"), [number(v) for v in tags["cases"]]),
        pl.Series(t("cost.share"), [percent(v) for v in tags["share"]]),
        *money_columns,
    )
)
if total:
    st.markdown(
        t(
            "status_log.excess",
            excess=money(excess_cost(cases), currency),
            total=money(total, currency),
            mark=mark,
        )
    )
    st.subheader(t("cost.priciest") + mark)
    st.dataframe(
        priciest(cases).head(15),
        hide_index=True,
        width="stretch",
        column_config={
            "scenario": t("cost.scenario"),
            "tag": t("cost.tag"),
            "cases": count_column(t("cost.cases")),
            "extra_per_case": number_column(t("cost.extra")),
            "excess_cost": number_column(t("cost.at_stake")),
        },
    )

if dataset.customers is not None:
    st.subheader(t("cost.twins"))
    st.caption(t("cost.twins_intro"))
    pairs = twins(cases, dataset.customers)
    st.dataframe(pairs.drop("low_case", "high_case").head(12), hide_index=True, width="stretch")
    if pairs.height:
        top = pairs.row(0, named=True)
        left, right = st.columns(2)
        for column, key, case in (
            (left, "cost.pair_low", top["low_case"]),
            (right, "cost.pair_high", top["high_case"]),
        ):
            row = cases.filter(pl.col("case_id") == case).row(0, named=True)
            column.markdown(
                t(
                    key,
                    case=md(case),
                    contacts=row["contacts"],
                    cost=money(row["cost"], currency) + mark,
                )
            )
            column.dataframe(
                dataset.events.filter(pl.col("case_id") == case)
                .sort("timestamp", "row_nr")
                .select("timestamp", "activity", "channel", "resource", "is_manual", "handle_s"),
                hide_index=True,
                width="stretch",
            )

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
    format_func=lambda g: g or t("cost.any_tag"),
    key="cost_tag",
    bind="query-params",
)
chosen = cases.filter(
    pl.col("scenario") == scenario if scenario else pl.lit(True),
    pl.col(tag) if tag else pl.lit(True),
)
chosen = chosen.sort("cost", descending=True)
st.markdown(f"**{t('cost.drill_cases', cases=number(chosen.height))}**")
st.dataframe(chosen.head(200), hide_index=True, width="stretch")
a, b = st.columns(2)
a.download_button(
    t("cost.download_cases"),
    to_csv_bytes(chosen),
    file_name=f"cases_{scenario or 'all'}{'_' + tag if tag else ''}.csv",
    mime="text/csv",
)
b.download_button(
    t("cost.download_customers"),
    to_csv_bytes(people.sort("cost", descending=True)),
    file_name="customers_cost.csv",
    mime="text/csv",
)
