"""An alert as people read it: the engine's sentences (:mod:`analytics.alert_text`) in the
reader's language and number format, and the chart behind its evidence."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics.alert_text import Chart, Fact, Sentence, chart, evidence
from analytics.escalation import Inputs
from analytics.risk_snapshot import cell_in
from dashboard.chart_locale import chart_config
from dashboard.charts import bars_figure, control_chart
from dashboard.escape import md
from dashboard.filters import day
from dashboard.fmt import money, number, p_value, percent, symbol
from dashboard.i18n import language, t, tr
from dashboard.tables import show


def _word(key: str) -> str:
    """A catalogue key's words; a value the catalogue does not know (a custom slice or
    tag) reads as its own name."""
    text = t(key)
    return key.rsplit(".", 1)[-1] if text == key else text


def _text(fact: Fact, currency: str) -> object:
    v = fact.value
    if fact.kind == "money":
        return money(v, currency)
    if fact.kind == "share":
        return percent(v)
    if fact.kind == "change":
        return ("+" if v >= 0 else "−") + percent(abs(v), 0)
    if fact.kind == "count":
        return number(v)
    if fact.kind == "number":
        return number(v, fact.decimals)
    if fact.kind == "pvalue":
        return p_value(v, sign=True)
    if fact.kind == "day":
        return md(day(v))
    if fact.kind == "key":
        return _word(v)
    if fact.kind == "cell":  # a snapshot's cell: 12 345,5 and (пусто) in Russian
        return md(cell_in(v, language(), t("riskmodel.reason.blank")))
    if fact.kind == "raw":  # the template formats it; text from the data is escaped
        return md(v) if isinstance(v, str) else v
    return md(tr(v))  # an owner of the default rules in words; data as it is


def say(sentence: Sentence, currency: str) -> str:
    """The sentence in the current language, its values formatted (Markdown-safe)."""
    return t(sentence.key, **{k: _text(f, currency) for k, f in sentence.facts.items()})


def severity(name: str) -> str:
    return t(f"alerts.severity.{name}")


def figure(chart: Chart, currency: str) -> go.Figure:
    """A control chart of a tension zone, or bars (largest first as the engine sorted)."""
    if chart.kind == "control":
        d = chart.data
        labels = {
            "value": t("risk.weekly"),
            "limits": t("risk.limits"),
            "started": t("risk.started_at", date=day(chart.started)),
        }
        return control_chart(
            d["week"], d["value"], d["ewma"], d["upper"], d["lower"], labels, chart.started
        )
    names = [_word(chart.label_key + x) if chart.label_key else x for x in chart.labels]
    fig = bars_figure(names, list(chart.values), t(chart.title_key, currency=symbol(currency)))
    if chart.value_kind == "share":  # probabilities read as percents
        fig.update_xaxes(tickformat=".0%")
    return fig


def status(name: str) -> str:
    return t(f"alerts.status.{name}")


def table(alerts: list[dict[str, Any]], titles: dict[str, str], currency: str) -> None:
    """The alerts in their order: money at stake, the alert in words, severity, owner."""
    words = {
        "money_at_stake": [a["money_at_stake"] for a in alerts],
        "alert": [titles[a["id"]] for a in alerts],
        "severity": [severity(a["severity"]) for a in alerts],
        "owner": [tr(a["owner"]) for a in alerts],
        "status": [status(a["status"]) for a in alerts],
    }
    schema = {c: pl.String for c in words} | {"money_at_stake": pl.Float64}
    labels = {c: t(f"esc.{c}") for c in ("severity", "owner", "status")}
    labels |= {"money_at_stake": t("esc.money_col"), "alert": t("alerts.pick")}
    show(
        pl.DataFrame(words, schema=schema),
        {"money_at_stake": "money"},
        currency=currency,
        labels=labels,
        wide=["alert"],  # the alert in words: room to be read at 1366 px
    )


def card(alert: dict[str, Any], title: str, inputs: Inputs, currency: str) -> None:
    """One alert: what is at stake, who acts and how, the evidence in sentences with its
    chart; the rule, ids, raw evidence and the statistical shift in an expander."""
    st.markdown(f"**{title}**")
    at_stake = money(alert["money_at_stake"], currency)
    st.markdown(
        t(
            "alerts.at_stake",
            money=at_stake,
            severity=severity(alert["severity"]),
            status=status(alert["status"]),
        )
    )
    owner, action = md(tr(alert["owner"])), md(tr(alert["action"]))
    st.markdown(t("alerts.owner_action", owner=owner, action=action))
    st.markdown("\n".join(f"* {say(s, currency)}" for s in evidence(alert)))
    found = chart(alert, inputs)
    if found is not None:
        st.plotly_chart(figure(found, currency), width="stretch", config=chart_config())
    with st.expander(t("alerts.technical")):
        seen = {k: alert[k] for k in ("id", "first_seen", "last_seen")}
        st.markdown(t("alerts.rule_line", rule=md(alert["rule"]), **seen))
        raw = {k: v for k, v in (alert.get("evidence") or {}).items() if k != "chart"}
        if "shift_sd" in raw:
            st.caption(t("alerts.shift", sd=number(raw["shift_sd"], 1)))
        st.json(raw, expanded=False)
