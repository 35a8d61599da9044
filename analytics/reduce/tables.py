"""The reduced tables, their schemas, and the embedded Polars engine that defines them.

Every engine writes the same tables, with the schemas below and in the sort order of
:data:`ORDER`:

* ``cases``: one row per case: :func:`analytics.cost.case_costs` (``case_id``,
  ``customer_id``, ``scenario``, ``start``, ``end``, ``duration_s`` from the first to the
  last event, ``cost``, ``contacts``, ``channels``, ``manual_steps``, ``meetings``,
  ``reopens`` and the behaviour tags of :data:`analytics.cost.TAGS`) with the case's path:
  ``variant`` (its activities joined by :data:`analytics.process.SEP`), ``steps`` on it and
  ``path_duration_s`` from its first to its last step. In a status-update log whose
  self-loops are collapsed (see :func:`analytics.cases.self_loops`) the path is that of
  the collapsed steps, so ``path_duration_s`` ends when the case entered its last state;
  elsewhere it equals ``duration_s``;
* ``variants``: :func:`analytics.process.variants` of the paths, with ``median_cost``;
* ``dfg``: :func:`analytics.process.directly_follows` of the paths;
* ``tags``: :func:`analytics.cost.tag_costs` of the cases, in :data:`TAGS` order;
* ``intervals``: :func:`analytics.calls.interval_report` of the per-call records under
  the dataset's settings (interval, target, short abandons); absent without calls;
* ``features``: the churn-risk model's per-customer features
  (:func:`analytics.risk_features.features`) at each of its snapshot cut-offs
  (:func:`analytics.risk_features.cutoffs`, default horizon), with the ``cutoff`` and its
  ``role`` (train, validation, score); absent without customers and events with a dated
  outcome (:func:`analytics.risk.data_mode`). Every engine writes it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from analytics.calls import report_for
from analytics.cases import Loops, case_steps, case_table, collapse_self_loops, self_loops
from analytics.churn import COMPLAINT_PATTERN
from analytics.cost import (
    APPROVAL_PATTERN,
    CLOSING_STATES,
    HUMAN_CHANNELS,
    TAGS,
    case_costs,
    channel_terms,
    costed_steps,
    tag_costs,
)
from analytics.dataset import Dataset, LoadReport
from analytics.kpi import is_contact
from analytics.process import SEP, directly_follows, variant_paths, variants
from analytics.risk import RiskUnavailable, data_mode
from analytics.risk_features import FEATURES, cutoffs, features
from analytics.schema import Settings

_COUNT = pl.Int64
_TIME = pl.Datetime("us")

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "cases": {
        "case_id": pl.String(),
        "customer_id": pl.String(),
        "scenario": pl.String(),
        "start": _TIME,
        "end": _TIME,
        "duration_s": _COUNT(),
        "cost": pl.Float64(),
        "contacts": _COUNT(),
        "channels": _COUNT(),
        "manual_steps": _COUNT(),
        "meetings": _COUNT(),
        "reopens": _COUNT(),
        **{tag: pl.Boolean() for tag in TAGS},
        "variant": pl.String(),
        "steps": _COUNT(),
        "path_duration_s": _COUNT(),
    },
    "variants": {
        "variant": pl.String(),
        "path": pl.List(pl.String),
        "cases": _COUNT(),
        "steps": _COUNT(),
        "median_duration_s": pl.Float64(),
        "median_cost": pl.Float64(),
        "share": pl.Float64(),
        "cumulative_share": pl.Float64(),
    },
    "dfg": {
        "source": pl.String(),
        "target": pl.String(),
        "count": _COUNT(),
        "cases": _COUNT(),
        "median_s": pl.Float64(),
        "rework_share": pl.Float64(),
        "rework": pl.Boolean(),
    },
    "tags": {
        "tag": pl.String(),
        "cases": _COUNT(),
        "share": pl.Float64(),
        "mean_cost": pl.Float64(),
        "extra_per_case": pl.Float64(),
        "at_stake": pl.Float64(),
    },
    "intervals": {
        "interval_start": _TIME,
        "queue": pl.String(),
        "offered": _COUNT(),
        "answered": _COUNT(),
        "abandoned": _COUNT(),
        "answered_in_target": _COUNT(),
        "target_answer_s": pl.Float64(),
        "asa_s": pl.Float64(),
        "aht_s": pl.Float64(),
        "wait_total_s": pl.Float64(),
        "agents": pl.Float64(),
    },
    "features": {
        "cutoff": pl.Date(),
        "role": pl.String(),
        "customer_id": pl.String(),
        **{name: pl.Float64() for name in FEATURES},
        "segment": pl.String(),
        "region": pl.String(),
        "scenario": pl.String(),
        "channel": pl.String(),
        "churn_date": pl.Date(),
    },
}

# Each table's rows in a total order: the same data gives the same file.
ORDER: dict[str, tuple[list[str], list[bool]]] = {
    "cases": (["case_id"], [False]),
    "variants": (["cases", "variant"], [True, False]),
    "dfg": (["count", "source", "target"], [True, False, False]),
    "tags": (["tag_order"], [False]),
    "intervals": (["queue", "interval_start"], [False, False]),
    "features": (["cutoff", "customer_id"], [False, False]),
}


def conform(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` as the table ``name``: its columns in schema order and types, its rows in
    :data:`ORDER`."""
    by, descending = ORDER[name]
    if name == "tags":
        frame = frame.with_columns(
            pl.col("tag").replace_strict(TAGS, range(len(TAGS)), default=None).alias("tag_order")
        )
    schema = SCHEMAS[name]
    return (
        frame.sort(by, descending=descending, nulls_last=True)
        .select(pl.col(c).cast(t) for c, t in schema.items())
        .rechunk()
    )


@dataclass(frozen=True)
class Reduced:
    """The reduced tables of one dataset (``intervals`` is None without calls) and how the
    paths were read: the self-``loops`` and the ``closing`` states of the reopen tag."""

    cases: pl.DataFrame
    variants: pl.DataFrame
    dfg: pl.DataFrame
    tags: pl.DataFrame
    intervals: pl.DataFrame | None
    loops: Loops
    closing: tuple[str, ...]
    features: pl.DataFrame | None = None

    def tables(self) -> dict[str, pl.DataFrame]:
        """The present tables by name."""
        found = {
            "cases": self.cases,
            "variants": self.variants,
            "dfg": self.dfg,
            "tags": self.tags,
            "intervals": self.intervals,
            "features": self.features,
        }
        return {name: table for name, table in found.items() if table is not None}


def channel_lookup(channels: Sequence[str | None], settings: Settings) -> pl.DataFrame:
    """What an event's channel alone decides, per distinct channel (None included), by the
    expressions :func:`analytics.cost.costed_steps` uses: ``rate`` per handled minute,
    ``contact`` (before a row's own ``is_contact``), ``meeting`` and ``human_channel``
    (one bit per :data:`analytics.cost.HUMAN_CHANNELS`); and the ``promised`` wait the
    risk features compare waits with. A few rows, worked out once and joined onto the
    events by engines that cannot run Polars expressions."""
    bits = [1 << i for i in range(len(HUMAN_CHANNELS))]
    frame = pl.DataFrame(
        {"channel": list(dict.fromkeys([*channels, None]))}, schema={"channel": pl.String}
    )
    return frame.with_columns(
        rate=channel_terms(settings)["rate"],
        contact=is_contact(),
        meeting=(pl.col("channel") == "meeting").fill_null(False),
        human_channel=pl.col("channel")
        .replace_strict(HUMAN_CHANNELS, bits, default=0, return_dtype=pl.Int64)
        .fill_null(0),
        promised=pl.col("channel").replace_strict(
            settings.promised_wait_s, default=None, return_dtype=pl.Float64
        ),
    )


def activity_sets(activities: Sequence[str], closing: Sequence[str]) -> tuple[list[str], list[str]]:
    """Of the distinct ``activities``: the approvals (matching
    :data:`analytics.cost.APPROVAL_PATTERN`) and the ``closing`` states (ignoring case and
    surrounding blanks), by the rules of :func:`analytics.cost.case_costs`."""
    names = {c.strip().casefold() for c in closing}
    approvals = [a for a in activities if re.search(APPROVAL_PATTERN, a)]
    return approvals, [a for a in activities if a.strip().casefold() in names]


def complaints(activities: Sequence[str]) -> list[str]:
    """Of the distinct ``activities``: the complaints, by the risk features' own pattern
    (:data:`analytics.churn.COMPLAINT_PATTERN`, matched by Polars as they match it)."""
    found = pl.Series("activity", list(activities), dtype=pl.String)
    return found.filter(found.str.contains(COMPLAINT_PATTERN)).to_list()


def tags_of(cases: pl.DataFrame) -> pl.DataFrame:
    """:func:`analytics.cost.tag_costs` of the ``cases`` table, whose rows are in
    ``case_id`` order: sums of money are added in one order whatever the engine."""
    return conform("tags", tag_costs(cases))


def empty(name: str) -> pl.DataFrame:
    """The table ``name`` without rows."""
    return pl.DataFrame(schema=SCHEMAS[name])


def snapshot_cutoffs(
    customers: pl.DataFrame | None,
    first: dt.datetime | None,
    last: dt.datetime | None,
    settings: Settings,
) -> dict[str, list[dt.date]] | None:
    """The risk model's snapshot cut-offs (:func:`analytics.risk_features.cutoffs`) by role
    for events from ``first`` to ``last``; None when the model does not work from
    snapshots of events (:func:`analytics.risk.data_mode`: no customers, no events, no
    dated outcome). The model's own functions decide, on a stand-in dataset whose events
    are the two bounds: both read no more of the events than that."""
    bounds = [first, last] if first is not None and last is not None else []
    events = pl.DataFrame({"timestamp": bounds}, schema={"timestamp": _TIME})
    probe = Dataset("bounds", "", events, customers, None, None, settings, LoadReport({}))
    try:
        if data_mode(probe) != "time_split":
            return None
    except RiskUnavailable:
        return None
    return cutoffs(probe)


def features_at(
    dataset: Dataset, cases: pl.DataFrame, dates: dict[str, list[dt.date]]
) -> pl.DataFrame:
    """The model's own :func:`analytics.risk_features.features` of ``dataset`` at each
    cut-off of ``dates``, with ``cutoff`` and ``role`` (rows in no set order)."""
    frames = [
        features(dataset, cutoff, cases).with_columns(
            pl.lit(cutoff).alias("cutoff"), pl.lit(role).alias("role")
        )
        for role, days in dates.items()
        for cutoff in days
    ]
    return pl.concat(frames, how="diagonal_relaxed")


def snapshot_features(dataset: Dataset, cases: pl.DataFrame) -> pl.DataFrame | None:
    """The risk model's per-customer features at each of its snapshot cut-offs, by the
    model's own definitions, with ``cutoff`` and ``role``; ``cases`` are the
    :func:`analytics.cost.case_costs` of the dataset. None when the model does not work
    from snapshots of events (no customers, no dated outcome)."""
    times = dataset.events["timestamp"]
    dates = snapshot_cutoffs(dataset.customers, times.min(), times.max(), dataset.settings)  # type: ignore[arg-type]
    return None if dates is None else conform("features", features_at(dataset, cases, dates))


def reduce_dataset(
    dataset: Dataset, collapse: bool | None = None, closing: Sequence[str] = CLOSING_STATES
) -> Reduced:
    """The reduced tables of a dataset held in memory: the reference every other engine
    is tested against. ``collapse`` and ``closing`` as in :func:`analytics.cost.case_costs`
    (``collapse`` None: a status-update log's self-loops are collapsed)."""
    events = dataset.events
    calls = dataset.calls
    intervals = None if calls is None else conform("intervals", report_for(calls, dataset.settings))
    if events.is_empty():
        paths = {n: empty(n) for n in ("cases", "variants", "dfg", "tags")}
        return Reduced(
            **paths, intervals=intervals, loops=Loops(0.0, False), closing=tuple(closing)
        )
    steps = case_steps(events)
    loop, loops = self_loops(steps, collapse)
    path_steps = collapse_self_loops(steps, loop) if loops.collapsed else steps
    costs = case_costs(dataset, costed_steps(dataset, steps), loops.collapsed, closing)
    per_case, paths = case_table(path_steps, events), variant_paths(path_steps)
    texts = paths.select(
        "variant", pl.col("path").cast(pl.List(pl.String)).list.join(SEP).alias("path_text")
    )
    on_path = per_case.join(texts, on="variant").select(
        "case_id",
        pl.col("path_text").alias("variant"),
        "steps",
        pl.col("duration_s").alias("path_duration_s"),
    )
    cases = conform("cases", costs.join(on_path, on="case_id"))
    return Reduced(
        cases=cases,
        variants=conform("variants", variants(per_case, paths, costs)),
        dfg=conform("dfg", directly_follows(path_steps)),
        tags=tags_of(cases),
        intervals=None
        if calls is None
        else conform("intervals", report_for(calls, dataset.settings)),
        loops=loops,
        closing=tuple(closing),
        features=snapshot_features(dataset, costs),
    )
