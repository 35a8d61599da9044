"""Overview: the classic metrics as green as they are, beside what they hide, each with its
change against the previous period when a date range is chosen in the sidebar."""

from __future__ import annotations

import streamlit as st

from analytics.filters import changes, period, previous, starts_before_data
from analytics.kpi import classic_metrics, monthly_story
from analytics.measures import data_end
from analytics.overview import leaks
from dashboard import filters
from dashboard.chart_locale import chart_config
from dashboard.charts import story_figure
from dashboard.fmt import money, number, percent
from dashboard.headline import Tiles, alert_line, zone_line
from dashboard.i18n import t
from dashboard.state import current_dataset, engine

dataset, whole = current_dataset(), current_dataset(filtered=False)
currency = dataset.settings.currency
m = engine(classic_metrics, dataset)
before = previous(filters.current(), whole)
days = None if before is None else period(whole, before)
moved = {}
if before is not None:
    moved = changes(m, engine(classic_metrics, filters.filtered(whole, before)))
tiles = Tiles(currency, moved, "overview")

st.title(t("overview.title"))
st.caption(t("overview.intro"))
if before is not None and days is not None:
    partial = t("filters.partial") if starts_before_data(whole, before) else ""
    span = (days[1] - days[0]).days + 1
    since, until = filters.day(days[0]), filters.day(days[1])
    st.caption(f"{t('filters.compared', days=span, start=since, end=until)} {partial}")
else:
    st.caption(t("filters.pick_dates"))
left, right = st.columns(2, gap="large")
with left:
    st.subheader(t("overview.classic"))
    a, b, c = st.columns(3)
    target = f"{dataset.settings.sla_target_s:g}"
    tiles.show(a, "sla", m.sla, "share", target=target, source=m.sla_source)
    tiles.show(b, "csat", m.csat, "score", n=m.csat_answers)
    nps = "—" if m.nps is None else f"{number(m.nps.score, 0)} ± {number(m.nps.se, 1)}"
    tiles.show(c, "nps", nps, "points", n=m.nps.answers if m.nps else 0)
    d, e = st.columns(2)
    tiles.show(d, "aht", m.aht_s, "seconds", figure="aht_s", worse_up=True, source=m.aht_source)
    contacts, cases = number(m.contacts), number(m.cases)
    tiles.show(
        e,
        "contacts",
        m.contacts_per_case,
        "score",
        figure="contacts_per_case",
        worse_up=True,
        contacts=contacts,
        cases=cases,
    )
with right:
    st.subheader(t("overview.hidden"))
    if dataset.customers is None:
        st.info(t("overview.no_customers"))
    else:
        a, b = st.columns(2)
        since_first = None  # no period to compare with: the change since the first full month
        if before is None and m.churn_first is not None and m.churn_last is not None:
            rise = number(100 * (m.churn_last - m.churn_first), 2)
            since_first = t("overview.churn_delta", delta=rise)
        tiles.show(
            a,
            "churn",
            m.churn_last,
            "churn",
            figure="churn_last",
            worse_up=True,
            change=since_first,
            first=percent(m.churn_first, 2),
        )
        tiles.show(
            b,
            "lost_revenue",
            m.revenue_lost_last_month,
            "money",
            figure="revenue_lost_last_month",
            worse_up=True,
        )
        if m.churn_last is None:
            st.caption(t("filters.no_churn"))
        tiles.show(
            st.container(),
            "active",
            m.active_customers,
            "count",
            figure="active_customers",
            end=data_end(dataset),
            revenue=money(m.monthly_revenue, currency),
        )

if dataset.customers is not None and dataset.events.height:
    st.subheader(t("overview.leaks"))
    with st.spinner(t("overview.computing")):
        found = engine(leaks, dataset)
    a, b, c, d = st.columns(4)
    estimated = t("status_log.estimate_mark") if found.estimated else ""
    tiles.show(a, "at_risk", found.at_risk, "compact")
    a.page_link("app_pages/risk.py", label=t("overview.to_risk"), icon=":material/crisis_alert:")
    tiles.show(b, "excess", found.excess, "compact", mark=estimated)
    b.page_link("app_pages/cost.py", label=t("overview.to_cost"), icon=":material/receipt_long:")
    tiles.show(c, "zones", found.zone_count, "count")
    c.page_link("app_pages/tension.py", label=t("overview.to_zones"), icon=":material/trending_up:")
    d.metric(t("measures.alerts"), number(found.alerts), help=t("measures.alerts_help"))
    d.page_link(
        "app_pages/escalations.py",
        label=t("overview.to_alerts"),
        icon=":material/notifications_active:",
    )
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown(f"**{t('overview.top_zones')}**")
        if found.zones:
            st.markdown("\n".join(zone_line(z, currency) for z in found.zones))
        else:
            st.caption(t("risk.no_zones"))
    with right:
        st.markdown(f"**{t('overview.fix_first')}**")
        if found.urgent:
            st.markdown("\n".join(alert_line(a, currency) for a in found.urgent))
        else:
            st.caption(t("esc.none"))

story = engine(monthly_story, dataset)
if story.height:
    titles = ("chart_title", "chart_sla", "chart_nps", "chart_churn")
    st.plotly_chart(
        story_figure(story, *(t(f"overview.{k}") for k in titles)),
        width="stretch",
        config=chart_config(),
    )
st.subheader(t("overview.explore"))
a, b, c, d = st.columns(4)
a.page_link("app_pages/economics.py", label=t("overview.to_economics"), icon=":material/payments:")
b.page_link("app_pages/forecast.py", label=t("overview.to_forecast"), icon=":material/query_stats:")
c.page_link("app_pages/process.py", label=t("overview.to_process"), icon=":material/account_tree:")
d.page_link("app_pages/data.py", label=t("overview.to_data"), icon=":material/database:")
