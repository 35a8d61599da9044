"""The Overview's summary of where money leaks, each figure from its one definition.

* **Revenue at risk**: :func:`analytics.measures.revenue_at_risk` of the risk model's scored
  customers (None when no model can be trained, e.g. a date range too short for one).
* **Excess cost**: :func:`analytics.cost.excess_cost` (each case once, however many tags),
  marked estimated when :func:`analytics.cost.cost_basis` says so.
* **Zones**: :func:`analytics.tension.zones` found out of control; the lines shown are the
  first zone of each indicator (three slices of one problem tell less), at most three.
* **Alerts**: :func:`analytics.escalation.to_act_on` under the default rules, evaluated with
  no previous state at the data's last event (so the same data gives the same lines on any
  day); the lines shown are the first three in :func:`analytics.escalation.rank`'s order
  (money at stake, severity, id), the Escalations page's order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from analytics.cost import case_costs, cost_basis, excess_cost
from analytics.dataset import Dataset, direct
from analytics.escalation import Rules, evaluate, inputs_for
from analytics.measures import revenue_at_risk

SHOWN = 3  # zone and alert lines on the Overview


@dataclass(frozen=True)
class Leaks:
    """Where the money leaks (module docstring); ``zones`` and ``urgent`` are the lines to
    show, ``zone_count`` and ``alerts`` the totals."""

    at_risk: float | None
    excess: float
    estimated: bool
    zone_count: int
    zones: list[dict[str, Any]]
    alerts: int
    urgent: list[dict[str, Any]]


def leaks(dataset: Dataset, compute: Callable[..., Any] = direct) -> Leaks:
    """:class:`Leaks` of a dataset with events; ``compute(fn, dataset, *params)`` runs each
    engine step (the app passes its cache)."""
    inputs = compute(inputs_for, dataset)  # the app's cache keeps the whole, reused by pages
    last = dataset.events["timestamp"].max()
    now = last if isinstance(last, dt.datetime) else dt.datetime(1970, 1, 1)
    run = evaluate(Rules.default(), inputs, {}, now)
    found = (
        inputs.zones.filter(pl.col("zone"))
        if inputs.zones is not None and inputs.zones.height
        else pl.DataFrame(schema={"indicator": pl.String})
    )
    acts = run.to_act_on  # in rank's order
    return Leaks(
        at_risk=None if inputs.scored is None else revenue_at_risk(inputs.scored),
        excess=excess_cost(compute(case_costs, dataset)),
        estimated=cost_basis(dataset.events) == "estimated",
        zone_count=found.height,
        zones=found.unique("indicator", keep="first", maintain_order=True).head(SHOWN).to_dicts(),
        alerts=len(acts),
        urgent=acts[:SHOWN],
    )
