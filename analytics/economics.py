"""Silent-churn economics and CX-initiative ROI: the CFO's what-if arithmetic.

Conventions: churn rates are monthly shares (0.03 = 3 % a month); money is in the
dataset currency; LTV is the future value of one customer (revenue or margin, as the user
defines it; :func:`ltv` derives it). Each result names its assumption, because the
honest answer to "what does +2 points of churn cost?" depends on it:

* **replacement** (the simple form): the base is kept constant by new customers, so every
  month ``customers x (churn_to - churn_from)`` extra customers leave, each taking its LTV;
* **closed cohort**: no one replaces the leavers, the base shrinks, and after ``n`` months
  ``customers x ((1 - churn_from)^n - (1 - churn_to)^n)`` more customers are gone;
* **discounted cohort**: the same, each month's extra leavers valued at
  ``LTV / (1 + monthly_discount)^t``;
* **LTV effect**: with ``LTV = monthly margin / churn`` a rise in churn also shrinks the
  value of every customer who stays, to ``churn_from / churn_to`` of what it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from analytics.churn import churn_by_nps, dataset_churn, silent_churn_share, wilson
from analytics.cost import monthly_cost_to_serve
from analytics.dataset import Dataset
from analytics.kpi import nps
from analytics.measures import customer_base


def ltv(
    arpu: float,
    gross_margin: float = 1.0,
    churn: float | None = None,
    lifetime_months: float | None = None,
) -> float:
    """Lifetime value = ARPU x gross margin x expected lifetime in months.

    The lifetime is ``lifetime_months`` when given, else ``1 / churn`` (the mean of a
    geometric lifetime with constant monthly churn).

    >>> round(ltv(1260, 0.9, churn=0.03))
    37800
    """
    if lifetime_months is None:
        if churn is None or churn <= 0:
            raise ValueError("give lifetime_months or a positive monthly churn")
        lifetime_months = 1 / churn
    return arpu * gross_margin * lifetime_months


@dataclass(frozen=True)
class ChurnScenario:
    """A rise in monthly churn for a base of customers."""

    customers: float
    ltv: float
    churn_from: float
    churn_to: float
    months: int = 12
    monthly_discount: float = 0.0

    def __post_init__(self) -> None:
        for name in ("churn_from", "churn_to"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be a monthly share in [0, 1), got {value}")
        if self.customers < 0 or self.ltv < 0 or self.months < 1 or self.monthly_discount < 0:
            raise ValueError("customers, LTV and discount must not be negative; months >= 1")


@dataclass(frozen=True)
class SilentChurnLoss:
    """What a churn rise costs, under each convention (see the module docstring).

    ``projection`` has one row per month ``t = 1..months``: customers left under each
    churn (closed cohort), the extra customers lost so far, and the revenue lost so far,
    plain and discounted.
    """

    extra_customers_per_month: float
    revenue_lost_per_month: float
    extra_customers_per_year: float
    revenue_lost_per_year: float
    cohort_extra_customers: float
    cohort_revenue_lost: float
    cohort_revenue_lost_discounted: float
    ltv_after: float
    ltv_ratio: float
    remaining_value_lost: float
    projection: pl.DataFrame


def silent_churn_loss(s: ChurnScenario) -> SilentChurnLoss:
    """Revenue lost to a rise in churn from ``churn_from`` to ``churn_to``.

    Replacement: ``extra = customers x (churn_to - churn_from)`` a month, ``x 12`` a year,
    each worth ``ltv``. Closed cohort over ``months``:
    ``customers x ((1 - churn_from)^months - (1 - churn_to)^months)``. Discounted: each
    month's extra leavers ``x ltv / (1 + d)^t``. LTV effect: ``ltv_after = ltv x
    churn_from / churn_to``; ``remaining_value_lost`` is that drop over the customers
    still there after ``months`` at the higher churn.

    >>> loss = silent_churn_loss(ChurnScenario(40_000, 37_800, 0.03, 0.05))
    >>> round(loss.extra_customers_per_month), round(loss.revenue_lost_per_month)
    (800, 30240000)
    >>> round(loss.cohort_extra_customers)
    6139
    """
    per_month = s.customers * (s.churn_to - s.churn_from)
    t = np.arange(0, s.months + 1)
    kept_from = s.customers * (1 - s.churn_from) ** t
    kept_to = s.customers * (1 - s.churn_to) ** t
    extra = kept_from - kept_to  # extra customers gone by month t (0 at t = 0)
    new_extra = np.diff(extra)
    discount = (1 + s.monthly_discount) ** -t[1:]
    projection = pl.DataFrame(
        {
            "month": t[1:],
            "customers_at_churn_from": kept_from[1:],
            "customers_at_churn_to": kept_to[1:],
            "extra_customers_lost": extra[1:],
            "revenue_lost": extra[1:] * s.ltv,
            "revenue_lost_discounted": np.cumsum(new_extra * s.ltv * discount),
            "replacement_revenue_lost": per_month * s.ltv * t[1:],
        }
    )
    ratio = s.churn_from / s.churn_to if s.churn_to > 0 else 1.0
    return SilentChurnLoss(
        extra_customers_per_month=per_month,
        revenue_lost_per_month=per_month * s.ltv,
        extra_customers_per_year=per_month * 12,
        revenue_lost_per_year=per_month * s.ltv * 12,
        cohort_extra_customers=float(extra[-1]),
        cohort_revenue_lost=float(extra[-1] * s.ltv),
        cohort_revenue_lost_discounted=float(projection["revenue_lost_discounted"][-1]),
        ltv_after=s.ltv * ratio,
        ltv_ratio=ratio,
        remaining_value_lost=float(kept_to[-1] * s.ltv * (1 - ratio)),
        projection=projection,
    )


@dataclass(frozen=True)
class Retention:
    """Customers saved and revenue kept by a churn reduction (replacement convention)."""

    churn_after: float
    reduction: float
    saved_per_month: float
    revenue_kept_per_month: float
    saved_per_year: float
    revenue_kept_per_year: float


def retention(
    customers: float,
    ltv_value: float,
    churn: float,
    *,
    points: float | None = None,
    relative: float | None = None,
) -> Retention:
    """Reduce monthly churn by ``points`` (absolute share, 0.006 = 0.6 pp) or by
    ``relative`` (0.2 = 20 % of the current churn).

    ``saved = customers x reduction`` a month, ``x 12`` a year, each keeping ``ltv``.

    >>> r = retention(40_000, 37_800, 0.05, points=0.006)
    >>> round(r.saved_per_month), round(r.revenue_kept_per_month)
    (240, 9072000)
    """
    if (points is None) == (relative is None):
        raise ValueError("give exactly one of points or relative")
    reduction = points if points is not None else churn * relative  # type: ignore[operator]
    if not 0 <= reduction <= churn:
        raise ValueError(f"the reduction must lie between 0 and the current churn {churn}")
    saved = customers * reduction
    return Retention(
        churn - reduction, reduction, saved, saved * ltv_value, saved * 12, saved * ltv_value * 12
    )


@dataclass(frozen=True)
class Initiative:
    """A CX initiative: what it costs and how much monthly churn it is expected to save.

    ``churn_reduction`` is the expected cut in monthly churn (a share), ``reduction_se``
    its standard error (0 = certain). ``monthly_cost`` is the extra service cost a month,
    ``upfront`` a one-off cost, ``horizon_months`` how long the effect is counted.
    """

    customers: float
    ltv: float
    churn_reduction: float
    monthly_cost: float
    upfront: float = 0.0
    horizon_months: int = 12
    reduction_se: float = 0.0


@dataclass(frozen=True)
class InitiativeResult:
    """Value of an initiative (replacement convention).

    ``value_per_month = customers x churn_reduction x ltv``; ``net_per_month = value -
    monthly_cost``; ``net_over_horizon = net_per_month x horizon - upfront``;
    ``payback_months = upfront / net_per_month`` (None when it never pays back);
    ``break_even_reduction = (monthly_cost + upfront / horizon) / (customers x ltv)``;
    ``probability_pays_off = P(net_over_horizon > 0)`` with the reduction
    ~ Normal(churn_reduction, reduction_se).
    """

    value_per_month: float
    net_per_month: float
    net_over_horizon: float
    payback_months: float | None
    break_even_reduction: float
    probability_pays_off: float


def evaluate(i: Initiative) -> InitiativeResult:
    """Evaluate an :class:`Initiative` (formulas in :class:`InitiativeResult`)."""
    unit = i.customers * i.ltv
    value = unit * i.churn_reduction
    net = value - i.monthly_cost
    break_even = (i.monthly_cost + i.upfront / i.horizon_months) / unit if unit else math.inf
    if i.reduction_se > 0:
        from scipy.stats import norm  # here: SciPy's stats take seconds to import

        probability = float(norm.sf(break_even, loc=i.churn_reduction, scale=i.reduction_se))
    else:
        probability = float(i.churn_reduction > break_even)
    return InitiativeResult(
        value_per_month=value,
        net_per_month=net,
        net_over_horizon=net * i.horizon_months - i.upfront,
        payback_months=(i.upfront / net if i.upfront else 0.0) if net > 0 else None,
        break_even_reduction=break_even,
        probability_pays_off=probability,
    )


@dataclass(frozen=True)
class ReturnsCurve:
    """Diminishing returns of CX spend.

    Model: ``reduction(spend) = max_reduction x (1 - exp(-spend / k))``, with ``k`` chosen
    so that the initiative's own (monthly cost, reduction) lies on the curve. Monthly net
    value is ``customers x ltv x reduction(spend) - spend``; it peaks at ``optimum_spend =
    k x ln(customers x ltv x max_reduction / k)``, where the next unit of spend returns
    exactly one unit; beyond it, more CX spend returns less than it costs.
    """

    curve: pl.DataFrame
    k: float
    optimum_spend: float
    optimum_net: float


def returns_curve(i: Initiative, max_reduction: float, points: int = 60) -> ReturnsCurve:
    """The diminishing-returns curve through the initiative's point (see :class:`ReturnsCurve`).

    ``max_reduction`` is the most any spend could cut monthly churn (e.g. back to the
    baseline: ``churn_to - churn_from``); it must exceed the initiative's reduction.
    """
    if not 0 < i.churn_reduction < max_reduction:
        raise ValueError("the initiative's reduction must lie between 0 and max_reduction")
    if i.monthly_cost <= 0:
        raise ValueError("the initiative needs a positive monthly cost to place it on a curve")
    k = -i.monthly_cost / math.log(1 - i.churn_reduction / max_reduction)
    unit = i.customers * i.ltv
    peak = unit * max_reduction / k
    optimum = k * math.log(peak) if peak > 1 else 0.0
    spend = np.linspace(0, max(3 * optimum, 3 * i.monthly_cost), points)
    reduction = max_reduction * (1 - np.exp(-spend / k))
    curve = pl.DataFrame(
        {
            "spend": spend,
            "reduction": reduction,
            "value": unit * reduction,
            "net": unit * reduction - spend,
            "marginal_return": unit * max_reduction / k * np.exp(-spend / k),
        }
    )
    optimum_net = unit * max_reduction * (1 - math.exp(-optimum / k)) - optimum
    return ReturnsCurve(curve, k, optimum, optimum_net)


def nps_minimum_detectable_change(
    promoters: float, detractors: float, answers: int, confidence: float = 0.95
) -> float:
    """Smallest NPS change (points) a comparison of two periods of ``answers`` each can
    tell from noise: ``z x sqrt(2) x SE``, ``SE = 100 x sqrt((p + d - (p - d)^2) / n)``."""
    se = 100 * math.sqrt((promoters + detractors - (promoters - detractors) ** 2) / answers)
    from scipy.stats import norm  # here: SciPy's stats take seconds to import

    return float(norm.ppf(0.5 + confidence / 2) * math.sqrt(2) * se)


def tornado(scenario: ChurnScenario, ranges: dict[str, tuple[float, float]]) -> pl.DataFrame:
    """Sensitivity of the yearly revenue lost (replacement) to each input.

    ``ranges`` gives a low and high value per :class:`ChurnScenario` field; each input is
    moved alone, the others held. Rows sorted by swing, largest first.
    """
    base = silent_churn_loss(scenario).revenue_lost_per_year
    rows = []
    for name, (low, high) in ranges.items():
        at_low = silent_churn_loss(replace(scenario, **{name: low})).revenue_lost_per_year
        at_high = silent_churn_loss(replace(scenario, **{name: high})).revenue_lost_per_year
        rows.append(
            {
                "input": name,
                "low_value": low,
                "high_value": high,
                "result_at_low": at_low,
                "result_at_high": at_high,
                "swing": abs(at_high - at_low),
            }
        )
    return (
        pl.DataFrame(rows).with_columns(pl.lit(base).alias("base")).sort("swing", descending=True)
    )


@dataclass(frozen=True)
class DataInputs:
    """Economics inputs measured from a dataset, each with how it was measured.

    * ``customers``, ``arpu``, ``ltv_churn`` and ``ltv``: today's active customers, their
      mean ``monthly_revenue``, the LTV churn (mean of the last three full months) and
      ``ltv = arpu / ltv_churn``, as :func:`analytics.measures.customer_base` defines them
      for every page (the Risk page values each customer with the same churn);
    * ``churn_from``: mean monthly churn of the first three full months (the baseline),
      ``churn_to``: the last full month's, with its Wilson interval ``churn_to_low/high``
      (``month_active`` customers active at that month's start);
    * ``monthly_cost``: the last full month's cost to serve (:mod:`analytics.cost`);
    * ``silent_share``: churned customers who never complained nor answered a survey;
    * ``monthly`` / ``by_segment``: observed churn by month, overall and per segment;
    * ``nps_churn``: churn after a survey answer by NPS band (:func:`churn_by_nps`).
    """

    customers: int
    arpu: float | None
    ltv_churn: float | None
    ltv: float | None
    month_active: int
    churn_from: float
    churn_to: float
    churn_to_low: float
    churn_to_high: float
    monthly_cost: float | None
    silent_share: float | None
    churned: int
    monthly: pl.DataFrame
    by_segment: pl.DataFrame | None
    nps_churn: pl.DataFrame | None


def inputs_from_data(dataset: Dataset) -> DataInputs | None:
    """Measure :class:`DataInputs`; None without a customers table or a full month."""
    customers, events = dataset.customers, dataset.events
    base, table = customer_base(dataset), dataset_churn(dataset)
    if customers is None or base is None or table is None or table.is_empty():
        return None
    month = table["month"][-1]
    costs = monthly_cost_to_serve(dataset).filter(pl.col("month") == month)["cost"]
    share, churned = silent_churn_share(events, customers, dataset.surveys)
    surveys = dataset.surveys
    nps_table = (
        churn_by_nps(customers, surveys, events["timestamp"].max().date())  # type: ignore[union-attr]
        if surveys is not None and surveys.height
        else None
    )
    return DataInputs(
        customers=base.customers,
        arpu=base.arpu,
        ltv_churn=base.ltv_churn,
        ltv=base.ltv,
        month_active=int(table["active_at_start"][-1]),
        churn_from=float(table["churn_rate"].head(3).mean()),  # type: ignore[arg-type]
        churn_to=float(table["churn_rate"][-1]),
        churn_to_low=float(table["low"][-1]),
        churn_to_high=float(table["high"][-1]),
        monthly_cost=float(costs[0]) if costs.len() else None,
        silent_share=share,
        churned=churned,
        monthly=table,
        by_segment=dataset_churn(dataset, by="segment")
        if "segment" in customers.columns and customers["segment"].null_count() < customers.height
        else None,
        nps_churn=nps_table,
    )


def churn_change_from_nps(nps_churn: pl.DataFrame, nps_points: float) -> tuple[float, float]:
    """Monthly churn change expected from ``nps_points`` more NPS, and its standard error.

    Assumption (stated on the page): +k NPS points move k % of respondents from
    detractors to promoters, so churn falls by ``k / 100 x (monthly_detractor -
    monthly_promoter)``. The SE combines the two bands' Wilson half-widths / 1.96.
    """
    bands = {row["band"]: row for row in nps_churn.iter_rows(named=True)}
    if "detractor" not in bands or "promoter" not in bands:
        raise ValueError("need survey answers from both detractors and promoters")
    d, p = bands["detractor"], bands["promoter"]
    gap = d["monthly"] - p["monthly"]
    se = math.hypot((d["high"] - d["low"]) / 3.92, (p["high"] - p["low"]) / 3.92)
    share = nps_points / 100
    return share * gap, share * se


def _money(value: float) -> float:
    return round(value, 2)


def _count(value: float) -> float:
    # 40,000 x (0.05 - 0.03) is 800.0000000000001 in floating point; six decimals hide it.
    return round(value, 6)


def loss_summary(s: ChurnScenario, loss: SilentChurnLoss) -> dict[str, object]:
    """The scenario and its results as plain values (the CLI's JSON, the page's export):
    money rounded to 2 decimals, customer counts to 6."""
    projection = loss.projection.with_columns(
        pl.col("customers_at_churn_from", "customers_at_churn_to", "extra_customers_lost").round(6),
        pl.col("revenue_lost", "revenue_lost_discounted", "replacement_revenue_lost").round(2),
    )
    return {
        "inputs": {
            "customers": s.customers,
            "ltv": s.ltv,
            "churn_from": s.churn_from,
            "churn_to": s.churn_to,
            "months": s.months,
            "monthly_discount": s.monthly_discount,
        },
        "extra_customers_per_month": _count(loss.extra_customers_per_month),
        "revenue_lost_per_month": _money(loss.revenue_lost_per_month),
        "extra_customers_per_year": _count(loss.extra_customers_per_year),
        "revenue_lost_per_year": _money(loss.revenue_lost_per_year),
        "cohort": {
            "extra_customers": _count(loss.cohort_extra_customers),
            "revenue_lost": _money(loss.cohort_revenue_lost),
            "revenue_lost_discounted": _money(loss.cohort_revenue_lost_discounted),
            "projection": projection.to_dicts(),
        },
        "ltv_effect": {
            "ltv_after": _money(loss.ltv_after),
            "ltv_ratio": loss.ltv_ratio,
            "remaining_value_lost": _money(loss.remaining_value_lost),
        },
    }


def loss_interval(s: ChurnScenario, alpha: float = 0.05) -> tuple[float, float]:
    """Interval of the monthly revenue lost from the uncertainty of the current churn.

    The current churn is a measured share: ``customers x churn_to`` leavers out of
    ``customers``; its Wilson interval at level ``1 - alpha`` (statsmodels
    ``proportion_confint``) is carried through ``customers x (churn - churn_from) x ltv``
    (floored at zero). The baseline is held fixed.
    """
    if s.customers <= 0:
        return 0.0, 0.0
    low, high = wilson(s.customers * s.churn_to, s.customers, alpha)
    return (
        max(0.0, s.customers * (low - s.churn_from) * s.ltv),
        max(0.0, s.customers * (high - s.churn_from) * s.ltv),
    )


def sensitivity_ranges(s: ChurnScenario, alpha: float = 0.05) -> dict[str, tuple[float, float]]:
    """Ranges for :func:`tornado`: customers and LTV +-10 %, each churn over its Wilson
    interval (``customers x churn`` leavers out of ``customers``)."""
    ranges: dict[str, tuple[float, float]] = {
        "customers": (0.9 * s.customers, 1.1 * s.customers),
        "ltv": (0.9 * s.ltv, 1.1 * s.ltv),
    }
    if s.customers > 0:
        for name in ("churn_from", "churn_to"):
            low, high = wilson(s.customers * getattr(s, name), s.customers, alpha)
            ranges[name] = (float(low), float(high))
    return ranges


# The mission's worked example: the inputs a what-if starts from without measured data,
# in the units a person types them (churn in percent a month, discount in percent a year).
MISSION = {
    "customers": 40_000.0,
    "ltv": 37_800.0,
    "churn_from": 3.0,
    "churn_to": 5.0,
    "months": 12,
    "discount": 0.0,
}


def starting_values(data: DataInputs | None) -> dict[str, float]:
    """The what-if's first inputs, as :data:`MISSION` types them: measured where the data
    measures them (churn in percent, 2 decimals; LTV whole), else the mission's example.
    An unmeasurable LTV (no revenue or no leavers) falls back to the example's."""
    if data is None:
        return dict(MISSION)
    return {
        **MISSION,
        "customers": float(data.customers),
        "ltv": float(round(data.ltv)) if data.ltv else MISSION["ltv"],
        "churn_from": round(100 * data.churn_from, 2),
        "churn_to": round(100 * data.churn_to, 2),
    }


def monthly_rate(annual: float) -> float:
    """The monthly rate compounding to ``annual`` a year: ``(1 + annual)^(1/12) - 1``.

    >>> round(monthly_rate(0.12), 6)
    0.009489
    """
    return (1 + annual) ** (1 / 12) - 1


def derived_ltv(
    arpu: float, margin: float, lifetime_months: float, churn_from: float
) -> tuple[float, float]:
    """``(lifetime, LTV)`` for the LTV helper: the lifetime typed, or when 0 the mean
    lifetime ``1 / churn_from`` of the baseline churn (0 without churn); LTV = ARPU x
    margin x lifetime (:func:`ltv`)."""
    life = lifetime_months or (1 / churn_from if churn_from else 0.0)
    return life, ltv(arpu, margin, lifetime_months=life)


def nps_detectability(surveys: pl.DataFrame) -> tuple[int, float] | None:
    """``(answers, smallest change)``: the median number of NPS answers a calendar month
    and the smallest NPS change two such months can tell apart
    (:func:`nps_minimum_detectable_change` at the survey's promoter and detractor shares).
    None without answers."""
    score = nps(surveys["nps"])
    monthly = surveys.group_by(pl.col("date").dt.truncate("1mo")).len()["len"]
    if score is None or monthly.is_empty():
        return None
    answers = int(monthly.median())  # type: ignore[arg-type]
    return answers, nps_minimum_detectable_change(score.promoters, score.detractors, answers)


def scenario_sheet(s: ChurnScenario, loss: SilentChurnLoss) -> pl.DataFrame:
    """The scenario for a spreadsheet: one row per ``item`` (a key the page names in
    words), its ``value`` and ``unit`` (``money``, ``customers``, ``percent``, ``months``).
    Money to 2 decimals, customers to 1, churn and discount in percent to 2 (the
    precision they are typed with), the LTV ratio in percent to 1."""
    rows = [
        ("customers", s.customers, "customers", 1),
        ("ltv", s.ltv, "money", 2),
        ("churn_from", 100 * s.churn_from, "percent", 2),
        ("churn_to", 100 * s.churn_to, "percent", 2),
        ("months", s.months, "months", 0),
        ("monthly_discount", 100 * s.monthly_discount, "percent", 2),
        ("extra_customers_per_month", loss.extra_customers_per_month, "customers", 1),
        ("revenue_lost_per_month", loss.revenue_lost_per_month, "money", 2),
        ("extra_customers_per_year", loss.extra_customers_per_year, "customers", 1),
        ("revenue_lost_per_year", loss.revenue_lost_per_year, "money", 2),
        ("cohort_extra_customers", loss.cohort_extra_customers, "customers", 1),
        ("cohort_revenue_lost", loss.cohort_revenue_lost, "money", 2),
        ("cohort_revenue_lost_discounted", loss.cohort_revenue_lost_discounted, "money", 2),
        ("ltv_after", loss.ltv_after, "money", 2),
        ("ltv_ratio", 100 * loss.ltv_ratio, "percent", 1),
        ("remaining_value_lost", loss.remaining_value_lost, "money", 2),
    ]
    return pl.DataFrame(
        {
            "item": [r[0] for r in rows],
            "value": [round(float(r[1]), r[3]) for r in rows],
            "unit": [r[2] for r in rows],
        }
    )
