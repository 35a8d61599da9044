"""Process variance: the paths cases take, the directly-follows graph, rework, drift.

Our own Polars code (no pm4py: its AGPL licence would bind every user).

Ordering convention: the events of one case are ordered by ``timestamp``, then by their
row order in the export (``row_nr``), because minute-resolution exports put several steps
in the same minute. A log already in time order is used as it is (Polars keeps row order
inside each group); any other log is first sorted stably by time.

A **variant** is a case's ordered activities joined by :data:`SEP`.

Speed: everything starts from :func:`case_steps`, the events with each case's steps
contiguous and in order (one stable integer sort on a 64-bit hash of the case id) and
activities as an ``Enum``. Transitions are then shifts, never per-case lists of text.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import polars as pl

from analytics.dataset import Dataset

SEP = " → "


def chronological(events: pl.DataFrame) -> pl.DataFrame:
    """Events in (timestamp, export row) order; free when they already are."""
    if events["timestamp"].is_sorted():
        return events
    return events.sort("timestamp", "row_nr", maintain_order=True)


def case_steps(events: pl.DataFrame, extra: Sequence[pl.Expr] = ()) -> pl.DataFrame:
    """The events' steps, cases contiguous and each case's steps in order.

    Only compact columns travel through the sort (it is the costly part at scale):
    ``row`` (the event's row in :func:`chronological` order, to fetch anything else),
    ``case_key`` (a 64-bit hash of ``case_id``), ``activity`` (an ``Enum``, same text),
    ``timestamp``, and any ``extra`` expressions evaluated on the events first. Adds
    ``case_no`` (0, 1, ...), ``step`` (0-based position in the case), ``last`` (the
    case's final step), ``repeat`` (this activity was already done earlier in the case),
    ``case_scenario`` (the case's first non-null scenario) and ``case_start``.
    """
    ordered = chronological(events)
    activities = ordered["activity"].drop_nulls().unique().sort().to_list()
    scenarios = ordered["scenario"].drop_nulls().unique().sort().to_list()
    steps = ordered.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"),
        pl.col("case_id").hash().alias("case_key"),
        pl.col("activity").cast(pl.Enum(activities)),
        "timestamp",
        pl.col("scenario").cast(pl.Enum(scenarios)),
        *extra,
    ).sort("case_key", maintain_order=True)
    key = pl.col("case_key")
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    first = (key != key.shift(1)).fill_null(True)
    steps = steps.with_columns(
        (first.cum_sum() - 1).cast(pl.UInt32).alias("case_no"),
        (row - pl.when(first).then(row).forward_fill()).alias("step"),
        (key != key.shift(-1)).fill_null(True).alias("last"),
    )
    # (case, activity) seen before: sort one combined integer key, compare neighbours, put back.
    order = steps.select(
        row.alias("at"),
        (pl.col("case_no").cast(pl.UInt64) * 65_536 + pl.col("activity").to_physical()).alias(
            "pair"
        ),
    ).sort("pair", maintain_order=True)
    seen = (order["pair"] == order["pair"].shift(1)).fill_null(False)
    repeat = pl.repeat(False, steps.height, eager=True).scatter(order["at"], seen)
    # The case's start and first non-null scenario, carried down each case's rows.
    scenario = pl.col("scenario")
    if steps["scenario"].null_count():  # a case's first step may lack it: look further on
        scenario = scenario.fill_null(scenario.backward_fill().over("case_no"))
    return steps.with_columns(
        repeat.alias("repeat"),
        pl.when(first).then(pl.col("timestamp")).forward_fill().alias("case_start"),
        pl.when(first).then(scenario).forward_fill().cast(pl.String).alias("case_scenario"),
    ).drop("scenario")


def case_paths(steps: pl.DataFrame, events: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per case from :func:`case_steps`: ``scenario``, ``path`` (activities in
    order), ``start``, ``end``, ``duration_s``, ``steps``; with the ``events``
    the steps came from, also ``case_id`` and ``customer_id``."""
    paths = (
        steps.lazy()
        .group_by("case_no", maintain_order=True)
        .agg(
            pl.col("row").first(),
            pl.col("case_scenario").first().alias("scenario"),
            pl.col("activity").alias("path"),
            pl.col("timestamp").first().alias("start"),
            pl.col("timestamp").max().alias("end"),
            pl.len().alias("steps"),
        )
        .with_columns((pl.col("end") - pl.col("start")).dt.total_seconds().alias("duration_s"))
        .collect()
    )
    if events is not None:
        ordered = chronological(events)
        paths = paths.with_columns(
            ordered["case_id"].gather(paths["row"]), ordered["customer_id"].gather(paths["row"])
        )
    return paths.drop("row")


def variants(paths: pl.DataFrame, costs: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each distinct path with ``cases``, ``share``, ``cumulative_share``, the median
    duration and (given per-case ``costs`` with ``case_id`` and ``cost``) the median cost;
    most frequent first, ties by variant text (the path joined by :data:`SEP`)."""
    frame = (
        paths
        if costs is None
        else paths.join(costs.select("case_id", "cost"), on="case_id", how="left")
    )
    aggs = [
        pl.len().alias("cases"),
        pl.col("steps").first(),
        pl.col("duration_s").median().alias("median_duration_s"),
    ]
    if costs is not None:
        aggs.append(pl.col("cost").median().alias("median_cost"))
    table = (
        frame.group_by("path")
        .agg(aggs)
        .with_columns(pl.col("path").cast(pl.List(pl.String)))
        .with_columns(pl.col("path").list.join(SEP).alias("variant"))
    )
    table = table.sort(["cases", "variant"], descending=[True, False])
    total = table["cases"].sum()
    return table.with_columns(
        (pl.col("cases") / total).alias("share"),
        (pl.col("cases").cum_sum() / total).alias("cumulative_share"),
    )


def coverage(table: pl.DataFrame, target: float = 0.8) -> int:
    """How many of the most frequent variants it takes to cover ``target`` of the cases."""
    if table.is_empty():
        return 0
    reached = table["cumulative_share"] >= target - 1e-12
    return int(reached.arg_true()[0]) + 1 if reached.any() else table.height


def transitions(steps: pl.DataFrame) -> pl.DataFrame:
    """Every step-to-next-step pair: ``case_no``, ``step`` (of the source),
    ``source``, ``target`` (Enums), ``seconds`` between them, ``target_repeat`` (the
    target was done before in the case: a loop back), ``case_scenario``, ``case_start``."""
    return (
        steps.lazy()
        .with_columns(
            pl.col("activity").shift(-1).alias("target"),
            (pl.col("timestamp").shift(-1) - pl.col("timestamp"))
            .dt.total_seconds()
            .alias("seconds"),
            pl.col("repeat").shift(-1).alias("target_repeat"),
        )
        .filter(~pl.col("last"))
        .select(
            "case_no",
            "step",
            pl.col("activity").alias("source"),
            "target",
            "seconds",
            "target_repeat",
            "case_scenario",
            "case_start",
        )
        .collect()
    )


def directly_follows(steps: pl.DataFrame) -> pl.DataFrame:
    """The directly-follows graph: ``source``, ``target``, ``count`` (transitions),
    ``cases`` (cases with it), ``median_s`` (median time between the two steps),
    ``rework_share``: the share of these transitions whose target was already done
    earlier in the case (a loop back), and ``rework`` when that is most of them."""
    return (
        transitions(steps)
        .lazy()
        .group_by("source", "target")
        .agg(
            pl.len().alias("count"),
            pl.col("case_no").n_unique().alias("cases"),
            pl.col("seconds").median().alias("median_s"),
            pl.col("target_repeat").mean().alias("rework_share"),
        )
        .with_columns(
            pl.col("source", "target").cast(pl.String),
            (pl.col("rework_share") >= 0.5).alias("rework"),
        )
        .sort(["count", "source", "target"], descending=[True, False, False])
        .collect()
    )


def rework(steps: pl.DataFrame) -> pl.DataFrame:
    """Activities done more than once within a case: ``activity``, ``cases`` where it
    repeats, ``share`` of the cases that contain it, ``extra_steps`` (repeats beyond the
    first)."""
    having = steps.group_by("activity").agg(pl.col("case_no").n_unique().alias("with"))
    return (
        steps.filter(pl.col("repeat"))
        .group_by("activity")
        .agg(pl.col("case_no").n_unique().alias("cases"), pl.len().alias("extra_steps"))
        .join(having, on="activity")
        .select(
            pl.col("activity").cast(pl.String),
            "cases",
            (pl.col("cases") / pl.col("with")).alias("share"),
            "extra_steps",
        )
        .sort(["extra_steps", "activity"], descending=[True, False])
    )


def standard_edges(path: list[str]) -> set[tuple[str, str]]:
    return set(pairwise(path))


def for_scenario(steps: pl.DataFrame, scenario: str | None) -> pl.DataFrame:
    """The steps of one scenario's cases (whole cases, order kept); all when None."""
    return steps if not scenario else steps.filter(pl.col("case_scenario") == scenario)


def drift(
    steps: pl.DataFrame, scenario: str | None = None, norm_share: float = 0.1
) -> pl.DataFrame:
    """Month by month, the share of cases taking each deviation from the standard path.

    The standard path is the scenario's most frequent variant; a deviation is a
    directly-follows step (``source → target``) that the standard path does not have.
    Months are those of the cases' first steps. For each deviation: its share of the
    month's cases in the first and the last month, ``growth`` (last - first, in shares),
    and ``became_norm``: at least ``norm_share`` of the last month's cases take it and it
    at least doubled. Sorted with the norms first, then by growth.
    """
    chosen = for_scenario(steps, scenario)
    if chosen.is_empty():
        return pl.DataFrame()
    standard = variants(case_paths(chosen))["path"][0].to_list()
    normal = [f"{a}\0{b}" for a, b in standard_edges(standard)]
    month = pl.col("case_start").dt.truncate("1mo").dt.date().alias("month")
    moves = transitions(chosen).with_columns(month, pl.col("source", "target").cast(pl.String))
    deviant = moves.filter(~pl.concat_str("source", pl.lit("\0"), "target").is_in(normal))
    per_month = chosen.filter(pl.col("step") == 0).group_by(month).len()
    monthly = (
        deviant.group_by("month", "source", "target")
        .agg(pl.col("case_no").n_unique().alias("cases"))
        .join(per_month, on="month")
        .with_columns((pl.col("cases") / pl.col("len")).alias("share"))
    )
    months = per_month["month"].sort()
    first, last = months[0], months[-1]
    wide = (
        monthly.group_by("source", "target")
        .agg(
            pl.col("share").filter(pl.col("month") == first).sum().alias("first_share"),
            pl.col("share").filter(pl.col("month") == last).sum().alias("last_share"),
            pl.struct("month", "share").sort_by("month").alias("by_month"),
        )
        .with_columns(
            (pl.col("last_share") - pl.col("first_share")).alias("growth"),
            (
                (pl.col("last_share") >= norm_share)
                & (pl.col("last_share") >= 2 * pl.col("first_share"))
            ).alias("became_norm"),
            pl.concat_str("source", pl.lit(SEP), "target").alias("deviation"),
        )
    )
    return wide.sort(["became_norm", "growth", "deviation"], descending=[True, True, False])


def process_mining_log(events: pl.DataFrame) -> pl.DataFrame:
    """The event log with the XES-style column names process-mining tools read."""
    return chronological(events).select(
        pl.col("case_id").alias("case:concept:name"),
        pl.col("activity").alias("concept:name"),
        pl.col("timestamp").alias("time:timestamp"),
        pl.col("resource").alias("org:resource"),
        pl.col("customer_id").alias("case:customer"),
        pl.col("scenario").alias("case:scenario"),
        "channel",
    )


def layout(edges: pl.DataFrame, steps: pl.DataFrame) -> dict[str, tuple[float, float]]:
    """Node positions for drawing a directly-follows graph: x = the activity's median
    position within the cases (layers left to right), y = spread within a layer."""
    nodes = set(edges["source"]) | set(edges["target"])
    order = (
        steps.group_by(pl.col("activity").cast(pl.String))
        .agg(pl.col("step").median().alias("x"))
        .filter(pl.col("activity").is_in(list(nodes)))
        .sort("x", "activity")
    )
    positions: dict[str, tuple[float, float]] = {}
    used: dict[float, int] = {}
    for name, x in order.iter_rows():
        layer = round(x)
        slot = used.get(layer, 0)
        used[layer] = slot + 1
        positions[name] = (float(layer), float((slot + 1) // 2 * (1 if slot % 2 else -1)))
    return positions


def case_views(dataset: Dataset) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`case_steps` and :func:`case_paths` of a dataset from one case sort (the app
    caches the pair per dataset)."""
    steps = case_steps(dataset.events)
    return steps, case_paths(steps, dataset.events)
