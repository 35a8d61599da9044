"""Process variance: the paths cases take, the directly-follows graph, rework, drift.

Our own Polars code (no pm4py: its AGPL licence would bind every user).

Everything starts from :func:`analytics.cases.case_steps`: the events with each case's
steps contiguous and in order (by time, then export row), activities as an ``Enum`` and
each case's path id (``variant``). A variant's text is its activities joined by
:data:`SEP`. Transitions are shifts, never per-case lists of text, and whatever depends
on the path alone is computed once per variant (:func:`variant_model`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import polars as pl

from analytics.cases import (
    Loops,
    blocks,
    case_bounds,
    case_steps,
    case_table,
    chronological,
    collapse_self_loops,
    in_halves,
    representatives,
    self_loops,
)
from analytics.dataset import Dataset

SEP = " → "


def variant_model(steps: pl.DataFrame) -> pl.DataFrame:
    """The steps of one case per variant (its first), with ``cases``: how many cases
    take that variant. Everything that depends on the path alone is worked out here,
    on a few hundred rows, and weighted by ``cases``."""
    starts, ends = case_bounds(steps)
    cases, span, at = representatives(steps["variant"].to_numpy()[starts], starts, ends)
    return steps[at].with_columns(pl.Series("cases", np.repeat(cases, span)))


def variant_paths(steps: pl.DataFrame) -> pl.DataFrame:
    """Each ``variant`` id with its ``path``: the activities in order."""
    return (
        variant_model(steps)
        .group_by("variant", maintain_order=True)
        .agg(pl.col("activity").alias("path"))
    )


def variants(
    cases: pl.DataFrame, paths: pl.DataFrame, costs: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Each distinct path the ``cases`` (a :func:`~analytics.cases.case_table`) take:
    ``variant`` (the path joined by :data:`SEP`), ``path``, ``cases``, ``steps``,
    ``median_duration_s``, ``share``, ``cumulative_share`` and, given per-case ``costs``
    with ``case_id`` and ``cost`` (or cases with a ``cost`` column), ``median_cost``; most
    frequent first, ties by variant
    text. ``paths`` are the :func:`variant_paths` of the steps the cases came from: the
    cases are grouped by path id and the few paths joined on afterwards."""
    frame = (
        cases
        if costs is None
        else cases.join(costs.select("case_id", "cost"), on="case_id", how="left")
    )
    aggs = [pl.len().alias("cases"), pl.col("duration_s").median().alias("median_duration_s")]
    if "cost" in frame.columns:
        aggs.append(pl.col("cost").median().alias("median_cost"))
    table = (
        frame.group_by("variant")
        .agg(aggs)
        .join(paths, on="variant")
        .drop("variant")
        .with_columns(pl.col("path").cast(pl.List(pl.String)))
        .with_columns(
            pl.col("path").list.join(SEP).alias("variant"),
            pl.col("path").list.len().cast(pl.UInt32).alias("steps"),
        )
    )
    table = table.sort(["cases", "variant"], descending=[True, False])
    total = table["cases"].sum()
    return table.select(
        "variant",
        "path",
        "cases",
        "steps",
        pl.col("^median_.*$"),
        (pl.col("cases") / total).alias("share"),
        (pl.col("cases").cum_sum() / total).alias("cumulative_share"),
    )


def coverage(table: pl.DataFrame, target: float = 0.8) -> int:
    """How many of the most frequent variants it takes to cover ``target`` of the cases."""
    if table.is_empty():
        return 0
    reached = table["cumulative_share"] >= target - 1e-12
    return int(reached.arg_true()[0]) + 1 if reached.any() else table.height


def transitions(steps: pl.DataFrame) -> pl.LazyFrame:
    """Every step-to-next-step pair: ``case_no``, ``variant``, ``step`` (of the source),
    ``source``, ``target`` (Enums), ``seconds`` between them, ``target_repeat`` (the
    target was done before in the case: a loop back), ``case_scenario`` and the case's
    ``start``."""
    return (
        steps.lazy()
        .with_columns(
            pl.col("activity").shift(-1).alias("target"),
            (pl.col("timestamp").shift(-1) - pl.col("timestamp"))
            .dt.total_seconds()
            .alias("seconds"),
            pl.col("repeat").shift(-1).alias("target_repeat"),
            pl.when(pl.col("step") == 0).then(pl.col("timestamp")).forward_fill().alias("start"),
        )
        .filter(~pl.col("last"))
        .select(
            "case_no",
            "variant",
            "step",
            pl.col("activity").alias("source"),
            "target",
            "seconds",
            "target_repeat",
            "case_scenario",
            "start",
        )
    )


def directly_follows(steps: pl.DataFrame) -> pl.DataFrame:
    """The directly-follows graph: ``source``, ``target``, ``count`` (transitions),
    ``cases`` (cases with it), ``median_s`` (median time between the two steps),
    ``rework_share``: the share of these transitions whose target was already done
    earlier in the case (a loop back), and ``rework`` when that is most of them.

    Counts, cases and rework come from one case per variant weighted by the variant's
    cases (they depend on the path alone); only the median time needs every event.
    """
    edge = ["source", "target"]
    model = variant_model(steps)
    by_path = (
        transitions(model)
        .join(model.lazy().select("variant", "cases").unique(), on="variant")
        .group_by(*edge, "variant")
        .agg(
            pl.col("cases").first(),
            (pl.len() * pl.col("cases").first()).alias("count"),
            (pl.col("target_repeat").sum() * pl.col("cases").first()).alias("repeats"),
        )
        .group_by(edge)
        .agg(pl.col("count").sum(), pl.col("cases").sum(), pl.col("repeats").sum())
        .with_columns(_pair(pl.col("source"), pl.col("target"), steps))
    )
    # One integer key per (source, target), the medians by a histogram of them.
    groups = len(steps.schema["activity"].categories) ** 2  # type: ignore[attr-defined]
    pair, seconds = timed_pairs(steps)
    keys = np.arange(groups)
    if groups > 1 << 16:  # a histogram row per possible pair would be too large
        inner = ~steps["last"].to_numpy()
        keys, pair = np.unique(pair[inner], return_inverse=True)
        seconds, groups = seconds[inner], keys.size
    medians = group_medians(pair, seconds, groups)
    found = ~np.isnan(medians)
    timing = pl.LazyFrame({"pair": keys[found].astype(np.uint32), "median_s": medians[found]})
    return (
        by_path.join(timing, on="pair")
        .drop("pair")
        .with_columns(
            pl.col(edge).cast(pl.String),
            (pl.col("repeats") / pl.col("count")).alias("rework_share"),
        )
        .with_columns((pl.col("rework_share") >= 0.5).alias("rework"))
        .drop("repeats")
        .sort(["count", "source", "target"], descending=[True, False, False])
        .collect()
    )


def timed_pairs(steps: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per step of :func:`~analytics.cases.case_steps`, the transition to the case's next
    step: its pair code, ``source * k + target`` (``k`` activities, as :func:`_pair`),
    and the whole seconds between the two steps (the floor: steps are in time order, and
    their times whole seconds below 2^31 from the log's start, so uint32 holds them); a
    case's last step gets the code ``k²`` (at most 2^32 - 1), past every pair, and 0 s.

    numpy passes in two halves on two threads (:func:`~analytics.cases.in_halves`), with
    no filter: at 10 M steps the same columns from Polars expressions took one core and
    twice the fresh memory, in small pages."""
    width = len(steps.schema["activity"].categories)  # type: ignore[attr-defined]
    code = steps["activity"].to_physical().to_numpy()
    ticks = steps["timestamp"].to_numpy()
    per_second = int(np.timedelta64(1, "s") / np.timedelta64(1, np.datetime_data(ticks.dtype)[0]))
    ticks = ticks.view(np.int64)
    last = steps["last"].to_numpy()
    n = code.size
    pair, seconds = np.empty(n, dtype=np.uint32), np.empty(n, dtype=np.uint32)

    def fill(part: slice) -> None:
        step = slice(part.start, min(part.stop, n - 1))  # the case's last step: below
        following = slice(step.start + 1, step.stop + 1)
        np.multiply(code[step], np.uint32(width), out=pair[step], dtype=np.uint32)
        pair[step] += code[following]
        for block in blocks(step):  # the ticks' difference is int64: a block at a time
            elapsed = ticks[block.start + 1 : block.stop + 1] - ticks[block]
            elapsed //= per_second  # < 0 only from a last step to the next case: set below
            np.copyto(seconds[block], elapsed, casting="unsafe")
        ends = np.flatnonzero(last[part]) + part.start  # a scatter: putmask is 3x slower
        pair[ends] = min(width * width, 2**32 - 1)
        seconds[ends] = 0

    in_halves(fill, n)
    return pair, seconds


def _pair(source: pl.Expr, target: pl.Expr, steps: pl.DataFrame) -> pl.Expr:
    width = len(steps.schema["activity"].categories)  # type: ignore[attr-defined]
    code = [e.to_physical().cast(pl.UInt32) for e in (source, target)]
    return (code[0] * width + code[1]).alias("pair")


def group_medians(group: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    """The median of the integer ``values`` (below 2^52 in magnitude) of each group
    ``0 .. groups - 1`` (``group``: each value's, non-negative integers; values of a group
    past those are left out), as float64: the middle value, or the mean of the two middle
    values for an even count, as Polars' ``median``; NaN for a group without values.

    Exact without sorting every value: a histogram of (group, bin), worked out in two
    halves on two threads, gives each group's count and locates the bins of the ranks
    wanted, ``(count - 1) // 2`` and ``count // 2``, and each one's rank within its bin;
    only the values in those bins are sorted. A bin is a float's leading bits
    (``value - min`` as float64: the exponent and up to 8 mantissa bits, fewer for many
    groups), so bins are narrow where the values are dense: at 8 M transitions in 441
    groups the bins hold a few percent of the values, and the whole is a few passes over
    the data, where a Polars group-by median sorts every group."""
    medians = np.full(groups, np.nan)
    if not values.size:
        return medians
    size = max(groups, int(group.max()) + 1)  # the histogram's groups
    low = int(values.min())
    exponents = (int(values.max()) - low).bit_length() + 1  # 0, then 1 .. 2^52
    mantissa = max(0, min(8, (2**20 // (size * exponents)).bit_length() - 1))
    width = exponents << mantissa
    key = np.empty(values.size, dtype=np.int64)

    def binned(part: slice) -> np.ndarray:
        """``key[part]``, each value's (group, bin), and their histogram."""
        mine = key[part]
        # The float's bits from the exponent down, as an integer: monotone in the value.
        np.subtract(values[part], low, out=mine.view(np.float64), casting="unsafe")
        mine >>= 52 - mantissa
        mine -= 1022 << mantissa
        np.maximum(mine, 0, out=mine)  # 0 (the value 0) below 1 (2^mantissa)
        mine += group[part] * width
        return np.bincount(mine, minlength=size * width)

    first, second = in_halves(binned, key.size)
    histogram = first + second
    counts = histogram.reshape(size, width).sum(axis=1)
    wanted = np.flatnonzero(counts[:groups])
    if not wanted.size:
        return medians
    rank = np.stack([(counts[wanted] - 1) // 2, counts[wanted] // 2], axis=1).ravel()
    cum = histogram.cumsum()
    before = np.concatenate(([0], cum))
    # The bin of each wanted rank: the first whose cumulative count passes it.
    rank += before[np.repeat(wanted * width, 2)]  # counted from the first group's first bin
    bins = np.searchsorted(cum, rank, side="right")
    rank -= before[bins]
    chosen, node_of = np.unique(bins, return_inverse=True)
    table = np.zeros(cum.size, dtype=bool)  # small enough to stay in cache
    table[chosen] = True
    keep = np.take(table, key)
    node, value = np.searchsorted(chosen, key[keep]), values[keep]
    order = np.lexsort((value, node))
    offsets = np.concatenate(([0], np.cumsum(np.bincount(node, minlength=chosen.size))))
    middle = value[order[offsets[node_of] + rank]].astype(np.float64)
    medians[wanted] = (middle[0::2] + middle[1::2]) / 2
    return medians


def rework(steps: pl.DataFrame) -> pl.DataFrame:
    """Activities done more than once within a case: ``activity``, ``cases`` where it
    repeats, ``share`` of the cases that contain it, ``extra_steps`` (repeats beyond the
    first). Repeats depend on the path alone: counted on one case per variant, weighted by
    its cases."""
    return (
        variant_model(steps)
        .group_by("variant", "activity")
        .agg(pl.col("cases").first(), pl.col("repeat").sum().alias("extra"))
        .group_by("activity")
        .agg(
            pl.col("cases").filter(pl.col("extra") > 0).sum().alias("repeating"),
            (pl.col("extra") * pl.col("cases")).sum().alias("extra_steps"),
            pl.col("cases").sum().alias("with"),
        )
        .filter(pl.col("extra_steps") > 0)
        .select(
            pl.col("activity").cast(pl.String),
            pl.col("repeating").cast(pl.UInt32).alias("cases"),
            (pl.col("repeating") / pl.col("with")).alias("share"),
            pl.col("extra_steps").cast(pl.UInt32),
        )
        .sort(["extra_steps", "activity"], descending=[True, False])
    )


def standard_edges(path: Sequence[str]) -> set[tuple[str, str]]:
    return set(pairwise(path))


def for_scenario(steps: pl.DataFrame, scenario: str | None) -> pl.DataFrame:
    """The steps of one scenario's cases (whole cases, order kept); all when None."""
    return steps if not scenario else steps.filter(pl.col("case_scenario") == scenario)


def drift(
    steps: pl.DataFrame,
    scenario: str | None = None,
    norm_share: float = 0.1,
    standard: Sequence[str] | None = None,
) -> pl.DataFrame:
    """:func:`case_drift` of the steps of one ``scenario`` (all when None), against
    ``standard`` or else the scenario's most frequent variant."""
    chosen = for_scenario(steps, scenario)
    if chosen.is_empty():
        return pl.DataFrame()
    cases, paths = case_table(chosen), variant_paths(chosen)
    if standard is None:
        standard = variants(cases, paths)["path"][0].to_list()
    return case_drift(monthly_cases(cases), paths, standard, norm_share)


def monthly_cases(cases: pl.DataFrame) -> pl.DataFrame:
    """Cases (a :func:`~analytics.cases.case_table`) counted by ``scenario``, ``variant``
    and ``month`` (of the case's first step), as ``cases``."""
    month = pl.col("start").dt.truncate("1mo").dt.date().alias("month")
    return cases.group_by("scenario", "variant", month).agg(pl.len().alias("cases"))


def case_drift(
    counts: pl.DataFrame,
    paths: pl.DataFrame,
    standard: Sequence[str],
    norm_share: float = 0.1,
) -> pl.DataFrame:
    """Month by month, the share of cases taking each deviation from the ``standard`` path
    (activities in order); ``counts``: the cases' :func:`monthly_cases`, ``paths``:
    :func:`variant_paths`.

    A deviation is a directly-follows step (``source → target``) that the standard path
    does not have. Months are those of the cases' first steps. For each deviation: its
    share of the month's cases in the first and the last month (cases whose path has it /
    cases that month), ``growth`` (last - first, in shares), and ``became_norm``: at least
    ``norm_share`` of the last month's cases take it and it at least doubled. Sorted with
    the norms first, then by growth. Which deviations a case has depends on its path
    alone: they are found once per variant and weighted by its cases per month.
    """
    if counts.is_empty():
        return pl.DataFrame()
    normal = [f"{a}\0{b}" for a, b in standard_edges(standard)]
    deviant = (
        paths.select("variant", pl.col("path").cast(pl.List(pl.String)))
        .select(
            "variant",
            pl.col("path").list.head(pl.col("path").list.len() - 1).alias("source"),
            pl.col("path").list.tail(pl.col("path").list.len() - 1).alias("target"),
        )
        .explode("source", "target")
        .drop_nulls()
        .unique()
        .filter(~pl.concat_str("source", pl.lit("\0"), "target").is_in(normal))
    )
    per_month = counts.group_by("month").agg(pl.col("cases").sum().alias("len"))
    monthly = (
        deviant.join(counts, on="variant")
        .group_by("month", "source", "target")
        .agg(pl.col("cases").sum())
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


def most_frequent_path(counts: pl.DataFrame, paths: pl.DataFrame) -> list[str]:
    """The path of the variant with the most cases in ``counts`` (:func:`monthly_cases`),
    ties by the path's text: the first row of :func:`variants`."""
    text = pl.col("path").cast(pl.List(pl.String)).list.join(SEP).alias("text")
    top = (
        counts.group_by("variant")
        .agg(pl.col("cases").sum())
        .join(paths.select("variant", "path", text), on="variant")
        .sort(["cases", "text"], descending=[True, False])
    )
    return top["path"][0].cast(pl.String).to_list()


def scenario_drifts(counts: pl.DataFrame, paths: pl.DataFrame) -> pl.DataFrame:
    """Per scenario of the cases counted in ``counts`` (:func:`monthly_cases`; all cases as
    one when the data names no scenario), the deviation from its standard path (the most
    frequent variant) that leads :func:`case_drift`: a deviation that became the norm
    first, then the largest growth. Columns: scenario, deviation, first_share,
    last_share, growth, became_norm, by_month; the largest drift first (norms first, then
    growth, then scenario)."""
    names = counts["scenario"].drop_nulls().unique().sort().to_list() or [None]
    rows = []
    for scenario in names:
        mine = counts if scenario is None else counts.filter(pl.col("scenario") == scenario)
        changes = case_drift(mine, paths, most_frequent_path(mine, paths))
        if changes.height:
            rows.append(
                changes.head(1)
                .select("deviation", "first_share", "last_share", "growth", "became_norm")
                .with_columns(
                    pl.lit(scenario, pl.String).alias("scenario"),
                    changes["by_month"].head(1).alias("by_month"),
                )
            )
    if not rows:
        return pl.DataFrame()
    return (
        pl.concat(rows)
        .select("scenario", pl.exclude("scenario"))
        .sort(
            ["became_norm", "growth", "scenario"],
            descending=[True, True, False],
            nulls_last=True,
        )
    )


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


def case_views(
    dataset: Dataset, collapse: bool | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, Loops]:
    """:func:`~analytics.cases.case_steps`, their
    :func:`~analytics.cases.case_table` and :func:`variant_paths` of a dataset, from one
    case sort (the app caches them per dataset), and the self-loops found.

    With ``collapse`` (by default: when the log is a status-update log, see
    :func:`~analytics.cases.self_loops`) a run of updates in the same activity is one
    step, at its first update: a case's end is then when it entered its last state.
    """
    steps = case_steps(dataset.events)
    loop, loops = self_loops(steps, collapse)
    if loops.collapsed:
        steps = collapse_self_loops(steps, loop)
    return steps, case_table(steps, dataset.events), variant_paths(steps), loops
