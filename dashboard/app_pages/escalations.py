"""Escalations: the risks turned into alerts with evidence, owner and action.

Statuses (new, ongoing, resolved) are against the state store that scheduled
``cx-radar escalate`` runs keep; the page reads it and writes only acknowledgements, so
looking at the page never turns a new alert into an ongoing one before it is sent.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import streamlit as st

from analytics.escalation import (
    Rules,
    alerts_frame,
    default_rules_text,
    evaluate,
    inputs_for,
)
from analytics.export import to_csv_bytes
from analytics.store import Store, StoreError
from dashboard.charts import control_chart
from dashboard.escape import md
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
from dashboard.state import current_dataset, engine, escalation_store

dataset = current_dataset()
currency = dataset.settings.currency
st.title(t("esc.title"))
st.caption(t("esc.intro"))

with st.expander(t("esc.rules")):
    st.caption(t("esc.rules_intro"))
    text = st.text_area(
        t("esc.rules_toml"),
        st.session_state.get("rules_toml", default_rules_text()),
        height=300,
        key="rules_editor",
    )
    if st.button(t("esc.apply")):
        try:
            Rules.from_toml(text)
        except ValueError as exc:
            st.error(md(exc))
        else:
            st.session_state["rules_toml"] = text
            st.rerun()

rules = Rules.from_toml(st.session_state.get("rules_toml", default_rules_text()))
store_file = escalation_store()
state: dict = {}
outbox: list = []
deliveries: list[dict] = []
usable_store = True
try:
    if store_file.exists():  # not created just by looking; an acknowledgement creates it
        with Store.open(store_file) as store:
            state, outbox, deliveries = store.state(), store.outbox(), store.deliveries(20)
except StoreError as exc:  # damaged or foreign: said, never reset, nothing written
    usable_store = False
    st.error(t("store.refused", error=md(exc)))
if usable_store:
    st.caption(
        t("store.where", path=md(store_file), last=state.get("last_run") or "—")
        if store_file.exists()
        else t("store.none_yet", path=md(store_file))
    )
with st.spinner(t("esc.running")):
    inputs = inputs_for(dataset, compute=engine)
now = dt.datetime.now().replace(microsecond=0)
run = evaluate(rules, inputs, state, now)
alerts = alerts_frame(run.alerts)
open_alerts = alerts.filter(pl.col("status") != "resolved")
sent = open_alerts.filter(~pl.col("grouped"))

a, b, c, d = st.columns(4)
a.metric(t("measures.alerts"), number(len(run.to_act_on)), help=t("measures.alerts_help"))
b.metric(t("esc.new"), number(alerts.filter(pl.col("status") == "new").height))
c.metric(
    t("esc.urgent"),
    number(sent.filter(pl.col("severity").is_in(["critical", "high"])).height),
    help=t("esc.urgent_help"),
)
d.metric(
    t("esc.money"),
    compact_money(sent.filter(pl.col("rule") != "digest")["money_at_stake"].sum(), currency),
    help=t("esc.money_help"),
)

f1, f2, f3, f4 = st.columns([2, 3, 2, 1])
severities = f1.multiselect(
    t("esc.severity"), ["critical", "high", "medium", "low"], key="esc_severity"
)
owners = f2.multiselect(t("esc.owner"), sorted(alerts["owner"].unique()), key="esc_owner")
statuses = f3.multiselect(t("esc.status"), ["new", "ongoing", "resolved"], key="esc_status")
grouped = f4.toggle(t("esc.grouped"), key="esc_grouped")
shown = alerts
if severities:
    shown = shown.filter(pl.col("severity").is_in(severities))
if owners:
    shown = shown.filter(pl.col("owner").is_in(owners))
if statuses:
    shown = shown.filter(pl.col("status").is_in(statuses))
if not grouped:
    shown = shown.filter(~pl.col("grouped"))
st.dataframe(
    shown.select("severity", "status", "zone", "reason", "money_at_stake", "owner", "action"),
    hide_index=True,
    width="stretch",
    column_config={
        "severity": t("esc.severity"),
        "status": t("esc.status"),
        "zone": t("esc.zone"),
        "reason": t("esc.reason"),
        "money_at_stake": number_column(t("esc.money_col")),
        "owner": t("esc.owner"),
        "action": st.column_config.TextColumn(t("esc.action"), width="large"),
    },
)
st.caption(t("esc.table_help", budget=rules.budget))

st.subheader(t("esc.drill"))
if shown.height == 0:
    st.info(t("esc.none"))
else:
    labels = [f"{r['severity']} · {r['zone']} · {r['reason']}" for r in shown.iter_rows(named=True)]
    pick = st.selectbox(t("esc.pick"), range(shown.height), format_func=labels.__getitem__)
    alert = shown.row(pick, named=True)
    st.markdown(
        t(
            "esc.card",
            zone=md(alert["zone"]),
            reason=md(alert["reason"]),
            owner=md(alert["owner"]),
            action=md(alert["action"]),
            money=money(alert["money_at_stake"], currency),
            first=alert["first_seen"],
            id=alert["id"],
        )
    )
    evidence = json.loads(alert["evidence"])
    chart = evidence.pop("chart", None)
    reasons = evidence.pop("reasons", None)
    if reasons:
        st.markdown("\n".join(f"* {md(r)}" for r in reasons))
    if chart:
        st.plotly_chart(
            control_chart(
                chart["week"],
                chart["value"],
                chart["ewma"],
                chart["upper"],
                chart["lower"],
                {
                    "value": t("risk.weekly"),
                    "limits": t("risk.limits"),
                    "started": t("risk.started_at", date=evidence.get("started")),
                },
                evidence.get("started"),
            ),
            width="stretch",
        )
    st.markdown(f"**{t('esc.evidence')}**")
    st.json(evidence)

acked = [i for i in state.get("actioned", []) if any(a["id"] == i for a in run.alerts)]
marked = st.multiselect(
    t("esc.actioned"),
    [a["id"] for a in run.alerts if a["rule"] != "digest"],
    default=acked,
    format_func={a["id"]: f"{a['zone']} · {a['reason']}" for a in run.alerts}.get,
    key="esc_actioned",
    help=t("store.actioned_help"),
    disabled=not usable_store,
)
# Only this user's changes are written: marks others made meanwhile are left alone.
before = set(st.session_state.get("esc_actioned_before", acked))
added, removed = set(marked) - before, before - set(marked)
st.session_state["esc_actioned_before"] = list(marked)
if usable_store and (added or removed):
    try:
        with Store.open(store_file) as store, store.transaction():
            store.ack(sorted(added), by="app")
            store.unack(sorted(removed))
        st.toast(t("store.saved"))
    except StoreError as exc:
        st.error(t("store.refused", error=md(exc)))

with st.expander(t("store.delivery")):
    st.caption(t("store.outbox", n=len(outbox)))
    if deliveries:
        st.dataframe(
            pl.DataFrame(deliveries).drop("key"),
            hide_index=True,
            width="stretch",
            column_config={
                "at": t("store.at"),
                "alert_id": t("store.alert"),
                "attempt": t("store.attempt"),
                "outcome": t("store.outcome"),
                "http_status": t("store.http_status"),
                "detail": t("store.detail"),
            },
        )
    else:
        st.caption(t("store.no_deliveries"))

st.subheader(t("esc.precision"))
st.dataframe(
    run.precision,
    hide_index=True,
    width="stretch",
    column_config={
        "rule": t("esc.rule"),
        "owner": t("esc.owner"),
        "alerts": count_column(t("esc.alerts")),
        "precision": share_column(t("esc.precision_col")),
        "basis": t("esc.basis"),
    },
)
st.caption(
    t(
        "esc.precision_help",
        base=percent(inputs.validation["churned"].mean()) if inputs.validation is not None else "—",
    )
)

a, b = st.columns(2)
a.download_button(
    t("esc.download_json"),
    json.dumps(run.alerts, ensure_ascii=False, indent=1, default=str).encode(),
    "alerts.json",
    "application/json",
)
b.download_button(t("esc.download_csv"), to_csv_bytes(alerts), "alerts.csv", "text/csv")
