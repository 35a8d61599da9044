"""Overview: the classic metrics as green as they are, beside what they hide."""

from __future__ import annotations

import streamlit as st

from analytics.kpi import classic_metrics, monthly_story
from dashboard.charts import story_figure
from dashboard.fmt import money, number, percent, seconds
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
        c.metric(
            t("overview.active"),
            number(m.active_customers),
            help=t("overview.active_help", revenue=money(m.monthly_revenue, currency)),
        )

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
b.page_link("app_pages/cost.py", label=t("overview.to_cost"), icon=":material/receipt_long:")
c.page_link("app_pages/process.py", label=t("overview.to_process"), icon=":material/account_tree:")
d.page_link("app_pages/data.py", label=t("overview.to_data"), icon=":material/database:")
