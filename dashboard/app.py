"""CX Radar: the router and the frame every page shares (data choice, language)."""

from __future__ import annotations

import streamlit as st

from dashboard.auth import sign_in_gate
from dashboard.escape import md
from dashboard.filters import sidebar as filter_sidebar
from dashboard.fmt import number
from dashboard.i18n import CODES, default_language, t, tr
from dashboard.state import current_dataset, uploaded_dataset

# An emoji icon: a :material: one makes every browser fetch it from fonts.gstatic.com.
st.set_page_config(page_title="CX Radar", page_icon="📡", layout="wide")

with st.sidebar:
    st.radio(
        "Language / Язык",
        list(CODES),
        index=list(CODES.values()).index(default_language()),
        key="lang",
        bind="query-params",
        horizontal=True,
    )
# Sign-in (when configured) before any data is read: the sign-in screen stops the run here.
sign_in_gate()
with st.sidebar:
    uploaded = uploaded_dataset()
    choices = ["sample", "upload"] if uploaded is not None else ["sample"]
    st.radio(
        t("sidebar.data"),
        choices,
        # Labels fixed during this run: a format_func may be called after it, out of context.
        format_func={"sample": t("sidebar.sample"), "upload": t("sidebar.uploaded")}.__getitem__,
        key="source",
    )
    if uploaded is None:
        st.caption(t("sidebar.no_upload"))
    elif st.session_state.get("source") == "upload" and not uploaded.report.usable:
        st.warning(t("sidebar.upload_unusable"))
        reasons = uploaded.report.errors
        if reasons:  # the first reason here, every one on the Data page
            more = t("upload.more", n=len(reasons) - 1) if len(reasons) > 1 else ""
            st.caption(f"{t('upload.why', reason=md(tr(reasons[0])))} {more}")
    filter_sidebar(current_dataset(filtered=False))
    dataset = current_dataset()
    events = dataset.events
    if events.height:
        st.caption(
            t(
                "sidebar.caption",
                events=number(events.height),
                customers=number(events["customer_id"].n_unique()),
                first=events["timestamp"].min().date(),  # type: ignore[union-attr]
                last=events["timestamp"].max().date(),  # type: ignore[union-attr]
            )
        )

pages = [
    st.Page(
        "app_pages/overview.py",
        title=t("nav.overview"),
        icon=":material/radar:",
        default=True,
        url_path="overview",
    ),
    st.Page(
        "app_pages/workshop.py",
        title=t("workshop.nav"),
        icon=":material/co_present:",
        url_path="workshop",
    ),
    st.Page(
        "app_pages/risk.py", title=t("nav.risk"), icon=":material/crisis_alert:", url_path="risk"
    ),
    st.Page(
        "app_pages/tension.py",
        title=t("nav.tension"),
        icon=":material/trending_up:",
        url_path="tension",
    ),
    st.Page(
        "app_pages/escalations.py",
        title=t("nav.escalations"),
        icon=":material/notifications_active:",
        url_path="escalations",
    ),
    st.Page(
        "app_pages/cost.py",
        title=t("nav.cost"),
        icon=":material/receipt_long:",
        url_path="cost",
    ),
    st.Page(
        "app_pages/process.py",
        title=t("nav.process"),
        icon=":material/account_tree:",
        url_path="process",
    ),
    st.Page(
        "app_pages/forecast.py",
        title=t("nav.forecast"),
        icon=":material/query_stats:",
        url_path="forecast",
    ),
    st.Page(
        "app_pages/economics.py",
        title=t("nav.economics"),
        icon=":material/payments:",
        url_path="economics",
    ),
    st.Page("app_pages/data.py", title=t("nav.data"), icon=":material/database:", url_path="data"),
]
st.navigation(pages).run()
