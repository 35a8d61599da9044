"""The Risk page's parts: the model card (which model, how it validated, what drives it)
and its tables, headers in words from ``[risk.col]`` and formatted by what each column
holds."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.export import Kind
from analytics.risk import HORIZON_DAYS, RiskModel, did_not_hold
from analytics.risk_model import coefficients
from analytics.risk_summary import validation_table
from dashboard.chart_locale import chart_config
from dashboard.charts import bars_figure
from dashboard.escape import md
from dashboard.filters import day
from dashboard.fmt import number, percent
from dashboard.headers import headers
from dashboard.i18n import t
from dashboard.tables import export_csv, show

# What each column of the Risk page's tables holds (dashboard.tables kinds).
KINDS: dict[str, Kind] = {
    **dict.fromkeys(("roc_auc", "pr_auc", "brier", "coefficient"), "score"),
    **dict.fromkeys(("top_decile_lift", "odds_ratio"), "decimal"),
    **dict.fromkeys(("revenue_at_risk", "revenue_at_risk_month"), "money"),
    **dict.fromkeys(("p_churn", "mean_risk"), "probability"),
    "customers": "count",
    "expected_leavers": "number",
    "used": "flag",
    "silent": "flag",
}


def table(frame: pl.DataFrame, currency: str = "") -> None:
    labels = headers("risk.col", frame.columns)
    wide = [c for c in ("main_reason",) if c in frame.columns]  # a sentence: room to be read
    show(frame, KINDS, currency=currency, labels=labels, wide=wide)


def csv(listed: pl.DataFrame, currency: str) -> bytes:
    """The at-risk list for a spreadsheet: every reason in one cell, "; " between them."""
    frame = listed.drop("main_reason").with_columns(pl.col("reasons").list.join("; "))
    return export_csv(frame, KINDS, currency=currency, labels=headers("risk.col", frame.columns))


@st.fragment
def customer_reasons(listed: pl.DataFrame) -> None:
    """One listed customer's reasons in full, as a list (the table shows the strongest); a
    fragment: picking another customer redraws this part only."""
    if not listed.height:
        return
    ids = listed["customer_id"].to_list()
    pick = st.selectbox(t("risk.col.reasons"), ids, key="risk_why")
    reasons = listed.row(ids.index(pick), named=True)["reasons"] or []
    st.markdown("\n".join(f"* {md(r)}" for r in reasons))


def split_days(split: dict[str, object]) -> dict[str, str]:
    """The time split's snapshot days (the engine's ISO text, several joined by ", ") as
    the reader writes days: 04.08.2025 in Russian."""
    return {
        k: ", ".join(day(d) for d in str(split[k]).split(", "))
        for k in ("fit", "calibrate", "validate", "score")
        if split.get(k)
    }


def model_card(model: RiskModel) -> None:
    """Which model scores the customers and why, its validation against the others, the
    leavers it caught in advance, and what drives it."""
    snapshot = model.mode == "snapshot"
    st.subheader(t("risk.model"))
    if model.method == "rules":
        st.warning(t("risk.rules", churners=model.churners_train))
    else:
        st.markdown(t(f"risk.used_{model.method}"))
    if model.validations:
        table(
            validation_table(model, {m: t(f"risk.model_{m}") for m in ("logistic", "gbm", "rules")})
        )
    base = percent(model.base_rate)
    if snapshot:
        customers = number(float(model.split["customers"]))
        folds = model.split["folds"]
        st.caption(t("riskmodel.split_snapshot", base=base, folds=folds, customers=customers))
        caught_help = t("riskmodel.caught_help_snapshot")
    else:
        days = split_days(model.split)
        st.caption(t("risk.split", base=base, **(model.split | days)))
        caught_help = t("risk.caught_help", validate=days["validate"], days=HORIZON_DAYS)
    card = model.card
    a, b, c = st.columns(3)
    caught = f"{number(card['flagged'])} / {number(card['churners'])}"
    a.metric(t("risk.caught"), caught, help=caught_help)
    b.metric(t("risk.recall"), percent(card["recall_top_decile"], 0), help=t("risk.recall_help"))
    if not snapshot:
        ahead = t("risk.days", days=number(card["median_days_ahead"]))
        c.metric(t("risk.ahead"), ahead, help=t("risk.ahead_help"))
    for note in model.notes:
        if note.key not in ("rules", "baseline"):  # said above already
            st.caption(t(f"riskmodel.note.{note.key}", **note.values))
    if model.importance.height:
        # the ten strongest, and any the validation period contradicts (named below)
        contradicted = [] if snapshot else did_not_hold(model.importance)
        ranked = model.importance.with_row_index("rank")
        top = ranked.filter((pl.col("rank") < 10) | pl.col("feature").is_in(contradicted))
        features = top["feature"].to_list()
        if not snapshot:
            features = [t(f"risk.feature.{f}") for f in features]
        drivers = bars_figure(
            features, top["importance"].to_list(), t("risk.drivers"), top["sd"].to_list()
        )
        st.plotly_chart(drivers, width="stretch", config=chart_config())
        st.caption(t("riskmodel.drivers_help_snapshot") if snapshot else t("risk.drivers_help"))
        if contradicted:
            names = ", ".join(t(f"risk.feature.{f}") for f in contradicted)
            st.caption(t("risk.drivers_did_not_hold", features=names))
    coef = coefficients(model.pipeline)
    if coef is not None:
        with st.expander(t("riskmodel.coefficients")):
            table(coef)
            st.caption(t("riskmodel.coefficients_help"))
