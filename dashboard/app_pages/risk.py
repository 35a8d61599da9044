"""Risk: who is likely to leave, what it is worth, and where tension is growing."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.export import to_csv_bytes
from analytics.measures import revenue_at_risk
from analytics.risk import (
    HORIZON_DAYS,
    REASONS,
    SNAPSHOT_REASONS,
    RiskUnavailable,
    at_risk,
    reason_words,
    revenue_at_risk_by,
    silent_at_risk,
    train,
)
from analytics.risk_model import coefficients
from dashboard.auth import customer_lists, export_button
from dashboard.charts import bars_figure
from dashboard.fmt import (
    compact_money,
    count_column,
    money,
    number,
    number_column,
    percent,
    share_column,
)
from dashboard.i18n import t
from dashboard.needs import require
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

    # ------------------------------------------------------------ the model and its card
    st.subheader(t("risk.model"))
    if model.method == "rules":
        st.warning(t("risk.rules", churners=model.churners_train))
    else:
        st.markdown(t(f"risk.used_{model.method}"))
    if model.validations:
        st.dataframe(
            pl.DataFrame([v.__dict__ for v in model.validations]).with_columns(
                (pl.col("model") == model.method).alias("used"),
                pl.col("model").replace_strict(
                    {m: t(f"risk.model_{m}") for m in ("logistic", "gbm", "rules")}
                ),
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "model": t("risk.model_col"),
                "roc_auc": st.column_config.NumberColumn("ROC AUC", format="%.3f"),
                "pr_auc": st.column_config.NumberColumn("PR AUC", format="%.3f"),
                "brier": st.column_config.NumberColumn("Brier", format="%.4f"),
                "top_decile_lift": st.column_config.NumberColumn(t("risk.lift"), format="%.2f"),
                "used": st.column_config.CheckboxColumn(t("risk.used")),
            },
        )
    base = percent(model.base_rate)
    if snapshot:
        customers = number(float(model.split["customers"]))
        st.caption(
            t(
                "riskmodel.split_snapshot",
                base=base,
                folds=model.split["folds"],
                customers=customers,
            )
        )
    else:
        st.caption(t("risk.split", base=base, **model.split))
    card = model.card
    a, b, c = st.columns(3)
    a.metric(
        t("risk.caught"),
        f"{number(card['flagged'])} / {number(card['churners'])}",
        help=t("riskmodel.caught_help_snapshot")
        if snapshot
        else t("risk.caught_help", validate=model.split["validate"], days=HORIZON_DAYS),
    )
    b.metric(t("risk.recall"), percent(card["recall_top_decile"], 0), help=t("risk.recall_help"))
    if not snapshot:
        c.metric(
            t("risk.ahead"),
            t("risk.days", days=number(card["median_days_ahead"])),
            help=t("risk.ahead_help"),
        )
    for note in model.notes:
        if note.key not in ("rules", "baseline"):  # said above already
            st.caption(t(f"riskmodel.note.{note.key}", **note.values))
    if model.importance.height:
        top = model.importance.head(10)
        st.plotly_chart(
            bars_figure(
                top["feature"].to_list()
                if snapshot
                else [t(f"risk.feature.{f}") for f in top["feature"]],
                top["importance"].to_list(),
                t("risk.drivers"),
                top["sd"].to_list(),
            ),
            width="stretch",
        )
        st.caption(t("riskmodel.drivers_help_snapshot") if snapshot else t("risk.drivers_help"))
    coef = coefficients(model.pipeline)
    if coef is not None:
        with st.expander(t("riskmodel.coefficients")):
            st.dataframe(
                coef,
                hide_index=True,
                width="stretch",
                column_config={
                    "feature": t("riskmodel.feature"),
                    "coefficient": st.column_config.NumberColumn(
                        t("riskmodel.coefficient"), format="%.3f"
                    ),
                    "odds_ratio": st.column_config.NumberColumn(
                        t("riskmodel.odds_ratio"), format="%.2f"
                    ),
                },
            )
            st.caption(t("riskmodel.coefficients_help"))

    # ------------------------------------------------------------ revenue at risk
    st.subheader(t("risk.revenue"))
    scored = model.scored
    # Without a churn history there is no LTV: a month's revenue at risk instead.
    money_col = "revenue_at_risk" if model.ltv_churn else "revenue_at_risk_month"
    money_label = t("risk.at_risk") if model.ltv_churn else t("riskmodel.month_at_risk")
    a, b, c = st.columns(3)
    if model.ltv_churn:
        a.metric(
            t("risk.total_at_risk"),
            compact_money(revenue_at_risk(scored), currency),
            help=t("risk.total_help", churn=percent(model.ltv_churn, 2)),
        )
    else:
        a.metric(
            t("riskmodel.month_at_risk"),
            compact_money(scored["revenue_at_risk_month"].sum(), currency),
            help=t("riskmodel.month_help"),
        )
    b.metric(
        t("risk.expected"),
        number(scored["p_churn"].sum()),
        help=t("riskmodel.expected_help_snapshot") if snapshot else t("risk.expected_help"),
    )
    has_events = dataset.events.height > 0
    silent = silent_at_risk(scored)
    if has_events:
        c.metric(
            t("risk.silent"),
            number(silent.height),
            help=t("risk.silent_help", money=money(silent[money_col].sum(), currency)),
        )
    slices = {
        s: t(f"risk.by_{s}") if s in ("segment", "region", "scenario", "channel") else s
        for s in model.slices
    }
    if slices:
        by = st.segmented_control(
            t("riskmodel.by_month") if money_col == "revenue_at_risk_month" else t("risk.by"),
            list(slices),
            format_func=slices.__getitem__,
            default=next(iter(slices)),
            key="risk_by",
        ) or next(iter(slices))
        table = revenue_at_risk_by(scored, by)
        left, right = st.columns([3, 2], gap="large")
        left.plotly_chart(
            bars_figure(
                table[by].to_list(),
                table[money_col].to_list(),
                t(
                    "risk.by_title" if model.ltv_churn else "riskmodel.by_month_title",
                    currency=currency,
                ),
            ),
            width="stretch",
        )
        right.dataframe(
            table.select(by, "customers", "expected_leavers", money_col, "mean_risk"),
            hide_index=True,
            column_config={
                by: slices[by],
                "customers": count_column(t("risk.customers")),
                "expected_leavers": number_column(t("risk.expected")),
                money_col: number_column(money_label),
                "mean_risk": share_column(t("risk.mean_risk")),
            },
        )

    st.subheader(t("risk.list"))
    if not customer_lists():  # viewers: aggregates only (the list is the page's last part)
        st.stop()
    only_silent = has_events and st.toggle(t("risk.only_silent"), key="only_silent")
    listed = (silent if only_silent else at_risk(scored)).sort(
        money_col, "p_churn", "customer_id", descending=[True, True, False], nulls_last=True
    )
    templates = {
        **{k: t(f"risk.reason.{k}") for k in REASONS},
        **{k: t(f"riskmodel.reason.{k}") for k in SNAPSHOT_REASONS},
    }
    words = ["; ".join(r) for r in reason_words(listed, templates)]
    listed = listed.with_columns(pl.Series("reasons", words, dtype=pl.String))
    columns = [
        "customer_id",
        "p_churn",
        money_col,
        "reasons",
        *(s for s in slices if s in listed.columns),
        *(["silent"] if has_events else []),
    ]
    st.dataframe(
        listed.select(columns).head(300),
        hide_index=True,
        width="stretch",
        column_config={
            "customer_id": t("risk.customer"),
            "p_churn": share_column(t("risk.p_churn")),
            money_col: number_column(money_label),
            "reasons": st.column_config.TextColumn(t("risk.reasons"), width="large"),
            "silent": st.column_config.CheckboxColumn(t("risk.is_silent")),
        },
    )
    st.caption(
        t(
            "riskmodel.list_help_snapshot" if snapshot else "risk.list_help",
            shown=number(min(300, listed.height)),
            total=number(listed.height),
        )
    )
    export_button(
        t("risk.download"),
        lambda: to_csv_bytes(listed.select(columns)),
        "at_risk_customers.csv",
        "text/csv",
        rows=listed.height,
    )
