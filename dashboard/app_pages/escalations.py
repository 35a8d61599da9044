"""Escalations: the risks turned into alerts with evidence, owner and action, most money
at stake first (:mod:`analytics.alert_text`).

Statuses (new, ongoing, resolved) are against the state store that scheduled
``cx-radar escalate`` runs keep; the page reads it and writes only acknowledgements, so
looking at the page never turns a new alert into an ongoing one before it is sent.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import partial

import streamlit as st

from analytics.alert_text import by_owner, headline, select, tally
from analytics.escalation import (
    SEVERITIES,
    Rules,
    alerts_frame,
    default_rules_text,
    evaluate,
    inputs_for,
    rank,
)
from dashboard.alert_store import acknowledgements, delivery_log, read_store
from dashboard.alert_view import card, say, severity, status, table
from dashboard.auth import customer_lists, export_button, settings_editable
from dashboard.escape import md
from dashboard.fmt import compact_money, money, number, percent
from dashboard.i18n import t, tr, tr_columns
from dashboard.state import current_dataset, engine
from dashboard.tables import export_csv, show

dataset, whole = current_dataset(), current_dataset(filtered=False)
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
    if settings_editable() and st.button(t("esc.apply")):
        try:
            Rules.from_toml(text)
        except ValueError as exc:
            st.error(md(exc))
        else:
            st.session_state["rules_toml"] = text
            st.rerun()

rules = Rules.from_toml(st.session_state.get("rules_toml", default_rules_text()))
view = read_store()
with st.spinner(t("esc.running")):
    inputs = engine(inputs_for, dataset)  # one computation shared with the Overview
run = evaluate(rules, inputs, view.state, dt.datetime.now().replace(microsecond=0))
alerts = rank(run.alerts)
if dataset.content_hash != whole.content_hash:  # a slice: what it does not raise is outside it
    alerts = [x for x in alerts if x["status"] != "resolved"]
    st.caption(t("esc.sliced"))
if not customer_lists():  # viewers: alerts that name a customer are left out
    named = {r.id for r in rules.rules if r.signal == "customer_risk"}
    alerts = [x for x in alerts if x["rule"] not in named]

f1, f2, f3, f4 = st.columns([2, 3, 2, 2])  # wide enough for the toggle's label at 1366 px
every = {"placeholder": t("filters.all")}  # an empty choice keeps every value
severities = f1.multiselect(
    t("esc.severity"), list(reversed(SEVERITIES)), format_func=severity, key="esc_severity", **every
)
owner_names = sorted({a["owner"] for a in alerts})
owners = f2.multiselect(t("esc.owner"), owner_names, format_func=tr, key="esc_owner", **every)
statuses = f3.multiselect(
    t("esc.status"), ["new", "ongoing", "resolved"], format_func=status, key="esc_status", **every
)
grouped = f4.toggle(t("esc.grouped"), key="esc_grouped", help=t("alerts.grouped_help"))
shown = select(alerts, severities, owners, statuses, grouped)
counts = tally(shown)  # every count follows the filters
a, b, c, d = st.columns(4)
a.metric(t("measures.alerts"), number(counts.act_on), help=t("measures.alerts_help"))
b.metric(t("esc.new"), number(counts.new))
c.metric(t("esc.urgent"), number(counts.urgent), help=t("esc.urgent_help"))
d.metric(t("esc.money"), compact_money(counts.money, currency), help=t("esc.money_help"))

titles = {x["id"]: say(headline(x), currency) for x in alerts}
by_id = {x["id"]: x for x in alerts}
table(shown, titles, currency)
st.caption(t("alerts.ranked") + " " + t("esc.table_help", budget=rules.budget))
with st.expander(t("alerts.by_owner")):
    owner_labels = {"owner": t("esc.owner"), "alerts": t("esc.alerts")}
    owner_labels |= {"money_at_stake": t("esc.money_col")} | {s: severity(s) for s in SEVERITIES}
    kinds = {s: "count" for s in (*SEVERITIES, "alerts")} | {"money_at_stake": "money"}
    per_owner = tr_columns(by_owner(shown), "owner")
    show(per_owner, kinds, currency=currency, labels=owner_labels)  # type: ignore[arg-type]


@st.fragment
def drill() -> None:
    """One alert in full: a pick redraws this part only."""
    st.subheader(t("esc.drill"))
    if not shown:
        st.info(t("esc.none"))
        return
    ids = [x["id"] for x in shown]
    pick = st.selectbox(
        t("alerts.pick"),
        ids,
        format_func=lambda i: f"{titles[i]} · {money(by_id[i]['money_at_stake'], currency)}",
        key="esc_pick",
    )
    card(by_id[pick], titles[pick], inputs, currency)


drill()

acknowledgements(view, {i: titles[i] for i, a in by_id.items() if a["rule"] != "digest"})
delivery_log(view)

st.subheader(t("esc.precision"))
kinds = {"alerts": "count", "precision": "percent"}
labels = {c: t(f"esc.{c}") for c in ("rule", "owner", "alerts", "basis")}
# Per rule; its owner is in the alerts above, and the width goes to how it is measured.
precision = tr_columns(run.precision.drop("owner"), "rule", "basis")
show(precision, kinds, labels=labels | {"precision": t("esc.precision_col")})  # type: ignore[arg-type]
validation = inputs.validation
base = percent(validation["churned"].mean()) if validation is not None else "—"  # type: ignore[arg-type]
st.caption(t("esc.precision_help", base=base))

a, b = st.columns(2)
# Customer alerts name customers: both files are customer-level exports (logged).
export_button(
    t("esc.download_json"),
    lambda: json.dumps(alerts, ensure_ascii=False, indent=1, default=str).encode(),
    "alerts.json",
    "application/json",
    rows=len(alerts),
    where=a,
)
frame = alerts_frame(alerts).drop("evidence")
csv = partial(export_csv, frame, {"money_at_stake": "money"}, currency=currency)
export_button(t("esc.download_csv"), csv, "alerts.csv", "text/csv", rows=frame.height, where=b)
