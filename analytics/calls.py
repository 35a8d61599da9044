"""Per-call ACD records: the interval service-level report derived from them.

Conventions (the same on the page, in the CLI and in the README):

* a call is **offered** when it was answered, or abandoned after waiting more than
  ``short_abandon_s`` in the queue (default 0: a caller who hung up with zero queue wait
  never reached an agent queue; they left in the IVR). Outcome ``other`` (phantom,
  transferred out of the IVR...) is never offered;
* **abandoned** = the offered calls that were not answered;
* **service level** = answered with ``wait_s <= target_s`` / offered;
* **ASA** = mean queue wait of the answered calls (zero waits included);
* **AHT** = mean of talk (+ wrap, + hold where the export gives them) of the answered calls;
* **agents** = distinct agents who answered in the interval: a proxy for the staffed
  agents (idle agents are invisible), so a roster or an interval report's agents wins;
* **patience** (for Erlang A) = the sum of queue waits of the offered calls / the number
  abandoned: the maximum-likelihood mean of exponential patience when answered calls are
  censored at their wait.

An interval is the call's arrival (queue entry) truncated to ``interval_min`` minutes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

from analytics.schema import Settings
from analytics.sla import interval_seconds, realized, summary

OUTCOMES_OFFERED = ("answered", "abandoned")


def offered_flags(short_abandon_s: float) -> list[pl.Expr]:
    """``_answered``, ``_abandoned`` and ``_offered`` flags per call (module docstring)."""
    answered = pl.col("outcome") == "answered"
    abandoned = (pl.col("outcome") == "abandoned") & (pl.col("wait_s") > short_abandon_s)
    return [
        answered.alias("_answered"),
        abandoned.alias("_abandoned"),
        (answered | abandoned).alias("_offered"),
    ]


def _handle() -> pl.Expr:
    # talk + wrap + hold, the parts an export gives (a missing part counts as 0 s)
    return pl.sum_horizontal(
        pl.col("talk_s").fill_null(0), pl.col("wrap_s").fill_null(0), pl.col("hold_s").fill_null(0)
    )


def interval_report(
    calls: pl.DataFrame,
    interval_min: float = 30,
    target_s: float = 20,
    short_abandon_s: float = 0,
) -> pl.DataFrame:
    """The ``acd`` interval report of per-call records, by queue and interval.

    Columns: ``interval_start``, ``queue``, ``offered``, ``answered``, ``abandoned``,
    ``answered_in_target``, ``target_answer_s``, ``asa_s``, ``aht_s``, ``wait_total_s``,
    ``agents`` (see the module docstring for each). Intervals without an offered call are
    left out: the report covers when calls came, and a missing interval is not a zero.

    Examples
    --------
    >>> import datetime as dt
    >>> calls = pl.DataFrame({
    ...     "queue": ["a", "a", "a"],
    ...     "arrived_at": [dt.datetime(2024, 1, 1, 9, 5)] * 3,
    ...     "wait_s": [10.0, 0.0, 30.0], "outcome": ["answered", "abandoned", "abandoned"],
    ...     "talk_s": [100.0, None, None], "agent": ["x", None, None],
    ... })
    >>> interval_report(calls).select("offered", "answered", "abandoned", "wait_total_s").row(0)
    (2, 1, 1, 40.0)
    """
    calls = _complete(calls)
    answered, abandoned, offered = offered_flags(short_abandon_s)
    every = f"{int(interval_min * 60)}s"
    return (
        calls.lazy()
        .with_columns(answered, abandoned, offered)
        .filter(pl.col("_offered"))
        .with_columns(
            pl.col("arrived_at").dt.truncate(every).alias("interval_start"),
            pl.col("queue").fill_null("all"),
        )
        .group_by("interval_start", "queue")
        .agg(
            pl.len().cast(pl.Int64).alias("offered"),
            pl.col("_answered").sum().cast(pl.Int64).alias("answered"),
            pl.col("_abandoned").sum().cast(pl.Int64).alias("abandoned"),
            (pl.col("_answered") & (pl.col("wait_s") <= target_s))
            .sum()
            .cast(pl.Int64)
            .alias("answered_in_target"),
            pl.col("wait_s").filter(pl.col("_answered")).mean().alias("asa_s"),
            _handle().filter(pl.col("_answered")).mean().alias("aht_s"),
            pl.col("wait_s").sum().alias("wait_total_s"),
            pl.col("agent")
            .filter(pl.col("_answered") & pl.col("agent").is_not_null())
            .n_unique()
            .cast(pl.Float64)
            .alias("agents"),
        )
        .with_columns(pl.lit(float(target_s)).alias("target_answer_s"))
        .sort("queue", "interval_start")
        .collect()
    )


def _complete(calls: pl.DataFrame) -> pl.DataFrame:
    optional = {
        "queue": pl.String,
        "talk_s": pl.Float64,
        "wrap_s": pl.Float64,
        "hold_s": pl.Float64,
        "agent": pl.String,
    }
    return calls.with_columns(
        pl.lit(None, dtype).alias(name) for name, dtype in optional.items() if name not in calls
    )


@dataclass(frozen=True)
class ServiceLevel:
    """Totals of an interval report (each rate over the calls it is a rate of).

    service_level = sum answered_in_target / sum offered; abandonment = sum abandoned / sum
    offered; ASA = sum(asa x answered) / sum answered; AHT the same with aht; patience =
    sum wait_total_s / sum abandoned (``None`` where the report lacks the waits).
    """

    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    asa_s: float | None
    aht_s: float | None
    abandonment: float | None
    patience_s: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def service_level(report: pl.DataFrame) -> ServiceLevel:
    """Totals of an ``acd`` report (derived or exported): the rates are
    :func:`analytics.sla.summary`'s, the one definition the Forecasts page shows too, plus
    the counts and the patience of :class:`ServiceLevel`."""
    rows = realized(report)  # abandoned = offered - answered where the export lacks it
    totals = summary(rows, interval_seconds(report))
    abandoned = int(rows["abandoned"].sum())
    waits = report["wait_total_s"] if "wait_total_s" in report.columns else None
    known = waits is not None and waits.null_count() < waits.len()
    return ServiceLevel(
        offered=totals.offered,
        answered=int(rows["answered"].sum()),
        abandoned=abandoned,
        service_level=totals.service_level,
        asa_s=totals.asa_s,
        aht_s=totals.aht_s,
        abandonment=totals.abandon_rate,
        patience_s=float(waits.sum()) / abandoned if known and abandoned else None,  # type: ignore[union-attr]
    )


def report_for(calls: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """:func:`interval_report` under a dataset's settings (interval, target, short abandons)."""
    return interval_report(
        calls, settings.interval_min, settings.sla_target_s, settings.short_abandon_s
    )


def call_events(calls: pl.DataFrame) -> pl.DataFrame:
    """Calls with a known customer as ``events`` rows (a one-step phone case each), so they
    count as phone contacts in the cost and risk views. Unidentified callers are left out."""
    known = calls.filter(pl.col("customer_id").is_not_null()) if "customer_id" in calls else None
    if known is None or known.is_empty():
        return pl.DataFrame()
    known = _complete(known).with_row_index("_n")
    call_id = pl.col("call_id") if "call_id" in known.columns else pl.lit(None, pl.String)
    return known.select(
        # call ids may repeat across lines: the row number keeps each call its own case
        pl.concat_str(
            pl.lit("call:"), call_id.fill_null(""), pl.lit("#"), pl.col("_n").cast(pl.String)
        ).alias("case_id"),
        "customer_id",
        pl.col("arrived_at").alias("timestamp"),
        pl.lit("call").alias("activity"),
        pl.lit("phone").alias("channel"),
        pl.col("wait_s"),
        pl.when(pl.col("outcome") == "answered").then(_handle()).alias("handle_s"),
        pl.when(pl.col("outcome") == "answered").then(pl.col("agent")).alias("resource"),
        pl.col("outcome")
        .replace_strict({"answered": "resolved", "abandoned": "abandoned"}, default=None)
        .alias("outcome"),
        pl.lit(True).alias("is_contact"),
    )
