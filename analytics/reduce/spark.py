"""The reduce stage as a Spark job: the tables of :mod:`analytics.reduce.tables` from
canonical Parquet, for events that outgrow one machine.

Input: a folder of canonical tables as :mod:`analytics.reduce.layout` writes them (or as
an ETL writes them into a lake): ``events.parquet`` and, when there are per-call records,
``calls.parquet`` (each a file or a folder of part files), and ``settings.toml``. The
tables are loader-clean: canonical column names and types, placeholder customer ids
already nulled.

Every rule is the one of the Polars engine, restated in Spark's terms (the tests assert
identical tables on the sample company and on a status-update log):

* export order: the events' files by name, then each row's position in its file
  (Parquet's ``_metadata.row_index``); the calls' phone contacts come after the events,
  as the loader appends them; the events of a case are ordered by timestamp, then export
  order, and read to the whole second;
* what depends on the channel alone (rate, contact, meeting, human channel) and on the
  activity alone (approval, closing state) is worked out by the Polars expressions on the
  few distinct values, then joined on;
* a nearest-rank quantile, as Polars' default: the value at rank round((n - 1) q);
* the risk snapshots: the cut-offs are decided on the driver by the model's own rules
  (from the customers' outcome columns and the events' first and last times), then each
  event joins the look-back windows it falls in (a few), and the customers active at each
  cut-off get :func:`analytics.risk_features.features`, restated rule by rule.

Sums of money are added in another order than Polars adds them: they agree to the last
few bits, not bit for bit. Spark runs with the local master by default, without its UI and
bound to 127.0.0.1; ``master`` sends it to a cluster.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from analytics.cases import SELF_LOOP_SHARE, Loops
from analytics.cost import CLOSING_STATES, REOPEN_DAYS, TAGS
from analytics.parsing import output_dtype
from analytics.process import SEP
from analytics.reduce.layout import REDUCED
from analytics.reduce.tables import (
    ORDER,
    SCHEMAS,
    activity_sets,
    channel_lookup,
    complaints,
    conform,
    snapshot_cutoffs,
)
from analytics.risk_features import FEATURES, LOOKBACK_DAYS, RECENT_DAYS
from analytics.schema import TABLES, Settings

MICROS = 1_000_000
# The calls' phone contacts come after every event in export order.
EVENTS, CALLS = 0, 1

_SPARK_TYPES = {
    pl.String: "string",
    pl.Float64: "double",
    pl.Int64: "bigint",
    pl.Boolean: "boolean",
    pl.Datetime: "timestamp_ntz",
    pl.Date: "date",
    pl.List: "array<string>",  # the variants' paths, the one list column
}


def session(
    master: str = "local[2]", partitions: int = 4, conf: dict[str, str] | None = None
) -> SparkSession:
    """A Spark session for the reduce: no UI, no console progress, UTC session time (the
    events' timestamps are naive wall-clock times); a local master binds to 127.0.0.1 and
    shuffles into ``partitions`` parts (a cluster keeps its own setting); ``conf`` adds
    settings."""
    builder = (
        SparkSession.builder.master(master)
        .appName("cx-radar reduce")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if master.startswith("local"):
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", str(partitions))
        )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _spark_type(dtype: pl.DataType) -> str:
    return _SPARK_TYPES[dtype.base_type()]  # type: ignore[index]


def _small(spark: SparkSession, frame: pl.DataFrame) -> DataFrame:
    """A few rows made on the driver as a Spark table (plain rows: no pandas, no Arrow)."""
    schema = ", ".join(f"`{name}` {_spark_type(t)}" for name, t in frame.schema.items())
    return spark.createDataFrame(frame.rows(), schema)


def _read(spark: SparkSession, path: Path, table: str, source: int) -> DataFrame:
    """A canonical table with every canonical column (absent ones as typed nulls) and
    ``_order``: its export order, (``source``, file path, row in the file)."""
    raw = spark.read.parquet(str(path))
    present = set(raw.columns)
    columns = [
        F.col(c.name).cast(_spark_type(output_dtype(c)))
        if c.name in present
        else F.lit(None).cast(_spark_type(output_dtype(c))).alias(c.name)
        for c in TABLES[table].columns
    ]
    order = F.struct(
        F.lit(source).alias("source"),
        F.col("_metadata.file_path").alias("file"),
        F.col("_metadata.row_index").alias("row"),
    )
    return raw.select(*columns, order.alias("_order"))


def _seconds(timestamp: Column) -> Column:
    """Whole seconds since the epoch, rounded down (as the Polars steps read time)."""

    micros = F.unix_micros(timestamp.cast("timestamp"))
    return ((micros - F.pmod(micros, F.lit(MICROS))) / MICROS).cast("bigint")


def _time(seconds: Column) -> Column:

    return F.timestamp_seconds(seconds).cast("timestamp_ntz")


def _call_events(calls: DataFrame) -> DataFrame:
    """The calls of known customers as one-step phone cases, after the events in export
    order (as :func:`analytics.calls.call_events` and the loader make them)."""

    answered = F.col("outcome") == "answered"
    handle = sum(
        (F.coalesce(F.col(c), F.lit(0.0)) for c in ("talk_s", "wrap_s", "hold_s")), F.lit(0.0)
    )
    # The call's number among the known calls: one ordered pass (calls are far fewer than
    # events; a bank's year of calls still fits one partition's sort).
    number = F.row_number().over(Window.orderBy("_order")) - 1
    return calls.filter(F.col("customer_id").isNotNull()).select(
        F.concat(
            F.lit("call:"), F.coalesce("call_id", F.lit("")), F.lit("#"), number.cast("string")
        ).alias("case_id"),
        "customer_id",
        F.col("arrived_at").alias("timestamp"),
        F.lit("call").alias("activity"),
        F.lit("phone").alias("channel"),
        F.lit(None).cast("string").alias("scenario"),
        "wait_s",
        F.when(answered, handle).alias("handle_s"),
        F.when(answered, F.col("agent")).alias("resource"),
        F.when(answered, F.lit("resolved"))
        .when(F.col("outcome") == "abandoned", F.lit("abandoned"))
        .alias("outcome"),
        F.lit(None).cast("boolean").alias("is_manual"),
        F.lit(None).cast("double").alias("cost"),
        F.lit(True).alias("is_contact"),
        F.lit(None).cast("bigint").alias("reopen_count"),
        F.col("_order").withField("source", F.lit(CALLS)).alias("_order"),
    )


def _steps(events: DataFrame) -> DataFrame:
    """Every event as a step of its case: ``step`` (0-based, in case order), ``sec``
    (whole seconds), ``loop`` (same activity as the step before: a self-loop) and
    ``repeat`` (the activity was done earlier in the case)."""

    case = Window.partitionBy("case_id").orderBy("timestamp", "_order")
    again = Window.partitionBy("case_id", "activity").orderBy("timestamp", "_order")
    return (
        events.withColumn("customer_id", F.coalesce("customer_id", "case_id"))
        .withColumns(
            {
                "sec": _seconds(F.col("timestamp")),
                "step": F.row_number().over(case) - 1,
                "prev": F.lag("activity").over(case),
                "repeat": F.row_number().over(again) > 1,
            }
        )
        .withColumn("loop", F.coalesce(F.col("prev") == F.col("activity"), F.lit(False)))
    )


@dataclass(frozen=True)
class _Found:
    """What the steps hold that the driver decides on: the self-loops, the distinct
    channels and activities, and whether some event has the ticket system's reopen counter."""

    loops: Loops
    channels: list[str]
    activities: list[str]
    counter: bool


def _found(steps: DataFrame, collapse: bool | None) -> _Found:
    """One pass over the steps: the self-loops, as :func:`analytics.cases.self_loops`
    counts them, and the distinct values."""
    row = steps.agg(
        F.sum(F.col("loop").cast("bigint")).alias("loops"),
        F.count(F.lit(1)).alias("steps"),
        F.sum((F.col("step") == 0).cast("bigint")).alias("cases"),
        F.collect_set("channel").alias("channels"),
        F.collect_set("activity").alias("activities"),
        F.count("reopen_count").alias("counters"),
    ).first()
    loops, transitions = (row["loops"] or 0), row["steps"] - (row["cases"] or 0)
    share = loops / transitions if transitions else 0.0
    collapsed = share > SELF_LOOP_SHARE if collapse is None else collapse
    return _Found(
        Loops(share, collapsed),
        sorted(row["channels"]),
        sorted(row["activities"]),
        row["counters"] > 0,
    )


def _costed(
    steps: DataFrame, channels: list[str], settings: Settings, spark: SparkSession
) -> DataFrame:
    """The steps with ``event_cost``, ``contact``, ``manual``, ``meeting`` and
    ``human_channel`` (the formula of :mod:`analytics.cost`)."""

    lookup = channel_lookup(channels, settings).rename(lambda c: f"lk_{c}")
    table = _small(spark, lookup)
    joined = steps.join(
        F.broadcast(table), steps["channel"].eqNullSafe(table["lk_channel"]), "left"
    )
    contact = F.coalesce("is_contact", "lk_contact")
    meeting = F.col("lk_meeting")
    manual = F.coalesce("is_manual", F.lit(False))
    fixed = F.when(contact, settings.cost_per_contact).otherwise(0.0) + F.when(
        meeting, settings.cost_per_meeting
    ).otherwise(0.0)
    modelled = (
        F.coalesce("handle_s", F.lit(0.0)) / 60 * F.col("lk_rate")
        + fixed
        + F.when(manual, settings.cost_per_manual_step).otherwise(0.0)
    )
    return joined.withColumns(
        {
            "event_cost": F.coalesce("cost", modelled),
            "contact": contact,
            "manual": manual,
            "meeting": meeting,
            "human_channel": F.col("lk_human_channel"),
            "promised": F.col("lk_promised"),
        }
    )


def _ping_pongs(steps: DataFrame) -> DataFrame:
    """Per case, ``backs``: returns to the resource held two hand-offs before, on the
    sequence of distinct consecutive known resources."""

    case = Window.partitionBy("case_id").orderBy("timestamp", "_order")
    known = steps.filter(F.col("resource").isNotNull()).select(
        "case_id", "timestamp", "_order", "resource"
    )
    changed = known.withColumn("before", F.lag("resource").over(case)).filter(
        F.col("before").isNull() | (F.col("before") != F.col("resource"))
    )
    back = F.lag("resource", 2).over(case) == F.col("resource")
    return (
        changed.withColumn("back", F.coalesce(back, F.lit(False)))
        .groupBy("case_id")
        .agg(F.sum(F.col("back").cast("bigint")).alias("backs"))
    )


def _nearest_quantile(value: str, by: str, q: float) -> Column:
    """Per ``by`` group, the nearest-rank ``q`` quantile of ``value``: the value at 0-based
    rank round((n - 1) q), halves up (Polars' default ``quantile``)."""

    group = Window.partitionBy(by)
    rank = F.row_number().over(Window.partitionBy(by).orderBy(value)) - 1
    at = F.round((F.count(F.lit(1)).over(group) - 1).cast("double") * q)
    return F.max(F.when(rank == at, F.col(value))).over(group)


def _path_steps(steps: DataFrame, collapsed: bool) -> DataFrame:
    """The steps on the paths (self-loops left out when ``collapsed``), each with the next
    step's activity, time and ``repeat``."""

    case = Window.partitionBy("case_id").orderBy("timestamp", "_order")
    kept = steps.filter(~F.col("loop")) if collapsed else steps
    return kept.select(
        "case_id",
        "activity",
        "sec",
        "timestamp",
        "_order",
        (F.row_number().over(case) - 1).alias("path_step"),
        F.lead("activity").over(case).alias("next_activity"),
        F.lead("sec").over(case).alias("next_sec"),
        F.lead("repeat").over(case).alias("next_repeat"),
    )


def _cases(
    costed: DataFrame,
    path: DataFrame,
    approvals: list[str],
    closing: list[str],
    collapsed: bool,
    counter: bool,
) -> DataFrame:
    """One row per case: the columns of ``cases`` in :mod:`analytics.reduce.tables`."""

    bot = F.col("activity") == "bot"
    repeated = F.col("repeat") & ~bot & (~F.col("loop") if collapsed else F.lit(True))
    reopened = (F.col("step") > 0) & F.col("prev").isin(closing) & ~F.col("activity").isin(closing)
    per_case = costed.groupBy("case_id").agg(
        F.min(F.struct("step", "customer_id"))["customer_id"].alias("customer_id"),
        F.min(F.when(F.col("scenario").isNotNull(), F.struct("step", "scenario")))[
            "scenario"
        ].alias("scenario"),
        F.min("sec").alias("start_sec"),
        F.max("sec").alias("end_sec"),
        F.sum("event_cost").alias("cost"),
        F.sum(F.col("contact").cast("bigint")).alias("contacts"),
        F.bit_count(F.bit_or("human_channel")).alias("channels"),
        F.sum(F.col("manual").cast("bigint")).alias("manual_steps"),
        F.sum(F.col("meeting").cast("bigint")).alias("meetings"),
        F.sum((bot & (F.col("prev") == "bot")).cast("bigint")).alias("bot_pairs"),
        F.max(repeated).alias("repeated_step"),
        F.sum(reopened.cast("bigint")).alias("reopen_steps"),
        F.max(F.coalesce("reopen_count", F.lit(-1))).alias("counter"),
    )
    # Approvals that waited longer for the next step on the path than the scenario's
    # nearest-rank 90th percentile of such waits.
    waits = (
        path.filter(F.col("activity").isin(approvals) & F.col("next_sec").isNotNull())
        .join(per_case.select("case_id", "scenario"), "case_id")
        .withColumn("wait", F.col("next_sec") - F.col("sec"))
        .withColumn("threshold", _nearest_quantile("wait", "scenario", 0.9))
        .groupBy("case_id")
        .agg(F.max(F.col("wait") > F.col("threshold")).alias("long_approval"))
    )
    on_path = path.groupBy("case_id").agg(
        F.sort_array(F.collect_list(F.struct("path_step", "activity")))["activity"].alias("path"),
        F.count(F.lit(1)).alias("steps"),
        (F.max("sec") - F.min("sec")).alias("path_duration_s"),
    )
    reopens = (
        F.when(F.col("counter") >= 0, F.col("counter")).otherwise(F.col("reopen_steps"))
        if counter
        else F.col("reopen_steps")
    )
    # A return: the same customer's previous case of the same scenario (by start) ended
    # at most REOPEN_DAYS before this one started.
    chain = Window.partitionBy("customer_id", "scenario").orderBy("start_sec", "case_id")
    returned = F.col("start_sec") - F.lag("end_sec").over(chain) <= REOPEN_DAYS * 86400
    cases = (
        per_case.join(_ping_pongs(costed), "case_id", "left")
        .join(waits, "case_id", "left")
        .join(on_path, "case_id")
        .withColumns(
            {
                "reopens": reopens,
                "channel_hopping": F.col("channels") >= 2,
                "repeat_return": F.col("repeated_step") | F.coalesce(returned, F.lit(False)),
                "reopen": reopens > 0,
                "non_standard": F.col("manual_steps") > 0,
                "long_approval": F.coalesce("long_approval", F.lit(False)),
                "bot_loop": F.col("bot_pairs") >= 2,
                "ping_pong": F.coalesce("backs", F.lit(0)) >= 2,
                "start": _time(F.col("start_sec")),
                "end": _time(F.col("end_sec")),
                "duration_s": F.col("end_sec") - F.col("start_sec"),
                "variant": F.array_join("path", SEP),
            }
        )
    )
    return cases


def _variants(cases: DataFrame) -> DataFrame:

    total = F.sum("cases").over(Window.partitionBy())
    running = Window.orderBy(F.desc("cases"), "variant").rowsBetween(
        Window.unboundedPreceding, Window.currentRow
    )
    return (
        cases.groupBy("variant")
        .agg(
            F.first("path").alias("path"),
            F.count(F.lit(1)).alias("cases"),
            F.first("steps").alias("steps"),
            F.median("path_duration_s").alias("median_duration_s"),
            F.median("cost").alias("median_cost"),
        )
        .withColumns(
            {
                "share": F.col("cases") / total,
                "cumulative_share": F.sum("cases").over(running) / total,
            }
        )
    )


def _dfg(path: DataFrame) -> DataFrame:

    moves = path.filter(F.col("next_activity").isNotNull())
    return (
        moves.groupBy(F.col("activity").alias("source"), F.col("next_activity").alias("target"))
        .agg(
            F.count(F.lit(1)).alias("count"),
            F.countDistinct("case_id").alias("cases"),
            F.median(F.col("next_sec") - F.col("sec")).alias("median_s"),
            F.sum(F.col("next_repeat").cast("bigint")).alias("repeats"),
        )
        .withColumn("rework_share", F.col("repeats") / F.col("count"))
        .withColumn("rework", F.col("rework_share") >= 0.5)
    )


def _tags(cases: DataFrame) -> pl.DataFrame:
    """:func:`analytics.cost.tag_costs` of the cases: one pass of conditional sums."""

    untagged = ~F.greatest(*(F.col(t) for t in TAGS))
    standard = (
        cases.filter(untagged)
        .groupBy(F.col("scenario").alias("standard_scenario"))
        .agg(F.avg("cost").alias("standard_cost"))
    )
    priced = cases.join(
        standard, cases["scenario"].eqNullSafe(standard["standard_scenario"]), "left"
    ).withColumn("excess", F.col("cost") - F.col("standard_cost"))
    sums = [F.count(F.lit(1)).alias("total")]
    for tag in TAGS:
        on = F.col(tag)
        sums += [
            F.count(F.when(on, 1)).alias(f"{tag}.cases"),
            F.avg(F.when(on, F.col("cost"))).alias(f"{tag}.mean_cost"),
            F.avg(F.when(on, F.col("excess"))).alias(f"{tag}.extra_per_case"),
            F.coalesce(F.sum(F.when(on, F.col("excess"))), F.lit(0.0)).alias(f"{tag}.at_stake"),
        ]
    row = priced.agg(*sums).first().asDict()
    total = row["total"]
    rows = [
        {
            "tag": tag,
            "cases": row[f"{tag}.cases"],
            "share": row[f"{tag}.cases"] / total if total else 0.0,
            "mean_cost": row[f"{tag}.mean_cost"],
            "extra_per_case": row[f"{tag}.extra_per_case"],
            "at_stake": row[f"{tag}.at_stake"],
        }
        for tag in TAGS
    ]
    return pl.DataFrame(rows, schema=SCHEMAS["tags"])


def _intervals(calls: DataFrame, settings: Settings) -> DataFrame:
    """:func:`analytics.calls.interval_report` of the calls under the settings."""

    answered = F.col("outcome") == "answered"
    abandoned = (F.col("outcome") == "abandoned") & (F.col("wait_s") > settings.short_abandon_s)
    every = int(settings.interval_min * 60) * MICROS
    micros = F.unix_micros(F.col("arrived_at").cast("timestamp"))
    start = F.timestamp_micros(micros - F.pmod(micros, F.lit(every))).cast("timestamp_ntz")
    handle = sum(
        (F.coalesce(F.col(c), F.lit(0.0)) for c in ("talk_s", "wrap_s", "hold_s")), F.lit(0.0)
    )
    offered = calls.withColumns({"_answered": answered, "_abandoned": abandoned}).filter(
        F.col("_answered") | F.col("_abandoned")
    )
    return (
        offered.groupBy(
            start.alias("interval_start"), F.coalesce("queue", F.lit("all")).alias("queue")
        )
        .agg(
            F.count(F.lit(1)).alias("offered"),
            F.sum(F.col("_answered").cast("bigint")).alias("answered"),
            F.sum(F.col("_abandoned").cast("bigint")).alias("abandoned"),
            F.count(
                F.when(F.col("_answered") & (F.col("wait_s") <= settings.sla_target_s), 1)
            ).alias("answered_in_target"),
            F.avg(F.when(F.col("_answered"), F.col("wait_s"))).alias("asa_s"),
            F.avg(F.when(F.col("_answered"), handle)).alias("aht_s"),
            F.coalesce(F.sum("wait_s"), F.lit(0.0)).alias("wait_total_s"),
            F.countDistinct(
                F.when(F.col("_answered") & F.col("agent").isNotNull(), F.col("agent"))
            ).alias("agents"),
        )
        .withColumn("target_answer_s", F.lit(float(settings.sla_target_s)))
    )


def _windows(spark: SparkSession, dates: dict[str, list[dt.date]]) -> DataFrame:
    """The snapshot cut-offs as a few rows: ``cutoff``, ``role`` and the look-back's
    bounds ``from_ts`` (included), ``recent_ts`` (its last ``RECENT_DAYS``) and ``to_ts``
    (excluded), as :func:`analytics.risk_features.features` draws them."""
    rows = []
    for role, days in dates.items():
        for cutoff in days:
            end = dt.datetime.combine(cutoff, dt.time())
            back = [end - dt.timedelta(days=d) for d in (LOOKBACK_DAYS, RECENT_DAYS)]
            rows.append((cutoff, role, *back, end))
    names = {"cutoff": pl.Date, "role": pl.String}
    times = {n: pl.Datetime("us") for n in ("from_ts", "recent_ts", "to_ts")}
    return _small(spark, pl.DataFrame(rows, schema={**names, **times}, orient="row"))


def _modes(window: DataFrame, key: list[str]) -> DataFrame:
    """Per ``key``, the commonest non-null ``scenario`` of the events and ``channel`` of
    the contacts; of tied values the first in sort order (``mode().sort().first()``)."""

    kinds = ("scenario", "channel")
    values = F.array(
        F.struct(F.lit("scenario").alias("kind"), F.col("scenario").alias("value")),
        F.struct(
            F.lit("channel").alias("kind"),
            F.when(F.col("contact"), F.col("channel")).alias("value"),
        ),
    )
    counted = (
        window.select(*key, F.inline(values).alias("kind", "value"))
        .filter(F.col("value").isNotNull())
        .groupBy(*key, "kind", "value")
        .count()
    )
    # The commonest, then the first in sort order: the least (-count, value).
    best = F.struct((-F.col("count")).alias("rank"), F.col("value").alias("value"))
    return counted.groupBy(*key).agg(
        *(F.min(F.when(F.col("kind") == k, best))["value"].alias(k) for k in kinds)
    )


def _last_answers(surveys: DataFrame, windows: DataFrame, key: list[str]) -> DataFrame:
    """Per cut-off and customer, the last NPS and CSAT answers before the cut-off: the
    greatest by date, case and value (as :func:`analytics.risk_features.features` orders
    them, nulls first)."""

    answered = surveys.join(F.broadcast(windows), F.col("date") < F.col("cutoff"))
    # Spark orders structs field by field, a null before any value: the greatest is the
    # last answer.
    answer = F.struct(*(F.col(k) for k in ("date", "case_id", "nps", "csat")))
    return answered.groupBy(*key).agg(
        *(
            F.max(F.when(F.col(c).isNotNull(), answer))[c].cast("double").alias(c)
            for c in ("nps", "csat")
        )
    )


def _features(
    costed: DataFrame,
    cases: DataFrame,
    customers: DataFrame,
    surveys: DataFrame | None,
    windows: DataFrame,
    complained: list[str],
) -> DataFrame:
    """The risk model's per-customer features at each cut-off of ``windows``
    (:func:`analytics.risk_features.features`, rule by rule): the events and cases of the
    look-back, joined onto the customers active at the cut-off."""

    key = ["cutoff", "customer_id"]
    lookback = F.broadcast(windows)
    within = (F.col("timestamp") >= F.col("from_ts")) & (F.col("timestamp") < F.col("to_ts"))
    window = costed.join(lookback, within)
    recent = F.col("timestamp") >= F.col("recent_ts")
    over = F.coalesce(F.col("wait_s") > F.col("promised"), F.lit(False)) & F.col("contact")
    scale = RECENT_DAYS / (LOOKBACK_DAYS - RECENT_DAYS)

    def count(flag: Column) -> Column:
        return F.sum(flag.cast("bigint"))

    # Counted per case first: a case's cases and whether it was resolved come with them.
    flags = {"contacts": F.col("contact"), "waits_over": over}
    complaint = F.col("activity").isin(complained) if complained else F.lit(False)
    per_case = window.groupBy(*key, "case_id").agg(
        *(count(flag & recent).alias(f"{name}_recent") for name, flag in flags.items()),
        *(count(flag & ~recent).alias(f"{name}_before") for name, flag in flags.items()),
        count(F.col("manual")).alias("manual_steps"),
        count(complaint).alias("complaints"),
        F.max(F.coalesce(F.col("outcome") == "resolved", F.lit(False))).alias("resolved"),
    )
    recent_sum, before_sum = (lambda n: F.sum(f"{n}_recent")), (lambda n: F.sum(f"{n}_before"))
    by_events = per_case.groupBy(*key).agg(
        *(
            column
            for name in flags
            for column in (
                (recent_sum(name) + before_sum(name)).alias(name),
                (recent_sum(name) - scale * before_sum(name)).alias(f"{name}_trend"),
            )
        ),
        F.sum("manual_steps").alias("manual_steps"),
        F.sum("complaints").alias("complaints"),
        F.count(F.lit(1)).alias("cases"),
        count(~F.col("resolved")).alias("unresolved_cases"),
    )
    started = (F.col("start") >= F.col("from_ts")) & (F.col("start") < F.col("to_ts"))
    # Summed in whole millionths, rounded half to even (Polars' round), as the model sums.
    millionths = F.bround(F.col("cost") * 1e6, 0).cast("bigint")
    by_cases = (
        cases.join(lookback, started)
        .groupBy(*key)
        .agg(
            count(F.col("channel_hopping")).alias("channel_hops"),
            count(F.col("bot_loop")).alias("bot_loops"),
            (F.sum(millionths) / 1e6).alias("cost_to_serve"),
        )
    )
    active = customers.join(
        lookback,
        (F.col("signup_date").isNull() | (F.col("signup_date") < F.col("cutoff")))
        & (F.col("churn_date").isNull() | (F.col("churn_date") >= F.col("cutoff"))),
    )
    frame = (
        active.join(by_events, key, "left")
        .join(_modes(window, key), key, "left")
        .join(by_cases, key, "left")
    )
    if surveys is not None:
        frame = frame.join(_last_answers(surveys, windows, key), key, "left")
    else:
        frame = frame.withColumns({c: F.lit(None).cast("double") for c in ("nps", "csat")})
    zero = F.lit(0.0)
    derived = {
        "repeat_contacts": F.greatest(
            F.coalesce("contacts", F.lit(0)) - F.coalesce("cases", F.lit(0)), F.lit(0)
        ),
        "tenure_days": F.coalesce(F.datediff("cutoff", "signup_date"), F.lit(0)),
        "monthly_revenue": F.coalesce("monthly_revenue", zero),
        "low_nps": F.coalesce(10 - F.col("nps"), zero),
        "low_csat": F.coalesce(5 - F.col("csat"), zero),
        "surveyed": F.col("nps").isNotNull() | F.col("csat").isNotNull(),
    }
    values = [
        (derived[c] if c in derived else F.coalesce(F.col(c), F.lit(0))).cast("double").alias(c)
        for c in FEATURES
    ]
    rest = ("segment", "region", "scenario", "channel", "churn_date")
    return frame.select("cutoff", "role", "customer_id", *values, *rest)


def _write(table: DataFrame, name: str, folder: Path) -> int:
    """``table`` in :data:`SCHEMAS` columns and :data:`ORDER` rows as one Parquet file,
    ``folder/<name>.parquet`` (``folder`` seen at the same path by the driver and the
    executors); its rows."""
    by, descending = ORDER[name]
    columns = [F.col(c).cast(_spark_type(t)).alias(c) for c, t in SCHEMAS[name].items()]
    order = [
        F.desc_nulls_last(c) if d else F.asc_nulls_last(c)
        for c, d in zip(by, descending, strict=True)
    ]
    single = table.select(*columns).repartition(1).sortWithinPartitions(*order)
    staging = folder / f".{name}.parts"
    single.write.mode("overwrite").parquet(str(staging))
    target = folder / f"{name}.parquet"
    (part,) = staging.glob("part-*.parquet")
    shutil.move(part, target)
    shutil.rmtree(staging)
    return pl.scan_parquet(target).select(pl.len()).collect().item()


def _collect(table: DataFrame | pl.DataFrame, name: str, folder: Path) -> int:
    """A small table brought to the driver and written as ``folder/<name>.parquet`` in
    :data:`SCHEMAS` columns and :data:`ORDER` rows; its rows."""
    frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table.toArrow())
    shaped = conform(name, frame)  # type: ignore[arg-type]
    shaped.write_parquet(folder / f"{name}.parquet")
    return shaped.height


def _snapshot_dates(
    path: Path, cases: DataFrame, settings: Settings
) -> dict[str, list[dt.date]] | None:
    """The risk snapshots' cut-offs (:func:`analytics.reduce.tables.snapshot_cutoffs`):
    the outcome columns of the customers at ``path`` read on the driver, the events'
    first and last times from the cases; None without customers or snapshots."""
    if not path.exists():
        return None
    table = pl.scan_parquet(path if path.is_file() else path / "*.parquet")
    present = table.collect_schema()
    outcome = [c for c in ("customer_id", "churn_date", "churned") if c in present]
    customers = table.select(outcome).collect()
    bounds = cases.agg(F.min("start").alias("first"), F.max("end").alias("last")).first()
    return snapshot_cutoffs(customers, bounds["first"], bounds["last"], settings)


def reduce_folder(
    spark: SparkSession,
    source: Path,
    out: Path,
    settings: Settings,
    collapse: bool | None = None,
    closing: tuple[str, ...] = CLOSING_STATES,
) -> tuple[Loops, dict[str, int]]:
    """The reduced tables of the canonical Parquet tables in ``source``, written into
    ``out/reduced`` (see :mod:`analytics.reduce.layout`); the self-loops found and each
    table's rows."""
    folder = out / REDUCED
    folder.mkdir(parents=True, exist_ok=True)
    events_path, calls_path = source / "events.parquet", source / "calls.parquet"
    calls = _read(spark, calls_path, "calls", CALLS) if calls_path.exists() else None
    parts = [_read(spark, events_path, "events", EVENTS)] if events_path.exists() else []
    if calls is not None:
        parts.append(_call_events(calls))
    rows: dict[str, int] = {}
    loops = Loops(0.0, False)
    if parts:
        events = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
        steps = _steps(events).persist()
        found = _found(steps, collapse)
        loops = found.loops
        approvals, closing_found = activity_sets(found.activities, closing)
        costed = _costed(steps, found.channels, settings, spark)
        path = _path_steps(steps, loops.collapsed).persist()
        cases = _cases(
            costed, path, approvals, closing_found, loops.collapsed, found.counter
        ).persist()
        rows["cases"] = _write(cases, "cases", folder)
        # The other tables have a row per variant, edge, tag or interval: few enough to
        # collect and write on the driver, sparing a Spark write job each.
        small = {"variants": _variants(cases), "dfg": _dfg(path), "tags": _tags(cases)}
        for name, table in small.items():
            rows[name] = _collect(table, name, folder)
        dates = _snapshot_dates(source / "customers.parquet", cases, settings)
        if dates is not None:
            surveys_path = source / "surveys.parquet"
            surveys = _read(spark, surveys_path, "surveys", 0) if surveys_path.exists() else None
            customers = _read(spark, source / "customers.parquet", "customers", 0)
            features = _features(
                costed,
                cases,
                customers,
                surveys,
                _windows(spark, dates),
                complaints(found.activities),
            )
            rows["features"] = _write(features, "features", folder)
        for frame in (cases, path, steps):
            frame.unpersist()
    if calls is not None:
        rows["intervals"] = _collect(_intervals(calls, settings), "intervals", folder)
    return loops, rows
