"""Alerts for people: ranked by the money at stake, their evidence told in sentences.

The engine decides what each sentence says, the UI how it reads: a :class:`Sentence` is a
message key (the words live in the dashboard's ``[alerts]`` catalogue section, one per
language) and typed values (:class:`Fact`), which the UI formats the reader's way (money,
shares, dates). Nothing here is English text.

* :func:`headline` and :func:`evidence`: an alert's title and its evidence, one set of
  sentences per signal, each naming the numbers the alert was raised on.
* :func:`chart`: the chart that shows the evidence (a control chart, or bars).
* :func:`tally` and :func:`by_owner`: counts and money of a list of alerts; the page passes
  the filtered list it shows, so the counts follow the filters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from analytics.escalation import SEVERITIES, Inputs, to_act_on
from analytics.risk_features import LOOKBACK_DAYS
from analytics.tension import SHARES

# money: amount in the dataset currency; share: 0..1 as a percent; change: a relative change
# (+1.13 = +113 %); pvalue: a test's p; key: a catalogue key whose words are the value;
# raw: passed as it is (for templates with their own format, such as the risk reasons);
# day: an ISO day (2025-06-23), written the reader's way (23.06.2025 in Russian).
FactKind = Literal[
    "money", "share", "change", "count", "number", "pvalue", "text", "key", "raw", "cell", "day"
]
URGENT = ("critical", "high")
MAX_INTERVALS = 8  # SLA intervals named in a sentence; the chart shows them all


@dataclass(frozen=True)
class Fact:
    kind: FactKind
    value: Any
    decimals: int = 0  # for ``number``


@dataclass(frozen=True)
class Sentence:
    key: str
    facts: Mapping[str, Fact] = field(default_factory=dict)


@dataclass(frozen=True)
class Chart:
    """``kind`` "control": ``data`` is the tension zone's chart (week, value, ewma, upper,
    lower) and ``started``; "bars": ``labels`` and ``values`` (``label_key`` a catalogue
    prefix that names the labels, ``value_kind`` how the values read)."""

    kind: Literal["control", "bars"]
    title_key: str
    data: Mapping[str, list[Any]] = field(default_factory=dict)
    started: str | None = None
    labels: tuple[str, ...] = ()
    values: tuple[float, ...] = ()
    label_key: str = ""
    value_kind: FactKind = "money"


def _money(value: float) -> Fact:
    return Fact("money", float(value))


def headline(alert: dict[str, Any]) -> Sentence:
    """The alert's title: where, and what is wrong."""
    ev, signal = alert.get("evidence") or {}, alert.get("signal")
    if signal == "customer_risk" and "customer_id" in ev:
        return Sentence("alerts.head.customer_risk", {"customer": Fact("text", ev["customer_id"])})
    if signal == "segment_risk" and "by" in ev:
        return Sentence("alerts.head.segment_risk", _where(ev["by"], ev["value"]))
    if signal == "tension_zone" and "slice" in ev:
        facts = _where(ev["slice"], ev["value"])
        facts["indicator"] = Fact("key", f"alerts.indicator.{ev['indicator']}")
        return Sentence("alerts.head.tension_zone", facts)
    if signal == "sla_breach" and "queue" in ev:
        return Sentence(
            "alerts.head.sla_breach",
            {
                "queue": Fact("text", ev["queue"]),
                "weekday": Fact("key", f"alerts.weekday.{ev['weekday']}"),
            },
        )
    if signal == "cost_anomaly" and "tag" in ev:
        return Sentence(
            "alerts.head.cost_anomaly",
            {
                "scenario": Fact("text", ev["scenario"]),
                "tag": Fact("key", f"alerts.tag.{ev['tag']}"),
            },
        )
    if signal == "digest":
        return Sentence(
            "alerts.head.digest",
            {"n": Fact("count", len(ev.get("alerts", []))), "owner": Fact("text", alert["owner"])},
        )
    # A resolved alert keeps only its stored zone and reason.
    return Sentence(
        "alerts.head.other",
        {"zone": Fact("text", alert["zone"]), "reason": Fact("text", alert["reason"])},
    )


def _where(slice_: str, value: object) -> dict[str, Fact]:
    return {"slice": Fact("key", f"alerts.slice.{slice_}"), "value": Fact("text", str(value))}


def evidence(alert: dict[str, Any]) -> list[Sentence]:
    """The evidence as sentences, each with the numbers it rests on (see the module doc)."""
    ev, signal = alert.get("evidence") or {}, alert.get("signal")
    money = _money(alert["money_at_stake"])
    if alert.get("status") == "resolved" and not ev:
        return [Sentence("alerts.ev.resolved", {"money": money})]
    if signal == "customer_risk":
        return _customer(ev, money)
    if signal == "segment_risk":
        return [
            Sentence(
                "alerts.ev.segment",
                {
                    "customers": Fact("count", ev["customers"]),
                    "leavers": Fact("number", ev["expected_leavers"]),
                    "risk": Fact("share", ev["mean_risk"]),
                    "money": money,
                },
            )
        ]
    if signal == "tension_zone":
        return _tension(ev, money)
    if signal == "sla_breach":
        return _sla(ev, money)
    if signal == "cost_anomaly":
        return [
            Sentence(
                "alerts.ev.cost",
                {
                    "days": Fact("count", ev["period_days"]),
                    "cases": Fact("count", ev["cases"]),
                    "scenario": Fact("text", ev.get("scenario", "")),
                    "tag": Fact("key", f"alerts.tag.{ev.get('tag', '')}"),
                    "extra": _money(ev["extra_per_case"]),
                    "money": money,
                },
            )
        ]
    if signal == "digest":
        return [
            Sentence(
                "alerts.ev.digest",
                {"n": Fact("count", len(ev.get("alerts", []))), "money": money},
            )
        ]
    return []


def _customer(ev: dict[str, Any], money: Fact) -> list[Sentence]:
    out = [
        Sentence(
            "alerts.ev.customer",
            {"p": Fact("share", ev["p_churn"]), "ltv": _money(ev["ltv"]), "money": money},
        )
    ]
    if ev.get("segment") is not None and ev.get("region") is not None:
        out.append(
            Sentence(
                "alerts.ev.customer_where",
                {"segment": Fact("text", ev["segment"]), "region": Fact("text", ev["region"])},
            )
        )
    if ev.get("silent"):
        out.append(Sentence("alerts.ev.customer_silent"))
    features = ev.get("reason_features") or []
    if features:
        out.append(Sentence("alerts.ev.customer_why"))
        args = ev.get("reason_args") or []
        if args:  # a snapshot's attribute reasons
            for key, a in zip(features, args, strict=True):
                # The attribute's value and median as the snapshot wrote them (cell).
                kinds = {"value": "cell", "typical": "cell"}
                facts = {k: Fact(kinds.get(k, "raw"), v) for k, v in a.items()}
                out.append(Sentence(f"riskmodel.reason.{key}", facts))
        else:
            for key, value in zip(features, ev.get("reason_values") or [], strict=True):
                raw = {"value": Fact("raw", value), "days": Fact("raw", LOOKBACK_DAYS)}
                out.append(Sentence(f"risk.reason.{key}", raw))
    elif ev.get("reasons"):  # older evidence: the reasons as the engine worded them
        out.append(Sentence("alerts.ev.customer_why"))
        out += [Sentence("alerts.ev.text", {"text": Fact("text", r)}) for r in ev["reasons"]]
    return out


def _level(indicator: str, value: float) -> Fact:
    """A tension indicator's level: shares as percents, ASA in seconds, others 2 places."""
    if indicator in SHARES:
        return Fact("share", value)
    return Fact("number", value, 0 if indicator == "asa" else 2)


def _tension(ev: dict[str, Any], money: Fact) -> list[Sentence]:
    indicator = ev["indicator"]
    baseline, recent = float(ev["baseline"]), float(ev["recent"])
    name = Fact("key", f"risk.indicator.{indicator}")
    if baseline:
        change = Fact("change", (recent - baseline) / abs(baseline))
        out = [
            Sentence(
                "alerts.ev.tension_change",
                {
                    "indicator": name,
                    "baseline": _level(indicator, baseline),
                    "recent": _level(indicator, recent),
                    "change": change,
                },
            )
        ]
    else:
        out = [
            Sentence(
                "alerts.ev.tension_from_none",
                {"indicator": name, "recent": _level(indicator, recent)},
            )
        ]
    when = {"started": Fact("day", ev["started"]), "p": Fact("pvalue", ev["mann_kendall_p"])}
    alarm = ev.get("first_alarm")
    if alarm and alarm != "None":
        out.append(Sentence("alerts.ev.tension_when", {**when, "first_alarm": Fact("day", alarm)}))
    else:
        out.append(Sentence("alerts.ev.tension_started", when))
    if ev.get("excess_per_month") is not None:
        out.append(
            Sentence(
                "alerts.ev.tension_excess",
                {
                    "excess": Fact("count", ev["excess_per_month"]),
                    "unit": Fact("key", f"alerts.unit.{indicator}"),
                },
            )
        )
    extra = ev.get("excess_cost_per_month")
    if extra is not None:
        out.append(Sentence("alerts.ev.tension_cost", {"cost": _money(extra)}))
    out.append(
        Sentence(
            "alerts.ev.tension_money",
            {
                "customers": Fact("count", ev["customers"]),
                "revenue": _money(ev["revenue_exposed"]),
                "share": Fact("share", ev.get("money_share", 0.0)),
                "cost": _money(extra or 0.0),
                "money": money,
            },
        )
    )
    return out


def _sla(ev: dict[str, Any], money: Fact) -> list[Sentence]:
    intervals = sorted(ev["intervals"])
    named = ", ".join(intervals[:MAX_INTERVALS]) + ("…" if len(intervals) > MAX_INTERVALS else "")
    out = [
        Sentence(
            "alerts.ev.sla",
            {
                "n": Fact("count", len(intervals)),
                "weekday": Fact("key", f"alerts.weekday.{ev.get('weekday', '')}"),
                "p": Fact("share", ev["max_p_breach"]),
                "calls": Fact("count", ev["forecast_calls"]),
                "intervals": Fact("text", named),
            },
        )
    ]
    if "agent_hours_short" in ev:
        out.append(
            Sentence(
                "alerts.ev.sla_money",
                {
                    "hours": Fact("number", ev["agent_hours_short"], 1),
                    "rate": _money(ev["cost_per_agent_hour"]),
                    "money": money,
                },
            )
        )
    return out


def chart(alert: dict[str, Any], inputs: Inputs) -> Chart | None:
    """The chart behind an alert's evidence, or None (a customer alert has none)."""
    from analytics.risk import revenue_at_risk_by

    ev, signal = alert.get("evidence") or {}, alert.get("signal")
    if signal == "tension_zone" and ev.get("chart"):
        return Chart("control", "alerts.chart.tension", data=ev["chart"], started=ev["started"])
    if signal == "segment_risk" and "by" in ev and inputs.scored is not None:
        table = revenue_at_risk_by(inputs.scored, ev["by"]).sort(
            ["revenue_at_risk", ev["by"]], descending=[True, False]
        )
        return Chart(
            "bars",
            "alerts.chart.segment",
            labels=tuple(table[ev["by"]]),
            values=tuple(table["revenue_at_risk"]),
        )
    if signal == "cost_anomaly" and "scenario" in ev and inputs.cost_pairs is not None:
        pairs = inputs.cost_pairs.filter(pl.col("scenario") == ev["scenario"]).sort(
            ["excess_cost", "tag"], descending=[True, False]
        )
        return Chart(
            "bars",
            "alerts.chart.cost",
            labels=tuple(pairs["tag"]),
            values=tuple(pairs["excess_cost"]),
            label_key="alerts.tag.",
        )
    if signal == "sla_breach" and ev.get("interval_p_breach"):
        pairs = sorted(zip(ev["intervals"], ev["interval_p_breach"], strict=True))
        return Chart(
            "bars",
            "alerts.chart.sla",
            labels=tuple(i for i, _ in pairs),
            values=tuple(float(p) for _, p in pairs),
            value_kind="share",
        )
    return None


@dataclass(frozen=True)
class Tally:
    """Counts of a list of alerts: to act on (:func:`analytics.escalation.to_act_on`), and
    among those the new ones, the critical and high ones and their money at stake; so new <=
    to act on, on every filter."""

    act_on: int
    new: int
    urgent: int
    money: float


def tally(alerts: list[dict[str, Any]]) -> Tally:
    acting = to_act_on(alerts)
    return Tally(
        act_on=len(acting),
        new=sum(a["status"] == "new" for a in acting),  # a digest is no new alert
        urgent=sum(a["severity"] in URGENT for a in acting),
        money=sum(float(a["money_at_stake"] or 0.0) for a in acting),
    )


def by_owner(alerts: list[dict[str, Any]]) -> pl.DataFrame:
    """Per owner, over the open alerts (digests left out): alerts per severity, all of them,
    and their money at stake; most money first, then owner."""
    open_ = [a for a in alerts if a["status"] != "resolved" and a["rule"] != "digest"]
    frame = pl.DataFrame(
        {
            "owner": [a["owner"] for a in open_],
            "severity": [a["severity"] for a in open_],
            "money_at_stake": [float(a["money_at_stake"] or 0.0) for a in open_],
        },
        schema={"owner": pl.String, "severity": pl.String, "money_at_stake": pl.Float64},
    )
    counts = [(pl.col("severity") == s).sum().alias(s) for s in reversed(SEVERITIES)]
    return (
        frame.group_by("owner")
        .agg(*counts, pl.len().alias("alerts"), pl.col("money_at_stake").sum())
        .sort(["money_at_stake", "owner"], descending=[True, False])
    )


def select(
    alerts: Iterable[dict[str, Any]],
    severities: Iterable[str] = (),
    owners: Iterable[str] = (),
    statuses: Iterable[str] = (),
    grouped: bool = False,
) -> list[dict[str, Any]]:
    """The alerts a filter keeps, in their order: an empty choice keeps every value;
    alerts grouped into a digest only with ``grouped``."""
    sev, own, sta = set(severities), set(owners), set(statuses)
    return [
        a
        for a in alerts
        if (not sev or a["severity"] in sev)
        and (not own or a["owner"] in own)
        and (not sta or a["status"] in sta)
        and (grouped or not a["grouped"])
    ]
