"""Risk: who is likely to leave, what it is worth, and where tension is growing."""

from __future__ import annotations

import streamlit as st

from analytics.risk import (
    HORIZON_DAYS,
    REASONS,
    SNAPSHOT_REASONS,
    RiskUnavailable,
    revenue_at_risk_by,
    train,
)
from analytics.risk_summary import at_risk_list, figures, money_column
from dashboard.auth import customer_lists, export_button
from dashboard.chart_locale import chart_config
from dashboard.charts import bars_figure
from dashboard.fmt import compact_money, money, number, percent, symbol
from dashboard.i18n import language, t
from dashboard.needs import require
from dashboard.risk_view import csv, customer_reasons, model_card, table
from dashboard.state import current_dataset, engine

dataset = current_dataset()
currency = dataset.settings.currency
st.title(t("risk.title"))
require(dataset, "customers")
try:
    with st.spinner(t("risk.training")):
        model = engine(train, dataset)
except RiskUnavailable as why:
    st.info(t(f"riskmodel.unavailable.{why.key}", **why.values))
    model = None
if model is not None:
    snapshot = model.mode == "snapshot"
    st.caption(t("riskmodel.intro_snapshot") if snapshot else t("risk.intro", days=HORIZON_DAYS))
    model_card(model)

    # ------------------------------------------------------------ revenue at risk
    st.subheader(t("risk.revenue"))
    # Without a churn history there is no LTV: a month's revenue at risk instead.
    money_col = money_column(model)
    has_events = dataset.events.height > 0
    shown = figures(model, has_events)
    a, b, c = st.columns(3)
    if model.ltv_churn:
        total_help = t("risk.total_help", churn=percent(model.ltv_churn, 2))
        a.metric(t("risk.total_at_risk"), compact_money(shown.at_risk, currency), help=total_help)
    else:
        at_risk = compact_money(shown.at_risk, currency)
        a.metric(t("riskmodel.month_at_risk"), at_risk, help=t("riskmodel.month_help"))
    expected_help = t("riskmodel.expected_help_snapshot" if snapshot else "risk.expected_help")
    b.metric(t("risk.expected"), number(shown.expected), help=expected_help)
    if shown.silent is not None:
        silent_help = t("risk.silent_help", money=money(shown.silent_money, currency))
        c.metric(t("risk.silent"), number(shown.silent), help=silent_help)
    slices = {
        s: t(f"risk.by_{s}") if s in ("segment", "region", "scenario", "channel") else s
        for s in model.slices
    }
    by = None
    if slices:
        by = st.segmented_control(
            t("riskmodel.by_month") if money_col == "revenue_at_risk_month" else t("risk.by"),
            list(slices),
            format_func=slices.__getitem__,
            default=next(iter(slices)),
            key="risk_by",
        ) or next(iter(slices))
        split = revenue_at_risk_by(model.scored, by)
        title = "risk.by_title" if model.ltv_churn else "riskmodel.by_month_title"
        bars = bars_figure(
            split[by].to_list(), split[money_col].to_list(), t(title, currency=symbol(currency))
        )
        st.plotly_chart(bars, width="stretch", config=chart_config())
        # Full width under the chart: long region names are never cut off.
        table(split.select(by, "customers", "expected_leavers", money_col, "mean_risk"), currency)

    st.subheader(t("risk.list"))
    if not customer_lists():  # viewers: aggregates only (the list is the page's last part)
        st.stop()
    only_silent = has_events and st.toggle(t("risk.only_silent"), key="only_silent")
    templates = {
        **{k: t(f"risk.reason.{k}") for k in REASONS},
        **{k: t(f"riskmodel.reason.{k}") for k in SNAPSHOT_REASONS},
    }
    listed = engine(
        at_risk_list, dataset, only_silent, tuple(sorted(templates.items())), language()
    )
    # What fits at 1366 px: the slice chosen above and the strongest reason (the download
    # has every slice and reason); a picked customer's reasons in full below.
    hidden = ["reasons", *(s for s in slices if s in listed.columns and s != by)]
    table(listed.head(300).drop(hidden), currency)
    help_key = "riskmodel.list_help_snapshot" if snapshot else "risk.list_help"
    st.caption(t(help_key, shown=number(min(300, listed.height)), total=number(listed.height)))
    customer_reasons(listed.head(300))
    export_button(
        t("risk.download"),
        lambda: csv(listed, currency),
        "at_risk_customers.csv",
        "text/csv",
        rows=listed.height,
    )
