"""CX Radar: the router and the frame every page shares (data choice, language)."""

from __future__ import annotations

import streamlit as st

from analytics.measures import span
from dashboard.auth import sign_in_gate
from dashboard.escape import md
from dashboard.filters import day
from dashboard.filters import sidebar as filter_sidebar
from dashboard.fmt import number
from dashboard.i18n import CODES, default_language, t, tr
from dashboard.nav import DEFAULT, PAGES, script
from dashboard.state import current_dataset, engine, uploaded_dataset

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
    covered = engine(span, current_dataset())
    if covered.events:
        events, customers = number(covered.events), number(covered.customers)
        first, last = day(covered.first), day(covered.last)  # 31.12.2025 in Russian
        st.caption(t("sidebar.caption", events=events, customers=customers, first=first, last=last))

pages = [
    st.Page(script(p.url), title=t(p.title), icon=p.icon, url_path=p.url, default=p.url == DEFAULT)
    for p in PAGES
]
st.navigation(pages).run()
