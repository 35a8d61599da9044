"""The reduce in parts, for event logs larger than memory on one machine.

The events are split once, streaming from Parquet, into ``parts`` files by a hash of
``case_id``: every case lies whole in one part. Each part is reduced in memory by the
functions of the in-memory engine (case steps, self-loops, costs, case tables, paths,
transitions) and the results are combined, so that the tables equal
:func:`analytics.reduce.tables.reduce_dataset` of the whole log:

* per-case rows are cases of one part each and are put together; two columns look across
  cases and are worked out again on the whole: ``long_approval`` (the threshold is the
  90th percentile of a scenario's approval waits over all parts) and the return half of
  ``repeat_return`` (the same customer's previous case may lie in another part);
* variants merge by their path: cases add, and the medians come from the merged cases;
* directly-follows counts, cases and loop-backs add; the median time of an edge comes
  from the merged counts of each whole second between its two steps (exact: steps are
  read to the whole second);
* whether self-loops are collapsed is decided on the whole log; each part first
  follows its own share, and only a part whose share fell on the other side of
  :data:`analytics.cases.SELF_LOOP_SHARE` is reduced again;
* the interval report comes from the calls, held in memory (far fewer than events);
* the risk snapshots (per customer, not per case) split the events a second time, by a
  hash of ``customer_id``, with only the columns the features read; each part's
  customers get the risk model's own features (:func:`analytics.risk_features.features`).

Peak memory is that of one part's reduce plus the per-case rows of the whole log.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from analytics.calls import call_events, report_for
from analytics.cases import (
    SELF_LOOP_SHARE,
    Loops,
    case_bounds,
    case_steps,
    case_table,
    collapse_self_loops,
    self_loops,
)
from analytics.cost import CLOSING_STATES, REOPEN_DAYS, case_costs, costed_steps
from analytics.dataset import Dataset, LoadReport
from analytics.parsing import output_dtype
from analytics.process import SEP, transitions, variant_paths, variants
from analytics.reduce.tables import (
    Reduced,
    activity_sets,
    conform,
    empty,
    features_at,
    snapshot_cutoffs,
    tags_of,
)
from analytics.schema import TABLES, Settings

EDGE = ["source", "target"]
# The events' columns the risk model's per-customer features read.
FEATURE_COLUMNS = (
    "case_id",
    "customer_id",
    "timestamp",
    "activity",
    "channel",
    "scenario",
    "wait_s",
    "outcome",
    "is_manual",
    "is_contact",
)


@dataclass(frozen=True)
class _Part:
    """One part's share of the tables: its cases (``case_costs`` with the path columns
    and ``repeated_step``), its paths, its approval waits, its transitions counted per
    edge and second, its cases per edge, and its self-loops and transitions."""

    cases: pl.DataFrame
    paths: pl.DataFrame
    waits: pl.DataFrame
    seconds: pl.DataFrame
    edge_cases: pl.DataFrame
    loops: int
    transitions: int
    collapsed: bool


def _canonical(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The events' canonical columns, in order and type; absent ones as typed nulls."""
    present = frame.collect_schema()
    return frame.select(
        pl.col(c.name).cast(output_dtype(c))
        if c.name in present
        else pl.lit(None, dtype=output_dtype(c)).alias(c.name)
        for c in TABLES["events"].columns
    )


def split(
    events: Sequence[Path],
    calls: pl.DataFrame | None,
    parts: int,
    folder: Path,
    by: str = "case_id",
    columns: Sequence[str] | None = None,
) -> list[Path]:
    """The events (Parquet files, in export order) and the calls' phone contacts, with
    ``row_nr`` and every canonical column (or only ``columns``), streamed into ``parts``
    folders by a hash of ``by``; the part folders."""
    frames = [pl.scan_parquet(list(events))] if events else []
    phone = call_events(calls) if calls is not None else pl.DataFrame()
    if phone.height:
        frames.append(phone.lazy())
    if not frames:
        return []
    log = pl.concat([_canonical(frame) for frame in frames])
    log = log.with_row_index("row_nr").with_columns(
        pl.coalesce("customer_id", "case_id").alias("customer_id")
    )
    if columns is not None:
        log = log.select("row_nr", *columns)
    part = (pl.col(by).hash() % parts).alias("part")
    log.sink_parquet(pl.PartitionBy(folder, key=part, include_key=False), mkdir=True)
    return [folder / f"part={k}" for k in range(parts) if (folder / f"part={k}").exists()]


def _part(folder: Path, settings: Settings) -> Dataset:
    """One part's events as a dataset, in export order."""
    frame = pl.read_parquet(folder / "*.parquet")
    frame = frame if frame["row_nr"].is_sorted() else frame.sort("row_nr")
    return Dataset(folder.name, "", frame, None, None, None, settings, LoadReport({}))


def _reduce_part(dataset: Dataset, collapse: bool | None, closing: Sequence[str]) -> _Part:
    """The part's share of the tables (``collapse`` None: by the part's own self-loops)."""
    events = dataset.events
    steps = case_steps(events)
    loop, loops = self_loops(steps, collapse)
    path_steps = collapse_self_loops(steps, loop) if loops.collapsed else steps
    costs = case_costs(dataset, costed_steps(dataset, steps), loops.collapsed, closing)
    starts, _ = case_bounds(steps)
    # The repeat half of repeat_return, as case_costs reads it: an activity other than the
    # bot done again (a kept step when self-loops are collapsed).
    activities = steps.schema["activity"].categories.to_list()  # type: ignore[attr-defined]
    code = steps["activity"].to_physical().to_numpy()
    again = steps["repeat"].to_numpy().copy()
    if "bot" in activities:
        again &= code != activities.index("bot")
    if loops.collapsed:
        again &= ~loop
    per_case, paths = case_table(path_steps, events), variant_paths(path_steps)
    paths = paths.with_columns(pl.col("path").cast(pl.List(pl.String))).with_columns(
        pl.col("path").list.join(SEP).alias("text")
    )
    on_path = per_case.join(paths, on="variant").select(
        "case_id",
        pl.col("text").alias("variant"),
        "steps",
        pl.col("duration_s").alias("path_duration_s"),
    )
    cases = costs.with_columns(
        pl.Series("repeated_step", np.logical_or.reduceat(again, starts))
    ).join(on_path, on="case_id")
    case_ids = costs["case_id"]  # in case order: row i is case_no i
    approvals, _ = activity_sets(activities, closing)
    waits = (
        path_steps.lazy()
        .select(
            "case_no",
            (pl.col("timestamp").shift(-1) - pl.col("timestamp")).dt.total_seconds().alias("wait"),
            pl.col("case_no").shift(-1).alias("next_case"),
            pl.col("activity").cast(pl.String).is_in(approvals).alias("approval"),
        )
        .filter(pl.col("approval") & (pl.col("next_case") == pl.col("case_no")))
        .select(pl.col("case_no"), "wait")
        .collect()
    )
    waits = pl.DataFrame({"case_id": case_ids.gather(waits["case_no"]), "wait": waits["wait"]})
    moves = (
        transitions(path_steps)
        .select(
            pl.col("source").cast(pl.String),
            pl.col("target").cast(pl.String),
            "seconds",
            "target_repeat",
            "case_no",
        )
        .collect()
    )
    return _Part(
        cases=cases,
        paths=paths.select(pl.col("text").alias("variant"), "path"),
        waits=waits,
        seconds=moves.group_by(*EDGE, "seconds").agg(
            pl.len().alias("count"), pl.col("target_repeat").sum().alias("repeats")
        ),
        edge_cases=moves.group_by(EDGE).agg(pl.col("case_no").n_unique().alias("cases")),
        loops=int(np.count_nonzero(loop)),
        transitions=steps.height - starts.size,
        collapsed=loops.collapsed,
    )


def _returned(cases: pl.DataFrame) -> pl.Series:
    """Per case (in ``cases`` order): the same customer's previous case of the same
    scenario, by start, ended at most ``REOPEN_DAYS`` before this one started (the
    return half of ``repeat_return`` in :func:`analytics.cost.case_costs`)."""
    ordered = cases.with_row_index("at").sort("customer_id", "scenario", "start", "case_id")
    same = (pl.col("customer_id") == pl.col("customer_id").shift(1)) & pl.col(
        "scenario"
    ).eq_missing(pl.col("scenario").shift(1))
    gap = pl.col("start") - pl.col("end").shift(1)
    flags = ordered.select("at", (same & (gap <= pl.duration(days=REOPEN_DAYS))).fill_null(False))
    return flags.sort("at").to_series(1)


def _long_approvals(cases: pl.DataFrame, waits: pl.DataFrame) -> pl.Series:
    """Per case: an approval on its path waited longer than the 90th percentile of its
    scenario's approval waits over the whole log (as :func:`analytics.cost.case_costs`)."""
    slow = (
        waits.join(cases.select("case_id", "scenario"), on="case_id")
        .filter(pl.col("wait") > pl.col("wait").quantile(0.9).over("scenario"))
        .get_column("case_id")
    )
    return cases["case_id"].is_in(slow.implode())


def _edges(seconds: pl.DataFrame, edge_cases: pl.DataFrame) -> pl.DataFrame:
    """The directly-follows graph from the parts' counts per edge and second: the median
    is the middle second (the mean of the two middle ones for an even count)."""
    counted = (
        seconds.group_by(*EDGE, "seconds")
        .agg(pl.col("count").sum(), pl.col("repeats").sum())
        .sort(*EDGE, "seconds")
        .with_columns(
            pl.col("count").cum_sum().over(EDGE).alias("upto"),
            pl.col("count").sum().over(EDGE).alias("total"),
        )
    )
    at = pl.col("seconds").cast(pl.Float64)
    medians = counted.group_by(EDGE).agg(
        pl.col("total").first().alias("count"),
        pl.col("repeats").sum(),
        at.filter(pl.col("upto") > (pl.col("total") - 1) // 2).first().alias("low"),
        at.filter(pl.col("upto") > pl.col("total") // 2).first().alias("high"),
    )
    cases = edge_cases.group_by(EDGE).agg(pl.col("cases").sum())
    return medians.join(cases, on=EDGE).select(
        *EDGE,
        "count",
        "cases",
        ((pl.col("low") + pl.col("high")) / 2).alias("median_s"),
        (pl.col("repeats") / pl.col("count")).alias("rework_share"),
        (pl.col("repeats") / pl.col("count") >= 0.5).alias("rework"),
    )


def _snapshots(
    events: Sequence[Path],
    calls: pl.DataFrame | None,
    parts: int,
    folder: Path,
    cases: pl.DataFrame,
    customers: pl.DataFrame | None,
    surveys: pl.DataFrame | None,
    settings: Settings,
) -> pl.DataFrame | None:
    """The risk snapshots (``features``) of the whole log: the events split a second time,
    by a hash of ``customer_id`` (only the columns the features read), so that each part
    holds every event of its customers and the model's own features of a part are its
    customers' rows; customers without events come last, with none. ``cases`` is the
    combined per-case table."""
    dates = snapshot_cutoffs(customers, cases["start"].min(), cases["end"].max(), settings)  # type: ignore[arg-type]
    if dates is None or customers is None:
        return None
    frames, seen = [], []
    paths = split(events, calls, parts, folder, by="customer_id", columns=FEATURE_COLUMNS)
    for path in paths:
        found = pl.read_parquet(path / "*.parquet").drop("row_nr")
        ids = found["customer_id"].unique()
        seen.append(ids)
        frames.append(_customers_features(found, ids, cases, customers, surveys, settings, dates))
    ids = customers["customer_id"]
    rest = ids.filter(~ids.is_in(pl.concat(seen).implode()))
    schema = {c.name: output_dtype(c) for c in TABLES["events"].columns}
    none = pl.DataFrame(schema={c: schema[c] for c in FEATURE_COLUMNS})
    frames.append(_customers_features(none, rest, cases, customers, surveys, settings, dates))
    return conform("features", pl.concat(frames, how="diagonal_relaxed"))


def _customers_features(
    events: pl.DataFrame,
    ids: pl.Series,
    cases: pl.DataFrame,
    customers: pl.DataFrame,
    surveys: pl.DataFrame | None,
    settings: Settings,
    dates: dict[str, list[dt.date]],
) -> pl.DataFrame:
    """The features of the customers ``ids``, whose every event is in ``events``."""
    mine = pl.col("customer_id").is_in(ids.implode())
    dataset = Dataset(
        "customers",
        "",
        events,
        customers.filter(mine),
        None,
        None if surveys is None else surveys.filter(mine),
        settings,
        LoadReport({}),
    )
    return features_at(dataset, cases.filter(mine), dates)


def reduce_parts(
    events: Sequence[Path],
    settings: Settings,
    parts: int,
    calls: pl.DataFrame | None = None,
    collapse: bool | None = None,
    closing: Sequence[str] = CLOSING_STATES,
    work: Path | None = None,
    progress: Callable[[str], None] | None = None,
    customers: pl.DataFrame | None = None,
    surveys: pl.DataFrame | None = None,
) -> Reduced:
    """The reduced tables of the events in the Parquet files ``events`` (canonical
    columns, export order), of the ``calls`` and, for the risk snapshots, of the
    ``customers`` and ``surveys``, by ``parts`` parts (see the module doc); the parts are
    written under ``work`` (a temporary folder by default) and removed. ``progress`` is
    told of each stage as it ends."""
    say = progress or (lambda _: None)
    folder = Path(tempfile.mkdtemp(prefix="cx-radar-parts-", dir=work))
    try:
        started = time.perf_counter()
        paths = split(events, calls, parts, folder)
        say(f"split into {len(paths)} parts in {time.perf_counter() - started:.1f} s")
        found = []
        for path in paths:
            started = time.perf_counter()
            found.append((path, _reduce_part(_part(path, settings), collapse, closing)))
            cases = found[-1][1].cases.height
            say(f"{path.name}: {cases:,} cases in {time.perf_counter() - started:.1f} s")
        loops = sum(r.loops for _, r in found)
        moves = sum(r.transitions for _, r in found)
        share = loops / moves if moves else 0.0
        collapsed = share > SELF_LOOP_SHARE if collapse is None else collapse
        results = [
            r
            if r.collapsed == collapsed
            else _reduce_part(_part(path, settings), collapsed, closing)
            for path, r in found
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    intervals = None if calls is None else conform("intervals", report_for(calls, settings))
    if not results:
        tables = {n: empty(n) for n in ("cases", "variants", "dfg", "tags")}
        return Reduced(
            **tables, intervals=intervals, loops=Loops(0.0, False), closing=tuple(closing)
        )
    cases = pl.concat([r.cases for r in results])
    cases = cases.with_columns(
        (pl.col("repeated_step") | _returned(cases)).alias("repeat_return"),
        _long_approvals(cases, pl.concat([r.waits for r in results])).alias("long_approval"),
    ).drop("repeated_step")
    paths = pl.concat([r.paths for r in results]).unique("variant", keep="first")
    paths = paths.sort("variant").with_row_index("id")
    per_case = cases.join(paths.select("variant", "id"), on="variant").select(
        "case_id", pl.col("id").alias("variant"), pl.col("path_duration_s").alias("duration_s")
    )
    cases = conform("cases", cases)
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="cx-radar-customers-", dir=work))
    try:
        snapshots = _snapshots(events, calls, parts, folder, cases, customers, surveys, settings)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if snapshots is not None:
        say(f"risk snapshots of {snapshots.height:,} rows in {time.perf_counter() - started:.1f} s")
    return Reduced(
        cases=cases,
        variants=conform(
            "variants",
            variants(per_case, paths.select(pl.col("id").alias("variant"), "path"), cases),
        ),
        dfg=conform(
            "dfg",
            _edges(
                pl.concat([r.seconds for r in results]), pl.concat([r.edge_cases for r in results])
            ),
        ),
        tags=tags_of(cases),
        intervals=intervals,
        loops=Loops(share, collapsed),
        closing=tuple(closing),
        features=snapshots,
    )
