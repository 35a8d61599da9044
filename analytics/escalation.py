"""Automatic escalation: signals -> rules -> alerts with evidence, owner and action.

* **Rules** are TOML (``analytics/rules.toml`` is the documented default): each
  ``[[rule]]`` names a ``signal`` kind, thresholds, a ``severity``, an ``owner`` and a
  playbook ``action``. ``[budget] alerts_per_owner_per_week`` caps what each owner is sent.
* **Signals**: ``customer_risk`` (one per customer: P(churn) and revenue at risk),
  ``segment_risk`` (revenue at risk per segment, region, scenario or channel),
  ``tension_zone`` (a growing problem from :mod:`analytics.tension`), ``sla_breach``
  (forecast intervals likely to miss the SLA goal, grouped per queue and day) and
  ``cost_anomaly`` (a scenario x behaviour's excess cost over the last 30 days).
* **Deduplication**: an alert's ``id`` is a hash of its key = rule + zone + problem (the
  reason, except that a customer alert's problem is its churn risk, whatever its top
  reason this run; the customer id is the zone), so the same problem keeps its id run
  after run, whatever the row order of the data. Against the previous run's state an
  alert is ``new`` or ``ongoing``; one that no longer fires is ``resolved``. Identical
  data and the saved state give the same alerts with the same statuses (all ongoing).
* **Alerts to act on** (:func:`to_act_on`): the open alerts within their owner's budget,
  digests left out; the one count every page and the CLI show.
* **Alert budget**: per owner, the ``alerts_per_owner_per_week`` alerts with the most money
  at stake are sent; the rest are ``grouped`` into one digest alert per owner, not sent.
* **Precision** per rule: the share of its alerts followed by the predicted loss (customer
  rules: replayed on the risk model's validation snapshot, so it is measured, not assumed)
  or marked actioned in the state file.
* **State and delivery** live in an SQLite store (:mod:`analytics.store`):
  :func:`record_run` evaluates and writes in one transaction; :func:`deliver` POSTs the
  outbox at least once, one alert per request with its idempotency key, retrying with
  exponential back-off; only a 2xx answer takes an alert out of the outbox.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import polars as pl

from analytics.dataset import Dataset, direct
from analytics.store import Store
from analytics.tension import DIRECTION, LABELS, severity_text

# Three weeks: past a two-week holiday block the recurring weekday gaps still show.
FORECAST_DAYS = 21
SIGNALS = ("customer_risk", "segment_risk", "tension_zone", "sla_breach", "cost_anomaly")
SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Rule:
    id: str
    signal: str
    severity: str
    owner: str
    action: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...]
    budget: int = 10

    @classmethod
    def from_toml(cls, text: str) -> Rules:
        """Parse and check a rules file; a mistake raises ``ValueError`` naming the rule."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"rules are not valid TOML: {exc}") from exc
        rules = []
        for i, raw in enumerate(data.get("rule", []), start=1):
            name = raw.get("id", f"rule #{i}")
            missing = [k for k in ("id", "signal", "severity", "owner", "action") if k not in raw]
            if missing:
                raise ValueError(f"rule {name!r} lacks {', '.join(missing)}")
            if raw["signal"] not in SIGNALS:
                raise ValueError(
                    f"rule {name!r}: unknown signal {raw['signal']!r}; known: {SIGNALS}"
                )
            if raw["severity"] not in SEVERITIES:
                raise ValueError(f"rule {name!r}: severity must be one of {SEVERITIES}")
            params = {
                k: v
                for k, v in raw.items()
                if k not in ("id", "signal", "severity", "owner", "action")
            }
            rules.append(
                Rule(raw["id"], raw["signal"], raw["severity"], raw["owner"], raw["action"], params)
            )
        if len({r.id for r in rules}) != len(rules):
            raise ValueError("rule ids must be unique")
        budget = int(data.get("budget", {}).get("alerts_per_owner_per_week", 10))
        return cls(tuple(rules), budget)

    @classmethod
    def default(cls) -> Rules:
        return cls.from_toml(default_rules_text())


def default_rules_text() -> str:
    return resources.files("analytics").joinpath("rules.toml").read_text(encoding="utf-8")


def alert_id(rule: str, zone: str, problem: str) -> str:
    """Stable id from the deduplication key rule + zone + problem (see :func:`problem`)."""
    return hashlib.sha1(f"{rule}|{zone}|{problem}".encode()).hexdigest()[:12]


CUSTOMER_PROBLEM = "churn risk"


def problem(signal: str, reason: str) -> str:
    """The part of an alert's reason that names its problem. A customer's top reason can
    change from run to run while the problem, their churn risk, stays: it is left out."""
    return CUSTOMER_PROBLEM if signal == "customer_risk" else reason


# ---------------------------------------------------------------- signals -> alerts


@dataclass(frozen=True)
class Inputs:
    """What the rules look at; any part may be missing (its rules then stay silent)."""

    scored: pl.DataFrame | None = None  # risk.RiskModel.scored
    validation: pl.DataFrame | None = None  # customer_id, p_churn, revenue_at_risk, churned
    zones: pl.DataFrame | None = None  # tension.zones
    breaches: pl.DataFrame | None = None  # sla.queue_breaches
    cost_pairs: pl.DataFrame | None = None  # cost.priciest over the last 30 days
    interval_s: float = 1800.0  # the breach forecast's interval length


def fire(rules: Rules, inputs: Inputs) -> list[dict[str, Any]]:
    """Every alert the rules raise now (before state, budget and delivery)."""
    alerts: list[dict[str, Any]] = []
    for rule in rules.rules:
        for zone, reason, money, evidence in _matches(rule, inputs):
            alerts.append(
                {
                    "id": alert_id(rule.id, zone, problem(rule.signal, reason)),
                    "rule": rule.id,
                    "signal": rule.signal,
                    "severity": rule.severity,
                    "zone": zone,
                    "reason": reason,
                    "money_at_stake": round(float(money), 2),
                    "owner": rule.owner,
                    "action": rule.action,
                    "evidence": evidence,
                }
            )
    return alerts


def _matches(rule: Rule, inputs: Inputs) -> list[tuple[str, str, float, dict[str, Any]]]:
    p = rule.params
    out: list[tuple[str, str, float, dict[str, Any]]] = []
    if rule.signal == "customer_risk" and inputs.scored is not None:
        hits = _customer_hits(inputs.scored, p)
        for r in hits.head(int(p.get("max_alerts", 500))).iter_rows(named=True):
            reasons = list(r["reasons"] or [])
            out.append(
                (
                    f"customer {r['customer_id']}",
                    CUSTOMER_PROBLEM + (": " + reasons[0] if reasons else ""),
                    r["revenue_at_risk"],
                    {
                        "p_churn": round(r["p_churn"], 4),
                        "ltv": round(r["ltv"], 2),
                        "segment": r["segment"],
                        "region": r["region"],
                        "silent": r["silent"],
                        "reasons": reasons,
                        # The reasons as template keys and values, for words in any language.
                        "customer_id": r["customer_id"],
                        "reason_features": list(r.get("reason_features") or []),
                        "reason_values": list(r.get("reason_values") or []),
                        "reason_args": list(r.get("reason_args") or []),
                    },
                )
            )
    elif rule.signal == "segment_risk" and inputs.scored is not None:
        from analytics.risk import revenue_at_risk_by

        by = str(p.get("by", "segment"))
        table = revenue_at_risk_by(inputs.scored, by)
        for r in table.filter(pl.col("revenue_at_risk") >= p.get("min_money", 0)).iter_rows(
            named=True
        ):
            out.append(
                (
                    f"{by} {r[by]}",
                    "revenue at risk",
                    r["revenue_at_risk"],
                    {
                        "customers": r["customers"],
                        "expected_leavers": round(r["expected_leavers"], 1),
                        "mean_risk": round(r["mean_risk"], 4),
                        "by": by,
                        "value": r[by],
                    },
                )
            )
    elif rule.signal == "tension_zone" and inputs.zones is not None and inputs.zones.height:
        zones = inputs.zones.filter(
            pl.col("zone") & (pl.col("severity") >= p.get("min_severity", 0))
        )
        if "indicator" in p:
            zones = zones.filter(pl.col("indicator").is_in(list(_as_list(p["indicator"]))))
        if "slice" in p:
            zones = zones.filter(pl.col("slice").is_in(list(_as_list(p["slice"]))))
        for r in zones.iter_rows(named=True):
            out.append(
                (
                    f"{r['slice']} {r['value']}",
                    f"{LABELS[r['indicator']]} {_worsening(r['indicator'])}",
                    # A share of the revenue exposed, plus the measured excess cost a month.
                    r["revenue_exposed"] * float(p.get("money_share", 0.05))
                    + (r.get("money_at_stake") or 0.0),
                    {
                        "indicator": r["indicator"],
                        "change": severity_text(r),
                        "baseline": round(r["baseline"], 4),
                        "recent": round(r["recent"], 4),
                        "excess_cost_per_month": r.get("money_at_stake"),
                        "started": str(r["started"]),
                        "first_alarm": str(r.get("first_alarm")),
                        "mann_kendall_p": r["p_value"],
                        "sen_slope_per_period": r["sen_slope"],
                        "customers": r["customers"],
                        "revenue_exposed": r["revenue_exposed"],
                        "slice": r["slice"],
                        "value": r["value"],
                        "shift_sd": round(r["severity"], 2),
                        "excess_per_month": r.get("excess_per_month"),
                        "money_share": float(p.get("money_share", 0.05)),
                        "chart": {
                            "week": [str(w.date()) for w in r["week"]],
                            "value": r["x"],
                            "ewma": r["ewma"],
                            "upper": r["upper"],
                            "lower": r["lower"],
                        },
                    },
                )
            )
    elif rule.signal == "sla_breach" and inputs.breaches is not None and inputs.breaches.height:
        likely = inputs.breaches.filter(pl.col("p_breach") >= p.get("min_probability", 0.8))
        per_hour = float(p.get("cost_per_agent_hour", 0.0))
        # One alert per queue and weekday: the same weekly gap next run is the same alert.
        slots = likely.group_by("queue", pl.col("time").dt.strftime("%a").alias("weekday")).agg(
            pl.col("time").min().alias("first"),
            pl.col("p_breach").max(),
            pl.col("gap").clip(lower_bound=0).sum().alias("agent_intervals_short"),
            pl.col("time").dt.strftime("%Y-%m-%d %H:%M").alias("intervals"),
            pl.col("p_breach").round(3).alias("interval_p_breach"),
            pl.col("mean").sum().alias("calls"),
        )
        for r in slots.sort("first", "queue").iter_rows(named=True):
            out.append(
                (
                    f"queue {r['queue']} {r['weekday']}",
                    "SLA breach likely",
                    r["agent_intervals_short"] * per_hour * (inputs.interval_s / 3600),
                    {
                        "intervals": r["intervals"],
                        "max_p_breach": round(r["p_breach"], 3),
                        "forecast_calls": round(r["calls"], 1),
                        "agent_intervals_short": r["agent_intervals_short"],
                        "queue": r["queue"],
                        "weekday": r["weekday"],
                        "interval_p_breach": r["interval_p_breach"],
                        "agent_hours_short": r["agent_intervals_short"] * inputs.interval_s / 3600,
                        "cost_per_agent_hour": per_hour,
                    },
                )
            )
    elif rule.signal == "cost_anomaly" and inputs.cost_pairs is not None:
        pairs = inputs.cost_pairs.filter(pl.col("excess_cost") >= p.get("min_money", 0))
        for r in pairs.iter_rows(named=True):
            out.append(
                (
                    f"scenario {r['scenario']}",
                    f"excess cost: {r['tag']}",
                    r["excess_cost"],
                    {
                        "cases": r["cases"],
                        "extra_per_case": round(r["extra_per_case"], 2),
                        "period_days": 30,
                        "scenario": r["scenario"],
                        "tag": r["tag"],
                    },
                )
            )
    return out


def _worsening(indicator: str) -> str:
    return "falling" if DIRECTION[indicator] < 0 else "growing"


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _customer_hits(frame: pl.DataFrame, p: dict[str, Any]) -> pl.DataFrame:
    hits = frame.filter(
        (pl.col("p_churn") >= p.get("min_probability", 0.0))
        & (pl.col("revenue_at_risk") >= p.get("min_money", 0.0))
    )
    if p.get("silent_only"):
        hits = hits.filter("silent")
    # Ties broken by customer id: which customers make the max_alerts cut never depends on
    # the row order.
    return hits.sort(["revenue_at_risk", "customer_id"], descending=[True, False])


def precision(rules: Rules, inputs: Inputs, state: dict[str, Any]) -> pl.DataFrame:
    """Per rule: alerts now and their precision (see the module docstring) with its basis."""
    actioned = set(state.get("actioned", []))
    history = state.get("alerts", {})
    rows = []
    for rule in rules.rules:
        value, basis, n = None, "not measurable yet: mark alerts actioned", 0
        if rule.signal == "customer_risk" and inputs.validation is not None:
            hits = _customer_hits(
                inputs.validation.with_columns(pl.lit(True).alias("silent")), rule.params
            )
            n = hits.height
            if n:
                value = float(hits["churned"].mean())  # type: ignore[arg-type]
                basis = "left within the horizon, replayed on the validation snapshot"
        else:
            past = [k for k, a in history.items() if a.get("rule") == rule.id]
            n = len(past)
            if past and actioned:
                value = sum(k in actioned for k in past) / len(past)
                basis = "marked actioned in the state file"
        rows.append(
            {"rule": rule.id, "owner": rule.owner, "alerts": n, "precision": value, "basis": basis}
        )
    return pl.DataFrame(rows, schema_overrides={"precision": pl.Float64})


# ---------------------------------------------------------------- state, budget, delivery


def reconcile(
    alerts: list[dict[str, Any]], state: dict[str, Any], now: dt.datetime
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Mark each alert new / ongoing against ``state``; add the resolved ones. Returns the
    alerts and the next state (the outbox is carried over untouched), its alerts in id
    order so the same alerts always write the same state file."""
    known: dict[str, Any] = state.get("alerts", {})
    stamp = now.isoformat(timespec="seconds")
    current: dict[str, Any] = {}
    out = []
    for a in alerts:
        before = known.get(a["id"])
        live = before is not None and before.get("status") != "resolved"
        first = before["first_seen"] if live else stamp
        out.append(
            {**a, "status": "ongoing" if live else "new", "first_seen": first, "last_seen": stamp}
        )
        current[a["id"]] = {
            "rule": a["rule"],
            "zone": a["zone"],
            "reason": a["reason"],
            "owner": a["owner"],
            "severity": a["severity"],
            "money_at_stake": a["money_at_stake"],
            "first_seen": first,
            "last_seen": stamp,
            "status": "open",
        }
    for key, before in known.items():
        if key in current:
            continue
        if before.get("status") != "resolved":
            out.append(
                {
                    "id": key,
                    "rule": before["rule"],
                    "signal": "",
                    "severity": before["severity"],
                    "zone": before["zone"],
                    "reason": before["reason"],
                    "money_at_stake": before["money_at_stake"],
                    "owner": before["owner"],
                    "action": "",
                    "evidence": {},
                    "status": "resolved",
                    "first_seen": before["first_seen"],
                    "last_seen": stamp,
                }
            )
        current[key] = {**before, "status": "resolved"}
    next_state = {**state, "alerts": dict(sorted(current.items())), "last_run": stamp}
    return out, next_state


def apply_budget(alerts: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """Per owner, send the ``budget`` open alerts with the most money; mark the rest
    ``grouped`` and add one digest alert per owner that summarises them."""
    out, digests = [], []
    open_alerts = [a for a in alerts if a["status"] != "resolved"]
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for a in open_alerts:
        by_owner.setdefault(a["owner"], []).append(a)
    for owner, items in by_owner.items():
        items.sort(key=lambda a: (-a["money_at_stake"], a["id"]))
        for i, a in enumerate(items):
            out.append({**a, "grouped": i >= budget})
        rest = items[budget:]
        if rest:
            digests.append(
                {
                    "id": alert_id("digest", owner, "over budget"),
                    "rule": "digest",
                    "signal": "digest",
                    "severity": max((a["severity"] for a in rest), key=SEVERITIES.index),
                    "zone": f"{len(rest)} more alerts for {owner}",
                    "reason": "over the weekly alert budget",
                    "money_at_stake": round(sum(a["money_at_stake"] for a in rest), 2),
                    "owner": owner,
                    "action": "review the grouped alerts on the Escalations page",
                    "evidence": {"alerts": [a["id"] for a in rest]},
                    "status": "new" if any(a["status"] == "new" for a in rest) else "ongoing",
                    "first_seen": min(a["first_seen"] for a in rest),
                    "last_seen": max(a["last_seen"] for a in rest),
                    "grouped": False,
                }
            )
    resolved = [{**a, "grouped": False} for a in alerts if a["status"] == "resolved"]
    return out + digests + resolved


class DeliveryFailed(Exception):
    """A POST that was not acknowledged by a 2xx answer."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: urllib re-sends a POST answered by 302 as a GET without
    its body, so the alert would be lost while it looked delivered."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_json(url: str, payload: object, key: str, timeout_s: float = 10.0) -> int:
    """POST ``payload`` as JSON with an ``Idempotency-Key: key`` header. Returns the 2xx
    status; anything else raises :class:`DeliveryFailed`: a 3xx (not followed), 4xx or
    5xx answer, no answer within ``timeout_s``, a refused or broken connection."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryFailed("the webhook must be an http:// or https:// URL")
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False, default=str).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
        method="POST",
    )
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout_s) as answer:
            answer.read()
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DeliveryFailed(f"HTTP {exc.code}", exc.code) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise DeliveryFailed(f"no answer within {timeout_s:g} s") from exc
        raise DeliveryFailed(f"cannot connect ({exc.reason})") from exc
    except TimeoutError as exc:
        raise DeliveryFailed(f"no answer within {timeout_s:g} s") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DeliveryFailed(f"broken answer ({type(exc).__name__}: {exc})") from exc
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status}", status)
    return status


@dataclass(frozen=True)
class Delivery:
    """What one delivery round did: alerts acknowledged by a 2xx, failed attempts, and
    what is still in the outbox for the next run."""

    delivered: int
    failed_attempts: int
    pending: int


def deliver(
    url: str,
    store: Store,
    retries: int = 3,
    backoff_s: float = 1.0,
    timeout_s: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send the outbox, oldest first, one POST per alert: ``{"alerts": [alert]}``, the
    alert carrying its ``idempotency_key``, also sent as the ``Idempotency-Key`` header.

    At least once: only a 2xx takes an alert out of the outbox. Each alert gets
    ``retries`` attempts with back-off (``backoff_s``, 2x, 4x ...); when one runs out of
    attempts the round stops and the rest waits, in order, for the next run. A receiver
    that answered too late gets the alert again under the same key and can drop it.
    Every attempt is logged in the store's delivery log.
    """
    delivered = failed = 0
    for item in store.outbox():
        for attempt in range(1, retries + 1):
            try:
                status = post_json(url, {"alerts": [item.payload]}, item.key, timeout_s)
            except DeliveryFailed as exc:
                failed += 1
                store.record_attempt(item, item.attempts + attempt, False, exc.status, exc.reason)
                if attempt < retries:
                    sleep(backoff_s * 2 ** (attempt - 1))
                continue
            store.record_attempt(item, item.attempts + attempt, True, status, f"HTTP {status}")
            delivered += 1
            break
        else:
            break  # the receiver keeps failing: keep the order, try again next run
    return Delivery(delivered, failed, len(store.outbox()))


def record_run(
    store: Store,
    rules: Rules,
    inputs: Inputs,
    now: dt.datetime,
    acks: Iterable[str] = (),
    by: str = "cli",
    queue: bool = False,
) -> Run:
    """Evaluate against the stored state and write the result, all in one write
    transaction: two runs at once are serialized and neither loses the other's alerts or
    acknowledgements. The acknowledgements go in first; with ``queue``, the alerts to send
    (:attr:`Run.to_send`) go into the outbox."""
    with store.transaction():
        store.ack(acks, by=by)
        run = evaluate(rules, inputs, store.state(), now)
        store.save_alerts(run.state["alerts"], run.state.get("last_run"))
        if queue:
            store.enqueue(run.to_send)
    return run


def alerts_frame(alerts: list[dict[str, Any]]) -> pl.DataFrame:
    """Alerts as a flat table (evidence as JSON text) for CSV and the page."""
    cols = [
        "id",
        "severity",
        "status",
        "zone",
        "reason",
        "money_at_stake",
        "owner",
        "action",
        "rule",
        "grouped",
        "first_seen",
        "last_seen",
        "evidence",
    ]
    rows = [
        {
            **{c: a.get(c) for c in cols},
            "evidence": json.dumps(a.get("evidence", {}), ensure_ascii=False, default=str),
        }
        for a in alerts
    ]
    schema = {c: pl.String for c in cols} | {"money_at_stake": pl.Float64, "grouped": pl.Boolean}
    return pl.DataFrame(rows, schema=schema)


# ---------------------------------------------------------------- one run


def inputs_for(
    dataset: Dataset,
    horizon_days: int = FORECAST_DAYS,
    compute: Callable[..., Any] = direct,
) -> Inputs:
    """Compute every signal of a dataset: the risk model, tension zones, the SLA breach
    forecast (when ``acd`` has staffing) and the last 30 days' cost anomalies.

    ``compute(fn, dataset, *params)`` runs each engine step; the app passes its cache.
    """
    from analytics.cost import case_costs, priciest
    from analytics.forecast import breaches, forecast_all
    from analytics.risk import RiskUnavailable, train
    from analytics.sla import has_staffing
    from analytics.tension import zones

    cases = compute(case_costs, dataset)
    model = None
    if dataset.customers is not None:
        try:
            model = compute(train, dataset)
        except RiskUnavailable:  # too little history to train on: no risk rule fires
            model = None
    found, interval_s = None, 1800.0
    if has_staffing(dataset.acd):
        # The Forecasts page's defaults, so the app computes it once for both.
        country = dataset.settings.holiday_country
        run = compute(forecast_all, dataset, horizon_days, 0.8, 3, country)
        found, interval_s = breaches(run, dataset), run.interval_s
    last = cases["start"].max() if cases.height else None
    recent = cases.filter(pl.col("start") >= last - dt.timedelta(days=30)) if last else cases  # type: ignore[operator]
    return Inputs(
        scored=model.scored if model else None,
        validation=model.validation if model else None,
        zones=compute(zones, dataset),
        breaches=found,
        cost_pairs=priciest(recent),
        interval_s=interval_s,
    )


@dataclass(frozen=True)
class Run:
    """One evaluation: every alert with its status, the next state, rule precision."""

    alerts: list[dict[str, Any]]
    state: dict[str, Any]
    precision: pl.DataFrame

    @property
    def to_send(self) -> list[dict[str, Any]]:
        """New alerts within the owners' budgets (digests included): what a webhook gets."""
        return [a for a in self.alerts if a["status"] == "new" and not a["grouped"]]

    @property
    def to_act_on(self) -> list[dict[str, Any]]:
        """See :func:`to_act_on`."""
        return to_act_on(self.alerts)


def to_act_on(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts to act on: open (new or ongoing) and within their owner's weekly budget;
    digests, which only summarise the grouped rest, are left out. The same count whatever
    the previous state (new and ongoing alike), so every page and the CLI agree."""
    return [
        a
        for a in alerts
        if a["status"] != "resolved" and not a["grouped"] and a["rule"] != "digest"
    ]


def rank(alerts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open alerts before resolved ones (a resolved alert's money is from when it last
    fired), then the money at stake (most first), the severity (critical first) and the id:
    a total order, so the same alerts in any order give the same list. The one order of
    alerts: the page, the CLI, the JSON and the webhook all list them so."""
    return sorted(
        alerts,
        key=lambda a: (
            a["status"] == "resolved",
            -float(a["money_at_stake"] or 0.0),
            -SEVERITIES.index(a["severity"]),
            a["id"],
        ),
    )


def evaluate(rules: Rules, inputs: Inputs, state: dict[str, Any], now: dt.datetime) -> Run:
    """Fire the rules, reconcile with the previous state, apply the alert budget; the
    alerts come out in :func:`rank`'s order."""
    fired = fire(rules, inputs)
    alerts, next_state = reconcile(fired, state, now)
    alerts = rank(apply_budget(alerts, rules.budget))
    return Run(alerts, next_state, precision(rules, inputs, state))
