"""The classic CX metrics, as a contact-centre report shows them, and the churn beside them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from analytics.churn import dataset_churn
from analytics.dataset import Dataset
from analytics.measures import customer_base, fsum

# Channels where a customer talks to the company; internal steps are not contacts.
CONTACT_CHANNELS_EXCLUDED = ("internal",)


def is_contact() -> pl.Expr:
    """A customer contact: an event on a customer-facing channel (any but ``internal``),
    unless the events' ``is_contact`` column (rows the mapping marks) says otherwise.

    An event without a channel is a step, not a contact: a ticket system's status
    updates or a plain process log have no contacts unless the mapping marks some. A
    frame without the ``is_contact`` column is read by its channel alone (the regular
    expression selects no column then)."""
    channel = pl.col("channel")
    by_channel = channel.is_not_null() & ~channel.is_in(CONTACT_CHANNELS_EXCLUDED)
    return pl.coalesce(pl.col("^is_contact$"), by_channel)


@dataclass(frozen=True)
class Nps:
    """Net Promoter Score = 100 x (promoters - detractors) / answers.

    Promoters answer 9-10, detractors 0-6. ``se`` is its standard error,
    ``100 x sqrt((p + d - (p - d)^2) / n)`` for promoter share p and detractor share d.
    """

    score: float
    promoters: float
    detractors: float
    answers: int

    @property
    def se(self) -> float:
        p, d = self.promoters, self.detractors
        return 100 * math.sqrt((p + d - (p - d) ** 2) / self.answers)


def nps(scores: pl.Series) -> Nps | None:
    """NPS of 0..10 answers (nulls ignored); ``None`` without answers."""
    answers = scores.drop_nulls()
    if answers.is_empty():
        return None
    p = float((answers >= 9).mean())
    d = float((answers <= 6).mean())
    return Nps(100 * (p - d), p, d, answers.len())


@dataclass(frozen=True)
class ClassicMetrics:
    """What a classic CX report shows, with how each number was measured.

    * ``sla``: share of offered contacts answered within the target. From ``acd``:
      sum(answered_in_target) / sum(offered), abandoned contacts count as misses. Without
      ``acd``: phone requests with a recorded wait, share with ``wait_s`` <= target.
    * ``csat``: mean of 1..5 answers; ``nps``: see :class:`Nps`.
    * ``contacts``: customer-facing events (see :func:`is_contact`); per case as well.
    * ``aht_s``: average handling time, answered-weighted from ``acd`` where present,
      else the mean ``handle_s`` of customer-facing events.
    * churn: the last full month's rate and the first one's (see
      :func:`analytics.churn.monthly_churn`); ``active_customers`` and their
      ``monthly_revenue`` as :func:`analytics.measures.customer_base` counts them.

    Sums of floats are exact (:func:`analytics.measures.fsum`): the row order of the
    exports does not change a digit.
    """

    sla: float | None
    sla_source: str
    csat: float | None
    csat_answers: int
    nps: Nps | None
    cases: int
    contacts: int
    contacts_per_case: float | None
    aht_s: float | None
    aht_source: str
    churn_first: float | None
    churn_last: float | None
    active_customers: int | None
    monthly_revenue: float | None
    revenue_lost_last_month: float | None


def classic_metrics(dataset: Dataset) -> ClassicMetrics:
    """Compute :class:`ClassicMetrics` for a dataset."""
    events, acd, surveys = dataset.events, dataset.acd, dataset.surveys
    target = dataset.settings.sla_target_s
    if (
        acd is not None
        and acd["offered"].sum() > 0
        and acd["answered_in_target"].null_count() < acd.height
    ):
        sla: float | None = acd["answered_in_target"].sum() / acd["offered"].sum()
        sla_source = "acd: answered in target / offered (abandoned count as misses)"
    else:
        waits = events.filter((pl.col("channel") == "phone") & pl.col("wait_s").is_not_null())[
            "wait_s"
        ]
        sla = float((waits <= target).mean()) if waits.len() else None
        sla_source = f"events: phone waits <= {target:g} s"
    csat_values = (
        surveys["csat"].drop_nulls() if surveys is not None else pl.Series([], dtype=pl.Int64)
    )
    contacts = events.filter(is_contact())
    cases = events["case_id"].n_unique()
    if acd is not None and acd["aht_s"].null_count() < acd.height and acd["answered"].sum() > 0:
        weighted = acd.filter(pl.col("aht_s").is_not_null())
        aht: float | None = fsum(weighted["aht_s"] * weighted["answered"]) / fsum(
            weighted["answered"]
        )
        aht_source = "acd: answered-weighted AHT"
    else:
        handle = contacts["handle_s"].drop_nulls()
        aht = fsum(handle) / handle.len() if handle.len() else None
        aht_source = "events: mean handle_s of contacts"
    churn_first = churn_last = revenue_lost = None
    table = dataset_churn(dataset)
    if table is not None and table.height:
        churn_first = float(table["churn_rate"][0])
        churn_last = float(table["churn_rate"][-1])
        revenue_lost = float(table["revenue_lost"][-1])
    base = customer_base(dataset)
    return ClassicMetrics(
        sla=sla,
        sla_source=sla_source,
        csat=float(csat_values.mean()) if csat_values.len() else None,  # type: ignore[arg-type]
        csat_answers=csat_values.len(),
        nps=nps(surveys["nps"]) if surveys is not None else None,
        cases=cases,
        contacts=contacts.height,
        contacts_per_case=contacts.height / cases if cases else None,
        aht_s=aht,
        aht_source=aht_source,
        churn_first=churn_first,
        churn_last=churn_last,
        active_customers=base.customers if base else None,
        monthly_revenue=base.revenue if base else None,
        revenue_lost_last_month=revenue_lost,
    )


def monthly_story(dataset: Dataset) -> pl.DataFrame:
    """Per month: the classic metrics (SLA, CSAT, NPS) beside the churn rate.

    Same definitions as :class:`ClassicMetrics`, per calendar month; churn with its
    Wilson interval (``churn_low``/``churn_high``). Months without a source stay null.
    """
    month = pl.col("month")
    parts: list[pl.DataFrame] = []
    acd = dataset.acd
    if acd is not None and acd.height:
        parts.append(
            acd.group_by(pl.col("interval_start").dt.truncate("1mo").dt.date().alias("month")).agg(
                (pl.col("answered_in_target").sum() / pl.col("offered").sum()).alias("sla")
            )
        )
    surveys = dataset.surveys
    if surveys is not None and surveys.height:
        parts.append(
            surveys.group_by(pl.col("date").dt.truncate("1mo").alias("month")).agg(
                pl.col("csat").mean().alias("csat"),
                (100 * ((pl.col("nps") >= 9).mean() - (pl.col("nps") <= 6).mean())).alias("nps"),
            )
        )
    churn = dataset_churn(dataset)
    if churn is not None:
        parts.append(
            churn.select(
                "month",
                pl.col("churn_rate").alias("churn"),
                pl.col("low").alias("churn_low"),
                pl.col("high").alias("churn_high"),
            )
        )
    if not parts:
        return pl.DataFrame(schema={"month": pl.Date})
    story = parts[0]
    for part in parts[1:]:
        story = story.join(part, on="month", how="full", coalesce=True)
    return story.sort(month)
