"""Process variance: the paths cases take, the directly-follows graph, rework, drift.

Our own Polars code (no pm4py: its AGPL licence would bind every user).

Ordering convention: the events of one case are ordered by ``timestamp``, then by their
row order in the export (``row_nr``), because minute-resolution exports put several steps
in the same minute. A log already in time order is used as it is (Polars keeps row order
inside each group); any other log is first sorted stably by time.

A **variant** is a case's ordered activities joined by :data:`SEP`.
"""

from __future__ import annotations

from itertools import pairwise

import polars as pl

from analytics.dataset import Dataset

SEP = " → "


def chronological(events: pl.DataFrame) -> pl.DataFrame:
    """Events in (timestamp, export row) order; free when they already are."""
    if events["timestamp"].is_sorted():
        return events
    return events.sort("timestamp", "row_nr", maintain_order=True)


def case_paths(events: pl.DataFrame) -> pl.DataFrame:
    """One row per case: ``case_id``, ``customer_id``, ``scenario`` (its first non-null),
    ``path`` (activities in order), ``times``, ``start``, ``end``, ``duration_s``,
    ``steps``, ``variant`` (the path joined by :data:`SEP`)."""
    return (
        chronological(events)
        .lazy()
        .group_by("case_id")
        .agg(
            pl.col("customer_id").first(),
            pl.col("scenario").drop_nulls().first(),
            pl.col("activity").alias("path"),
            pl.col("timestamp").alias("times"),
            pl.col("timestamp").min().alias("start"),
            pl.col("timestamp").max().alias("end"),
            pl.len().alias("steps"),
        )
        .with_columns(
            (pl.col("end") - pl.col("start")).dt.total_seconds().alias("duration_s"),
            pl.col("path").list.join(SEP).alias("variant"),
        )
        .collect()
    )


def variants(paths: pl.DataFrame, costs: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each distinct path with ``cases``, ``share``, ``cumulative_share``, the median
    duration and (given per-case ``costs`` with ``case_id`` and ``cost``) the median cost;
    most frequent first, ties by variant text."""
    frame = (
        paths
        if costs is None
        else paths.join(costs.select("case_id", "cost"), on="case_id", how="left")
    )
    aggs = [
        pl.len().alias("cases"),
        pl.col("path").first(),
        pl.col("steps").first(),
        pl.col("duration_s").median().alias("median_duration_s"),
    ]
    if costs is not None:
        aggs.append(pl.col("cost").median().alias("median_cost"))
    table = frame.group_by("variant").agg(aggs).sort(["cases", "variant"], descending=[True, False])
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


def transitions(paths: pl.DataFrame) -> pl.DataFrame:
    """Every step-to-next-step pair of every case: ``case_id``, ``position`` (of the
    source step, 0-based), ``source``, ``target``, ``seconds`` between them."""
    last = pl.col("path").list.len() - 1
    return (
        paths.lazy()
        .filter(pl.col("steps") > 1)
        .select(
            "case_id",
            pl.int_ranges(0, last).alias("position"),
            pl.col("path").list.slice(0, last).alias("source"),
            pl.col("path").list.slice(1).alias("target"),
            pl.col("times").list.slice(0, last).alias("t0"),
            pl.col("times").list.slice(1).alias("t1"),
        )
        .explode(["position", "source", "target", "t0", "t1"])
        .select(
            "case_id",
            "position",
            "source",
            "target",
            (pl.col("t1") - pl.col("t0")).dt.total_seconds().alias("seconds"),
        )
        .collect()
    )


def directly_follows(paths: pl.DataFrame) -> pl.DataFrame:
    """The directly-follows graph: ``source``, ``target``, ``count`` (transitions),
    ``cases`` (cases with it), ``median_s`` (median time between the two steps),
    ``rework_share``: the share of these transitions whose target was already done
    earlier in the case (a loop back), and ``rework`` when that is most of them."""
    steps = transitions(paths)
    first_seen = (
        paths.lazy()
        .select("case_id", pl.col("path").alias("activity"))
        .explode("activity")
        .with_columns(pl.int_range(pl.len()).over("case_id").alias("at"))
        .group_by("case_id", "activity")
        .agg(pl.col("at").min().alias("first_at"))
    )
    return (
        steps.lazy()
        .join(first_seen, left_on=["case_id", "target"], right_on=["case_id", "activity"])
        .group_by("source", "target")
        .agg(
            pl.len().alias("count"),
            pl.col("case_id").n_unique().alias("cases"),
            pl.col("seconds").median().alias("median_s"),
            (pl.col("first_at") <= pl.col("position")).mean().alias("rework_share"),
        )
        .with_columns((pl.col("rework_share") >= 0.5).alias("rework"))
        .sort(["count", "source", "target"], descending=[True, False, False])
        .collect()
    )


def rework(paths: pl.DataFrame) -> pl.DataFrame:
    """Activities done more than once within a case: ``activity``, ``cases`` where it
    repeats, ``share`` of the cases that contain it, ``extra_steps`` (repeats beyond the
    first)."""
    per_case = (
        paths.lazy()
        .select("case_id", pl.col("path").alias("activity"))
        .explode("activity")
        .group_by("case_id", "activity")
        .len()
    )
    return (
        per_case.group_by("activity")
        .agg(
            (pl.col("len") > 1).sum().alias("cases"),
            ((pl.col("len") > 1).sum() / pl.len()).alias("share"),
            (pl.col("len") - 1).sum().alias("extra_steps"),
        )
        .filter(pl.col("cases") > 0)
        .sort(["extra_steps", "activity"], descending=[True, False])
        .collect()
    )


def standard_edges(path: list[str]) -> set[tuple[str, str]]:
    return set(pairwise(path))


def drift(
    paths: pl.DataFrame, scenario: str | None = None, norm_share: float = 0.1
) -> pl.DataFrame:
    """Month by month, the share of cases taking each deviation from the standard path.

    The standard path is the scenario's most frequent variant; a deviation is a
    directly-follows step (``source → target``) that the standard path does not have.
    For each deviation: its share of the month's cases in the first and the last month,
    ``growth`` (last - first, in shares), and ``became_norm``: at least ``norm_share`` of
    the last month's cases take it and it at least doubled. Sorted with the norms first,
    then by growth.
    """
    cases = paths if scenario is None else paths.filter(pl.col("scenario") == scenario)
    if cases.is_empty():
        return pl.DataFrame()
    standard = variants(cases)["path"][0].to_list()
    normal = standard_edges(standard)
    steps = transitions(cases).join(
        cases.select("case_id", pl.col("start").dt.truncate("1mo").dt.date().alias("month")),
        on="case_id",
    )
    deviant = steps.filter(
        ~pl.concat_str("source", pl.lit("\0"), "target").is_in([f"{a}\0{b}" for a, b in normal])
    )
    per_month = cases.group_by(pl.col("start").dt.truncate("1mo").dt.date().alias("month")).len()
    monthly = (
        deviant.group_by("month", "source", "target")
        .agg(pl.col("case_id").n_unique().alias("cases"))
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


def layout(edges: pl.DataFrame, paths: pl.DataFrame) -> dict[str, tuple[float, float]]:
    """Node positions for drawing a directly-follows graph: x = the activity's median
    position within the cases' paths (layers left to right), y = spread within a layer."""
    nodes = set(edges["source"]) | set(edges["target"])
    order = (
        paths.lazy()
        .select(
            pl.col("path").alias("activity"),
            pl.int_ranges(0, pl.col("path").list.len()).alias("at"),
        )
        .explode("activity", "at")
        .filter(pl.col("activity").is_in(list(nodes)))
        .group_by("activity")
        .agg(pl.col("at").median().alias("x"))
        .sort("x", "activity")
        .collect()
    )
    positions: dict[str, tuple[float, float]] = {}
    used: dict[float, int] = {}
    for name, x in order.iter_rows():
        layer = round(x)
        slot = used.get(layer, 0)
        used[layer] = slot + 1
        positions[name] = (float(layer), float((slot + 1) // 2 * (1 if slot % 2 else -1)))
    return positions


def dataset_paths(dataset: Dataset) -> pl.DataFrame:
    """:func:`case_paths` of a dataset's events (the app caches it per dataset)."""
    return case_paths(dataset.events)


def dataset_dfg(dataset: Dataset) -> pl.DataFrame:
    """:func:`directly_follows` over all of a dataset's cases."""
    return directly_follows(case_paths(dataset.events))
