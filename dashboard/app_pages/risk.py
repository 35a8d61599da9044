"""Risk: who is likely to leave, what it is worth, and where tension is growing."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.export import to_csv_bytes
from analytics.measures import revenue_at_risk
from analytics.risk import (
    HORIZON_DAYS,
    at_risk,
    reason_text,
    revenue_at_risk_by,
    silent_at_risk,
    train,
)
from analytics.tension import MIN_BASELINE_DAYS, operational_gaps, zones
from dashboard.charts import bars_figure, control_chart
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
from dashboard.state import current_dataset, engine

dataset = current_dataset()
currency = dataset.settings.currency
st.title(t("risk.title"))
st.caption(t("risk.intro", days=HORIZON_DAYS))
if dataset.customers is None or dataset.events.is_empty():
    st.info(t("risk.no_customers"))
    st.stop()
with st.spinner(t("risk.training")):
    model = engine(train, dataset)

# ---------------------------------------------------------------- the model and its card
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
            "lift_top_decile": st.column_config.NumberColumn(t("risk.lift"), format="%.2f"),
            "used": st.column_config.CheckboxColumn(t("risk.used")),
        },
    )
st.caption(t("risk.split", base=percent(model.base_rate), **model.cutoffs))
card = model.card
a, b, c = st.columns(3)
a.metric(
    t("risk.caught"),
    f"{number(card['flagged'])} / {number(card['churners'])}",
    help=t("risk.caught_help", validate=model.cutoffs["validate"], days=HORIZON_DAYS),
)
b.metric(t("risk.recall"), percent(card["recall_top_decile"], 0), help=t("risk.recall_help"))
c.metric(
    t("risk.ahead"),
    t("risk.days", days=number(card["median_days_ahead"])),
    help=t("risk.ahead_help"),
)
for note in model.notes:
    st.caption(note)
if model.importance.height:
    top = model.importance.head(10)
    st.plotly_chart(
        bars_figure(
            [t(f"risk.feature.{f}") for f in top["feature"]],
            top["importance"].to_list(),
            t("risk.drivers"),
            top["sd"].to_list(),
        ),
        width="stretch",
    )
    st.caption(t("risk.drivers_help"))

# ---------------------------------------------------------------- revenue at risk
st.subheader(t("risk.revenue"))
scored = model.scored
a, b, c = st.columns(3)
a.metric(
    t("risk.total_at_risk"),
    compact_money(revenue_at_risk(scored), currency),
    help=t("risk.total_help", churn=percent(model.ltv_churn, 2)),
)
b.metric(t("risk.expected"), number(scored["p_churn"].sum()), help=t("risk.expected_help"))
silent = silent_at_risk(scored)
c.metric(
    t("risk.silent"),
    number(silent.height),
    help=t("risk.silent_help", money=money(silent["revenue_at_risk"].sum(), currency)),
)
slices = {s: t(f"risk.by_{s}") for s in ("segment", "region", "scenario", "channel")}
by = st.segmented_control(
    t("risk.by"), list(slices), format_func=slices.__getitem__, default="region", key="risk_by"
)
table = revenue_at_risk_by(scored, by or "region")
left, right = st.columns([3, 2], gap="large")
left.plotly_chart(
    bars_figure(
        table[by or "region"].cast(pl.String).to_list(),
        table["revenue_at_risk"].to_list(),
        t("risk.by_title", currency=currency),
    ),
    width="stretch",
)
right.dataframe(
    table,
    hide_index=True,
    column_config={
        "customers": count_column(t("risk.customers")),
        "expected_leavers": number_column(t("risk.expected")),
        "revenue_at_risk": number_column(t("risk.at_risk")),
        "mean_risk": share_column(t("risk.mean_risk")),
    },
)

st.subheader(t("risk.list"))
only_silent = st.toggle(t("risk.only_silent"), key="only_silent")
listed = silent if only_silent else at_risk(scored)
listed = listed.sort("revenue_at_risk", descending=True)
words = [
    "; ".join(reason_text(f, v, t(f"risk.reason.{f}")) for f, v in zip(fs, vs, strict=True))
    for fs, vs in zip(listed["reason_features"], listed["reason_values"], strict=True)
]
listed = listed.with_columns(pl.Series("reasons", words, dtype=pl.String))
columns = [
    "customer_id",
    "p_churn",
    "revenue_at_risk",
    "reasons",
    "segment",
    "region",
    "scenario",
    "channel",
    "silent",
]
st.dataframe(
    listed.select(columns).head(300),
    hide_index=True,
    width="stretch",
    column_config={
        "customer_id": t("risk.customer"),
        "p_churn": share_column(t("risk.p_churn")),
        "revenue_at_risk": number_column(t("risk.at_risk")),
        "reasons": st.column_config.TextColumn(t("risk.reasons"), width="large"),
        "silent": st.column_config.CheckboxColumn(t("risk.is_silent")),
    },
)
st.caption(t("risk.list_help", shown=number(min(300, listed.height)), total=number(listed.height)))
st.download_button(
    t("risk.download"),
    to_csv_bytes(listed.select(columns)),
    "at_risk_customers.csv",
    "text/csv",
)

# ---------------------------------------------------------------- tension zones
st.subheader(t("risk.zones"))
st.caption(t("risk.zones_help"))
span = st.date_input(
    t("risk.baseline_pick"), value=[], key="tension_baseline", help=t("risk.baseline_pick_help")
)
baseline = tuple(span) if len(span) == 2 else None
if baseline and (baseline[1] - baseline[0]).days + 1 < MIN_BASELINE_DAYS:
    st.warning(t("risk.baseline_short", days=MIN_BASELINE_DAYS))
    baseline = None
with st.spinner(t("risk.zones_running")):
    # The default baseline shares its cache entry with the Overview and Escalations pages.
    table = engine(zones, dataset, None, baseline) if baseline else engine(zones, dataset)
found = table.filter(pl.col("zone")) if table.height else table


def change(z: dict) -> str:
    """+108 % against the baseline, or "from none" where the baseline was zero."""
    rel = z["relative_change"]
    return t("risk.from_none") if rel is None else ("+" if rel > 0 else "") + percent(rel, 0)


if found.height == 0:
    st.info(t("risk.no_zones"))
else:
    frequency = {"day": t("risk.daily"), "week": t("risk.weekly_freq")}
    shown = found.with_columns(
        pl.col("indicator").replace_strict(
            {k: t(f"risk.indicator.{k}") for k in found["indicator"].unique()}
        ),
        pl.col("frequency").replace_strict(frequency),
    )
    st.dataframe(
        shown.select(
            "slice",
            "value",
            "indicator",
            "frequency",
            "baseline",
            "recent",
            "relative_change",
            "excess_per_month",
            "money_at_stake",
            "started",
            "first_alarm",
            "customers",
            "revenue_exposed",
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "slice": t("risk.slice"),
            "value": t("risk.value"),
            "indicator": t("risk.indicator_col"),
            "frequency": t("risk.frequency"),
            "baseline": st.column_config.NumberColumn(t("risk.baseline"), format="%.3f"),
            "recent": st.column_config.NumberColumn(t("risk.recent"), format="%.3f"),
            "relative_change": share_column(t("risk.change")),
            "excess_per_month": number_column(t("risk.excess")),
            "money_at_stake": number_column(t("risk.money", currency=currency)),
            "started": t("risk.started"),
            "first_alarm": t("risk.first_alarm"),
            "customers": count_column(t("risk.customers")),
            "revenue_exposed": number_column(t("risk.exposed")),
        },
    )
    names = [
        f"{r['slice']} {r['value']} · {t('risk.indicator.' + r['indicator'])} · "
        f"{frequency[r['frequency']]}"
        for r in found.iter_rows(named=True)
    ]
    pick = st.selectbox(t("risk.zone_pick"), range(len(names)), format_func=names.__getitem__)
    z = found.row(pick, named=True)
    st.plotly_chart(
        control_chart(
            z["week"],
            z["x"],
            z["ewma"],
            z["upper"],
            z["lower"],
            {
                "value": t("risk.daily_value" if z["frequency"] == "day" else "risk.weekly"),
                "limits": t("risk.limits"),
                "started": t("risk.started_at", date=z["started"]),
            },
            z["started"],
        ),
        width="stretch",
    )
    st.caption(
        t(
            "risk.zone_stats",
            start=z["baseline_start"],
            end=z["baseline_end"],
            change=change(z),
            first=z["first_alarm"],
            p=f"{z['p_value']:.1e}",
            slope=f"{z['sen_slope']:.4g}",
        )
    )

st.subheader(t("risk.gaps"))
gaps = engine(operational_gaps, dataset)
if gaps.height:
    st.dataframe(gaps, hide_index=True, width="stretch")
else:
    st.success(t("risk.no_gaps"))
st.caption(t("risk.gaps_help"))
