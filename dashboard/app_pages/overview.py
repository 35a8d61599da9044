"""Overview: the classic metrics as green as they are, beside what they hide."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from analytics.cost import case_costs, cost_basis, excess_cost
from analytics.escalation import SEVERITIES, Rules, evaluate, inputs_for
from analytics.kpi import classic_metrics, monthly_story
from analytics.measures import data_end, revenue_at_risk
from analytics.risk import train
from dashboard.charts import story_figure
from dashboard.escape import md
from dashboard.fmt import compact_money, money, number, percent, seconds
from dashboard.i18n import t
from dashboard.state import current_dataset, engine

dataset = current_dataset()
currency = dataset.settings.currency
m = engine(classic_metrics, dataset)

st.title(t("overview.title"))
st.caption(t("overview.intro"))
left, right = st.columns(2, gap="large")
with left:
    st.subheader(t("overview.classic"))
    a, b, c = st.columns(3)
    a.metric(
        t("overview.sla"),
        percent(m.sla),
        help=t(
            "overview.sla_help", target=f"{dataset.settings.sla_target_s:g}", source=m.sla_source
        ),
    )
    b.metric(t("overview.csat"), number(m.csat, 2), help=t("overview.csat_help", n=m.csat_answers))
    nps_text = "—" if m.nps is None else f"{number(m.nps.score, 0)} ± {number(m.nps.se, 1)}"
    c.metric(
        t("overview.nps"), nps_text, help=t("overview.nps_help", n=m.nps.answers if m.nps else 0)
    )
    d, e = st.columns(2)
    d.metric(t("overview.aht"), seconds(m.aht_s), help=t("overview.aht_help", source=m.aht_source))
    e.metric(
        t("overview.contacts"),
        number(m.contacts_per_case, 2),
        help=t("overview.contacts_help", contacts=number(m.contacts), cases=number(m.cases)),
    )
with right:
    st.subheader(t("overview.hidden"))
    if m.churn_last is None:
        st.info(t("overview.no_customers"))
    else:
        a, b = st.columns(2)
        delta = None if m.churn_first is None else 100 * (m.churn_last - m.churn_first)
        a.metric(
            t("overview.churn"),
            percent(m.churn_last, 2),
            delta=None if delta is None else t("overview.churn_delta", delta=number(delta, 2)),
            delta_color="inverse",
            help=t("overview.churn_help", first=percent(m.churn_first, 2)),
        )
        b.metric(
            t("overview.lost_revenue"),
            money(m.revenue_lost_last_month, currency),
            help=t("overview.lost_revenue_help"),
        )
        st.metric(
            t("overview.active"),
            number(m.active_customers),
            help=t(
                "overview.active_help",
                end=data_end(dataset),
                revenue=money(m.monthly_revenue, currency),
            ),
        )


def level(indicator: str, value: float) -> str:
    """A zone's level as people read it: shares in %, cost in money, CSAT as a score, the
    speed of answer in m:ss."""
    if indicator == "cost_per_case":
        return money(value, currency)
    if indicator == "asa":
        return seconds(value)
    return number(value, 2) if indicator == "csat" else percent(value)


if dataset.customers is not None and dataset.events.height:
    st.subheader(t("overview.leaks"))
    with st.spinner(t("overview.computing")):
        model = engine(train, dataset)
        cases = engine(case_costs, dataset)
        inputs = inputs_for(dataset, compute=engine)
    run = evaluate(Rules.default(), inputs, {}, dt.datetime.now().replace(microsecond=0))
    excess = excess_cost(cases)  # each case once, however many tags
    found = (
        inputs.zones.filter(pl.col("zone"))
        if inputs.zones is not None and inputs.zones.height
        else None
    )
    to_act_on = run.to_act_on
    a, b, c, d = st.columns(4)
    a.metric(
        t("overview.at_risk"),
        compact_money(revenue_at_risk(model.scored), currency),
        help=t("overview.at_risk_help"),
    )
    a.page_link("app_pages/risk.py", label=t("overview.to_risk"), icon=":material/crisis_alert:")
    b.metric(
        t("overview.excess")
        + (t("status_log.estimate_mark") if cost_basis(dataset.events) == "estimated" else ""),
        compact_money(excess, currency),
        help=t("overview.excess_help"),
    )
    b.page_link("app_pages/cost.py", label=t("overview.to_cost"), icon=":material/receipt_long:")
    c.metric(
        t("overview.zones"),
        number(0 if found is None else found.height),
        help=t("overview.zones_help"),
    )
    c.page_link("app_pages/tension.py", label=t("overview.to_zones"), icon=":material/trending_up:")
    d.metric(t("measures.alerts"), number(len(to_act_on)), help=t("measures.alerts_help"))
    d.page_link(
        "app_pages/escalations.py",
        label=t("overview.to_alerts"),
        icon=":material/notifications_active:",
    )
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown(f"**{t('overview.top_zones')}**")
        if found is not None and found.height:
            st.markdown(
                "\n".join(
                    t(
                        "overview.zone_line",
                        slice=z["slice"],
                        value=md(z["value"]),
                        indicator=t(f"risk.indicator.{z['indicator']}"),
                        started=z["started"],
                        baseline=level(z["indicator"], z["baseline"]),
                        recent=level(z["indicator"], z["recent"]),
                        change=t("risk.from_none")
                        if z["relative_change"] is None
                        else ("+" if z["relative_change"] > 0 else "")
                        + percent(z["relative_change"], 0),
                    )
                    # One line per indicator: three slices of one problem tell less.
                    for z in found.unique("indicator", keep="first", maintain_order=True)
                    .head(3)
                    .iter_rows(named=True)
                )
            )
        else:
            st.caption(t("risk.no_zones"))
    with right:
        st.markdown(f"**{t('overview.fix_first')}**")
        urgent = sorted(
            to_act_on,
            key=lambda a: (-SEVERITIES.index(a["severity"]), -a["money_at_stake"], a["id"]),
        )
        if urgent:
            st.markdown(
                "\n".join(
                    t(
                        "overview.alert_line",
                        severity=a["severity"],
                        zone=md(a["zone"]),
                        reason=md(a["reason"]),
                        owner=md(a["owner"]),
                        money=compact_money(a["money_at_stake"], currency),
                    )
                    for a in urgent[:3]
                )
            )
        else:
            st.caption(t("esc.none"))

story = engine(monthly_story, dataset)
if story.height:
    st.plotly_chart(
        story_figure(
            story,
            t("overview.chart_title"),
            t("overview.chart_sla"),
            t("overview.chart_nps"),
            t("overview.chart_churn"),
        ),
        width="stretch",
    )
st.subheader(t("overview.explore"))
a, b, c, d = st.columns(4)
a.page_link("app_pages/economics.py", label=t("overview.to_economics"), icon=":material/payments:")
b.page_link("app_pages/forecast.py", label=t("overview.to_forecast"), icon=":material/query_stats:")
c.page_link("app_pages/process.py", label=t("overview.to_process"), icon=":material/account_tree:")
d.page_link("app_pages/data.py", label=t("overview.to_data"), icon=":material/database:")
