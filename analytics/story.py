"""The workshop story: nine steps from "everything is green" to "what to fix first".

Every figure a step quotes is the engine's one definition of it, taken from the function
named below, so the story, the page each step links to and the board pack agree:

1. ``green``: the classic metrics, :func:`analytics.kpi.classic_metrics` (service level,
   CSAT, NPS with its standard error, AHT), beside the settings' SLA goal and target.
2. ``churn``: the monthly churn of the first and the last full month, the revenue the last
   month's leavers took and today's active base (the same function).
3. ``silent_loss``: the churn rise priced by :func:`analytics.economics.silent_churn_loss`
   on the scenario :func:`analytics.economics.inputs_from_data` measures (today's active
   customers, LTV = ARPU / LTV churn, churn from the first three full months' mean to the
   last full month's; replacement convention), with the silent-churn share.
4. ``at_risk``: revenue at risk over the risk model's horizon
   (:func:`analytics.measures.revenue_at_risk`), the riskiest decile
   (:func:`analytics.risk.at_risk`), its silent part (:func:`analytics.risk.silent_at_risk`)
   and the segment with the most revenue at risk (:func:`analytics.risk.revenue_at_risk_by`).
5. ``cost``: the excess cost to serve (:func:`analytics.cost.excess_cost`), the behaviour
   with the most money at stake (:func:`analytics.cost.tag_costs`) and the
   (scenario, behaviour) pair to look at first (:func:`analytics.cost.priciest`).
6. ``drift``: the scenario whose deviation from its standard path grew most
   (:func:`drift_by_scenario`, over :func:`analytics.process.drift`).
7. ``tension``: the zones of growing tension (:func:`analytics.tension.zones`; the first
   zone has the most money at stake).
8. ``sla_risk``: the SLA breach forecast the escalation rules read
   (:func:`analytics.escalation.inputs_for`): intervals likely to breach (P >= 0.5,
   :func:`analytics.sla.breach_points`) over the next ``FORECAST_DAYS``, the expected
   number of breaches (sum of P) and the likeliest one.
9. ``fix_first``: the alerts to act on under the default rules
   (:func:`analytics.escalation.to_act_on`), ranked by money at stake.

A step whose data is missing is kept, with the reason (a locale key and its values), so the
facilitator says why in one sentence and the story goes on. Numbers travel as
:class:`Figure` (a kind and a raw value); the app formats them in the reader's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import polars as pl

from analytics.alert_text import Sentence, headline
from analytics.cost import case_costs, cost_basis, excess_cost, period_months, priciest, tag_costs
from analytics.dataset import Dataset
from analytics.economics import ChurnScenario, inputs_from_data, silent_churn_loss
from analytics.escalation import FORECAST_DAYS, Inputs, Rules, evaluate, inputs_for, to_act_on
from analytics.kpi import classic_metrics, monthly_story
from analytics.measures import revenue_at_risk
from analytics.process import case_views, monthly_cases, scenario_drifts
from analytics.risk import (
    HORIZON_DAYS,
    RiskUnavailable,
    at_risk,
    revenue_at_risk_by,
    silent_at_risk,
    train,
)
from analytics.sla import breach_points
from analytics.tension import SHARES, zones

# "sentence": an alert's headline (:class:`analytics.alert_text.Sentence`), worded by the UI.
Kind = Literal[
    "money", "share", "rate", "count", "number", "seconds", "text", "date", "month", "sentence"
]
STEPS = (
    "green",
    "churn",
    "silent_loss",
    "at_risk",
    "cost",
    "drift",
    "tension",
    "sla_risk",
    "fix_first",
)
# The app page each step opens (``dashboard/app_pages/<page>.py``).
PAGES = {
    "green": "overview",
    "churn": "overview",
    "silent_loss": "economics",
    "at_risk": "risk",
    "cost": "cost",
    "drift": "process",
    "tension": "tension",
    "sla_risk": "forecast",
    "fix_first": "escalations",
}
# How a tension indicator that is not a share (analytics.tension.SHARES) reads.
_LEVELS: dict[str, Kind] = {"asa": "seconds", "cost_per_case": "money", "csat": "number"}
BREACH_LIKELY = 0.5  # the Forecasts page's "likely breach"
TOP_ALERTS = 5


@dataclass(frozen=True)
class Figure:
    """A number the story quotes: its kind says how to show it (money in the dataset's
    currency, a share as a percentage, a monthly churn ``rate`` as a percentage to two
    decimals, seconds as m:ss, a ``month`` by its first day...); ``digits``, the decimals
    when they differ from the kind's usual ones."""

    kind: Kind
    value: float | int | str | dt.date | dt.datetime | Sentence | None
    digits: int | None = None


@dataclass(frozen=True)
class Step:
    """One step: the page it opens (with the page state as URL parameters), the figures it
    quotes, the frame its chart draws; or, when ``skipped``, the locale key of the reason
    and ``why``, its values. ``labels``: the names of the frame's rows as sentences, where
    the engine's words name them (the alerts' headlines of ``fix_first``)."""

    key: str
    figures: dict[str, Figure] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    frame: pl.DataFrame | None = None
    skipped: str | None = None
    why: dict[str, Any] = field(default_factory=dict)
    labels: tuple[Sentence, ...] = ()

    @property
    def page(self) -> str:
        return PAGES[self.key]


def _skip(key: str, reason: str, **why: Any) -> Step:
    return Step(key, skipped=reason, why=why)


class Memo:
    """A ``compute(fn, dataset, *params)`` that runs each engine step once per dataset and
    parameters: the default when no cache (such as the app's) is given."""

    def __init__(self) -> None:
        self._done: dict[tuple[object, ...], Any] = {}

    def __call__(self, fn: Callable[..., Any], dataset: Dataset, *params: object) -> Any:
        key = (fn, dataset.content_hash, params)
        if key not in self._done:
            self._done[key] = fn(dataset, *params)
        return self._done[key]


class _Sources:
    """What the steps read, each computed at most once per story."""

    def __init__(self, dataset: Dataset, compute: Callable[..., Any]) -> None:
        self.dataset, self.compute = dataset, compute

    @cached_property
    def inputs(self) -> Inputs:
        return inputs_for(self.dataset, compute=self.compute)

    @cached_property
    def cases(self) -> pl.DataFrame:
        return self.compute(case_costs, self.dataset)


def drift_by_scenario(dataset: Dataset) -> pl.DataFrame:
    """:func:`analytics.process.scenario_drifts` of the dataset's cases: per scenario, the
    deviation from its standard path that leads its drift, the largest drift first."""
    _, cases, paths, _ = case_views(dataset)
    return scenario_drifts(monthly_cases(cases), paths) if cases.height else pl.DataFrame()


# ---------------------------------------------------------------- the steps


def _green(src: _Sources) -> Step:
    dataset = src.dataset
    m = src.compute(classic_metrics, dataset)
    if m.sla is None and m.csat is None and m.nps is None:
        return _skip("green", "story.skip.no_classic")
    story = src.compute(monthly_story, dataset)
    settings = dataset.settings
    return Step(
        "green",
        figures={
            "sla": Figure("share", m.sla),
            "goal": Figure("share", settings.sla_goal),
            "target_s": Figure("number", settings.sla_target_s),
            "csat": Figure("number", m.csat, 2),
            "nps": Figure("number", m.nps.score if m.nps else None),
            "nps_se": Figure("number", m.nps.se if m.nps else None, 1),
            "aht": Figure("seconds", m.aht_s),
        },
        frame=story.select(pl.exclude("^churn.*$")),
    )


def _churn(src: _Sources) -> Step:
    m = src.compute(classic_metrics, src.dataset)
    if m.churn_last is None:
        return _skip("churn", "story.skip.no_churn")
    return Step(
        "churn",
        figures={
            "first": Figure("rate", m.churn_first),
            "last": Figure("rate", m.churn_last),
            "lost": Figure("money", m.revenue_lost_last_month),
            "active": Figure("count", m.active_customers),
            "revenue": Figure("money", m.monthly_revenue),
        },
        frame=src.compute(monthly_story, src.dataset),
    )


def _silent_loss(src: _Sources) -> Step:
    data = src.compute(inputs_from_data, src.dataset)
    if data is None:
        return _skip("silent_loss", "story.skip.no_churn")
    if data.ltv is None:
        return _skip("silent_loss", "story.skip.no_ltv")
    if data.churn_to <= data.churn_from:
        return _skip(
            "silent_loss",
            "story.skip.no_rise",
            before=Figure("rate", data.churn_from),
            after=Figure("rate", data.churn_to),
        )
    scenario = ChurnScenario(data.customers, data.ltv, data.churn_from, data.churn_to)
    loss = silent_churn_loss(scenario)
    return Step(
        "silent_loss",
        figures={
            "customers": Figure("count", data.customers),
            "ltv": Figure("money", data.ltv),
            "before": Figure("rate", data.churn_from),
            "after": Figure("rate", data.churn_to),
            "extra_month": Figure("number", loss.extra_customers_per_month),
            "month": Figure("money", loss.revenue_lost_per_month),
            "year": Figure("money", loss.revenue_lost_per_year),
            "silent": Figure("share", data.silent_share),
        },
        frame=loss.projection,
    )


def _at_risk(src: _Sources) -> Step:
    try:
        model = src.compute(train, src.dataset)
    except RiskUnavailable as why:
        return _skip("at_risk", f"riskmodel.unavailable.{why.key}", **why.values)
    scored = model.scored
    slice_ = next((s for s in ("segment", *model.slices) if s in scored.columns), None)
    by = revenue_at_risk_by(scored, slice_) if slice_ else None
    top = by.row(0, named=True) if by is not None and by.height else None
    return Step(
        "at_risk",
        figures={
            "money": Figure("money", revenue_at_risk(scored)),
            "days": Figure("count", HORIZON_DAYS),
            "customers": Figure("count", scored.height),
            "flagged": Figure("count", at_risk(scored).height),
            "silent": Figure("count", silent_at_risk(scored).height),
            "slice": Figure("text", slice_),
            "top": Figure("text", top[slice_] if top else None),
            "top_money": Figure("money", top["revenue_at_risk"] if top else None),
        },
        frame=by,
    )


def _cost(src: _Sources) -> Step:
    dataset = src.dataset
    cases = src.cases if dataset.events.height else None
    if cases is None or not cases.height or not cases["cost"].sum():
        return _skip("cost", "story.skip.no_cost")
    tags = tag_costs(cases)
    tag = tags.row(0, named=True)
    pair = priciest(cases)
    first = pair.row(0, named=True) if pair.height else None
    return Step(
        "cost",
        figures={
            "excess": Figure("money", excess_cost(cases)),
            "months": Figure("number", period_months(dataset.events), 1),
            "total": Figure("money", cases["cost"].sum()),
            "tag": Figure("text", tag["tag"]),
            "tag_share": Figure("share", tag["share"]),
            "tag_extra": Figure("money", tag["extra_per_case"]),
            "tag_money": Figure("money", tag["at_stake"]),
            "pair_scenario": Figure("text", first["scenario"] if first else None),
            "pair_tag": Figure("text", first["tag"] if first else None),
            "pair_money": Figure("money", first["excess_cost"] if first else None),
            "estimated": Figure("text", "yes" if cost_basis(dataset.events) == "estimated" else ""),
        },
        params=(
            {"cost_scenario": first["scenario"] or "", "cost_tag": first["tag"]} if first else {}
        ),
        frame=tags,
    )


def _drift(src: _Sources) -> Step:
    if not src.dataset.events.height:
        return _skip("drift", "story.skip.no_events")
    table = src.compute(drift_by_scenario, src.dataset)
    if table.is_empty() or table["growth"][0] <= 0:
        return _skip("drift", "story.skip.no_drift")
    top = table.row(0, named=True)
    months = top["by_month"]
    return Step(
        "drift",
        figures={
            "scenario": Figure("text", top["scenario"]),
            "deviation": Figure("text", top["deviation"]),
            "first": Figure("share", top["first_share"]),
            "last": Figure("share", top["last_share"]),
            "norm": Figure("text", "yes" if top["became_norm"] else ""),
            "since": Figure("month", months[0]["month"]),
            "until": Figure("month", months[-1]["month"]),
        },
        params={"scenario": top["scenario"]} if top["scenario"] else {},
        frame=pl.DataFrame(months),
    )


def _tension(src: _Sources) -> Step:
    found = src.compute(zones, src.dataset)
    growing = found.filter(pl.col("zone")) if found.height else found
    if not growing.height:
        return _skip("tension", "story.skip.no_zones")
    top = growing.row(0, named=True)
    level: Kind = "share" if top["indicator"] in SHARES else _LEVELS[top["indicator"]]
    return Step(
        "tension",
        figures={
            "zones": Figure("count", growing.height),
            "slice": Figure("text", top["slice"]),
            "value": Figure("text", top["value"]),
            "indicator": Figure("text", top["indicator"]),
            "baseline": Figure(level, top["baseline"]),
            "recent": Figure(level, top["recent"]),
            "change": Figure("share", top["relative_change"], 0),
            "money": Figure("money", top["money_at_stake"]),
            "started": Figure("date", top["started"]),
        },
        frame=growing.head(1),
    )


def _sla_risk(src: _Sources) -> Step:
    found = src.inputs.breaches
    if found is None or found.is_empty():
        return _skip("sla_risk", "story.skip.no_staffing")
    likely = breach_points(found, BREACH_LIKELY, top=found.height)
    first = likely.row(0, named=True) if likely.height else None
    return Step(
        "sla_risk",
        figures={
            "days": Figure("count", FORECAST_DAYS),
            "intervals": Figure("count", found.height),
            "likely": Figure("count", likely.height),
            "expected": Figure("number", found["p_breach"].sum(), 1),
            "queue": Figure("text", first["queue"] if first else None),
            "time": Figure("date", first["time"] if first else None),
            "p": Figure("share", first["p_breach"] if first else None),
        },
        frame=found,
    )


def _fix_first(src: _Sources) -> Step:
    now = dt.datetime.now().replace(microsecond=0)  # stamps the alerts' state, nothing else
    alerts = to_act_on(evaluate(Rules.default(), src.inputs, {}, now).alerts)
    if not alerts:
        return _skip("fix_first", "story.skip.no_alerts")
    ranked = alerts  # already in the engine's one order: money at stake first
    top = pl.DataFrame(
        [
            {k: a[k] for k in ("severity", "zone", "reason", "owner", "action", "money_at_stake")}
            for a in ranked[:TOP_ALERTS]
        ]
    )
    first = ranked[0]
    return Step(
        "fix_first",
        figures={
            "alerts": Figure("count", len(alerts)),
            "alert": Figure("sentence", headline(first)),
            "owner": Figure("text", first["owner"]),
            "action": Figure("text", first["action"]),
            "money": Figure("money", first["money_at_stake"]),
        },
        frame=top,
        labels=tuple(headline(a) for a in ranked[:TOP_ALERTS]),
    )


_BUILDERS: dict[str, Callable[[_Sources], Step]] = {
    "green": _green,
    "churn": _churn,
    "silent_loss": _silent_loss,
    "at_risk": _at_risk,
    "cost": _cost,
    "drift": _drift,
    "tension": _tension,
    "sla_risk": _sla_risk,
    "fix_first": _fix_first,
}


def story_step(dataset: Dataset, key: str, compute: Callable[..., Any] | None = None) -> Step:
    """One step of the story (see the module docstring). ``compute(fn, dataset, *params)``
    runs each engine step; the app passes its cache, the default remembers them for this
    call only."""
    return _BUILDERS[key](_Sources(dataset, compute or Memo()))


def build_story(dataset: Dataset, compute: Callable[..., Any] | None = None) -> tuple[Step, ...]:
    """Every step in order, each engine step computed once (:class:`Memo` by default)."""
    src = _Sources(dataset, compute or Memo())
    return tuple(_BUILDERS[key](src) for key in STEPS)
