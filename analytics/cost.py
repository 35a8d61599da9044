"""The cost of each event and the cost to serve, from the settings' rates.

Time-driven activity-based costing: an event costs

    handle_s / 60 x cost_per_minute[channel]
    + cost_per_contact            (customer-facing events, see :func:`analytics.kpi.is_contact`)
    + cost_per_manual_step        (is_manual)
    + cost_per_meeting            (channel == "meeting")

unless the export gives an explicit ``cost``, which wins. A channel without a rate costs
nothing per minute (and is listed by :func:`unrated_channels`).

A log without handle times or explicit costs (a plain process log, a ticket system's
status updates) has no measured cost: its figures are estimates from the rates alone
(:func:`cost_basis`), and the app and the command line say so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import polars as pl

from analytics.cases import (
    SELF_LOOP_SHARE,
    Loops,
    _per_second,
    case_bounds,
    case_steps,
    case_table,
    fetch,
    like_chunks,
    self_loops,
    text_codes,
)
from analytics.dataset import Dataset
from analytics.kpi import is_contact
from analytics.schema import Settings

T = TypeVar("T")


def minute_rate(team_cost: float, paid_hours: float, capacity: float = 0.85) -> float:
    """The capacity-cost rate of one handled minute (time-driven ABC):

        team_cost / (paid_hours x capacity x 60)

    ``team_cost`` and ``paid_hours`` over the same period (say a month, all agents);
    ``capacity`` is the share of paid time that can go to handling (breaks, training and
    meetings take the rest: 80-85 % is usual). Raises ``ValueError`` when there is no
    capacity to spread the cost over."""
    if paid_hours <= 0 or not 0 < capacity <= 1:
        raise ValueError("paid hours must be positive and capacity in (0, 1]")
    return team_cost / (paid_hours * capacity * 60)


def channel_terms(settings: Settings) -> dict[str, pl.Expr]:
    """What an event's channel alone decides in the formula: ``rate`` (per handled minute)
    and ``fixed`` (per contact, plus per meeting)."""
    channel = pl.col("channel")
    return {
        "rate": channel.replace_strict(
            settings.cost_per_minute, default=0.0, return_dtype=pl.Float64
        ),
        "fixed": _fixed(settings, is_contact(), channel == "meeting"),
    }


def _fixed(settings: Settings, contact: pl.Expr, meeting: pl.Expr) -> pl.Expr:
    """What an event costs for being a contact and for being a meeting."""
    return pl.when(contact).then(settings.cost_per_contact).otherwise(0.0) + pl.when(meeting).then(
        settings.cost_per_meeting
    ).otherwise(0.0)


def event_cost(settings: Settings, terms: dict[str, pl.Expr] | None = None) -> pl.Expr:
    """The expression for one event's cost under ``settings`` (formula in the module doc).
    ``terms`` stand in for :func:`channel_terms` when those are already columns."""
    terms = channel_terms(settings) if terms is None else terms
    manual = pl.when(pl.col("is_manual").fill_null(False)).then(settings.cost_per_manual_step)
    modelled = (
        pl.col("handle_s").fill_null(0.0) / 60 * terms["rate"]
        + terms["fixed"]
        + manual.otherwise(0.0)
    )
    return pl.coalesce(pl.col("cost"), modelled).alias("event_cost")


CostBasis = Literal["measured", "estimated"]


def cost_basis(events: pl.DataFrame) -> CostBasis:
    """``"measured"`` when some event has a handle time or an explicit cost; else
    ``"estimated"``: every cost comes from the per-contact, per-manual-step and
    per-meeting rates alone, an estimate to be labelled so wherever it is shown."""
    for column in ("handle_s", "cost"):
        if events[column].null_count() < events.height:
            return "measured"
    return "estimated"


def unrated_channels(dataset: Dataset) -> list[str]:
    """Channels in the events with no per-minute rate in the settings."""
    present = dataset.events["channel"].drop_nulls().unique().to_list()
    return sorted(c for c in present if c not in dataset.settings.cost_per_minute)


def monthly_cost_to_serve(dataset: Dataset) -> pl.DataFrame:
    """Per calendar month: total service cost, cases, and cost per case."""
    return (
        dataset.events.lazy()
        .select(
            pl.col("timestamp").dt.truncate("1mo").dt.date().alias("month"),
            "case_id",
            event_cost(dataset.settings),
        )
        .group_by("month")
        .agg(pl.col("event_cost").sum().alias("cost"), pl.col("case_id").n_unique().alias("cases"))
        .with_columns((pl.col("cost") / pl.col("cases")).alias("cost_per_case"))
        .sort("month")
        .collect()
    )


HUMAN_CHANNELS = ("phone", "chat", "messenger", "email", "social", "meeting")
APPROVAL_PATTERN = r"(?i)approv|согласов|одобр"
TAGS = (
    "channel_hopping",
    "repeat_return",
    "reopen",
    "non_standard",
    "long_approval",
    "bot_loop",
    "ping_pong",
)
REOPEN_DAYS = 14
# States that close a case (matched ignoring case); leaving one for any other state is a
# reopen. Editable: the app and the command line take other lists.
CLOSING_STATES = ("resolved", "closed", "решено", "закрыто", "выполнено")


# Bits of the flag word costed_steps packs per event: the human channels, then these.
CONTACT_BIT, MEETING_BIT, MANUAL_BIT = (1 << (len(HUMAN_CHANNELS) + i) for i in range(3))
# The word's bits by name, as case_costs counts them.
VIA = tuple(f"via_{channel}" for channel in HUMAN_CHANNELS)
FLAG_NAMES = (*VIA, "contact", "meeting", "manual")


def costed_steps(dataset: Dataset, steps: pl.DataFrame | None = None) -> pl.DataFrame:
    """:func:`analytics.cases.case_steps` (computed when not given) with what costing
    needs, in step order: ``event_cost``, ``flags`` (a 16-bit word: bit ``i`` for the
    ``i``-th channel of :data:`HUMAN_CHANNELS`, then :data:`CONTACT_BIT`,
    :data:`MEETING_BIT` and :data:`MANUAL_BIT`), ``resource_key`` (a hash of the
    resource, 0 where there is none: a hash is 0 with probability 2⁻⁶⁴) and, when the
    export has the ticket system's counter, ``reopen_count``.

    Whatever depends on the channel alone is worked out once per distinct channel and
    looked up by a channel code: the text of 10 M channels is read once, not four times.
    Rows the mapping marks as contacts or not (``is_contact``) override their channel's
    verdict, and their per-contact cost with it. The cost and the flags are worked out in
    the events' own row order and gathered into step order once: three random gathers at
    10 M events instead of one per column; the flags stay packed for :func:`case_costs`,
    which counts them packed. The resource keys are fetched beside the rest.
    """
    steps = case_steps(dataset.events) if steps is None else steps
    events = dataset.events
    # The resources' keys need nothing from the channels: fetched on a second thread
    # while the channels are coded and looked up (numpy, on one core).
    resource = pl.col("resource")
    resource_key = pl.when(resource.is_not_null()).then(resource.hash()).otherwise(0)
    with ThreadPoolExecutor(1) as beside:
        keys = beside.submit(fetch, events, [resource_key.alias("resource_key")], steps["row"])
        fetched = _channel_costs(dataset, steps["row"])
        return steps.hstack([*fetched, *keys.result()])


def _channel_costs(dataset: Dataset, rows: pl.Series) -> pl.DataFrame:
    """The flag word, the counter (where the export has one) and the event cost of the
    events at ``rows``: see :func:`costed_steps`."""
    events = dataset.events
    codes, names = text_codes(events["channel"], events["channel"].hash().to_numpy())
    bits = [1 << i for i in range(len(HUMAN_CHANNELS))]
    meeting = (pl.col("channel") == "meeting").fill_null(False)
    per_channel = pl.DataFrame({"channel": [*names, None]}, schema={"channel": pl.String}).select(
        **channel_terms(dataset.settings),
        flags=pl.col("channel")
        .replace_strict(HUMAN_CHANNELS, bits, default=0, return_dtype=pl.UInt16)
        .fill_null(0)
        | pl.when(is_contact()).then(CONTACT_BIT).otherwise(0)
        | pl.when(meeting).then(MEETING_BIT).otherwise(0),
    )
    per_event = events.hstack([like_chunks(codes, events["channel"], "_channel")])
    # Each event's channel terms looked up by its code, chunk by chunk inside the pass.
    looked_up = {name: pl.lit(per_channel[name]).gather("_channel") for name in per_channel.columns}
    terms = {"rate": looked_up["rate"], "fixed": looked_up["fixed"]}
    flags = looked_up["flags"] | pl.when(pl.col("is_manual")).then(MANUAL_BIT).otherwise(0)
    if _has_values(events, "is_contact"):
        contact = pl.coalesce("is_contact", looked_up["flags"] & CONTACT_BIT != 0)
        meets = looked_up["flags"] & MEETING_BIT != 0
        terms["fixed"] = _fixed(dataset.settings, contact, meets)
        flags = (flags & (0xFFFF ^ CONTACT_BIT)) | pl.when(contact).then(CONTACT_BIT).otherwise(0)
    if "cost" not in events.columns:
        per_event = per_event.with_columns(pl.lit(None, dtype=pl.Float64).alias("cost"))
    # Most exports have no reopen counter: it is fetched only when it says something.
    counter = ["reopen_count"] if _has_values(events, "reopen_count") else []
    return fetch(
        per_event,
        [
            flags.cast(pl.UInt16).alias("flags"),
            pl.col(counter),
            event_cost(dataset.settings, terms),
        ],
        rows,
    )


def _has_values(events: pl.DataFrame, column: str) -> bool:
    values = events.get_column(column, default=None)
    return values is not None and values.null_count() < values.len()


def _per_case(ufunc: np.ufunc, values: pl.Series | np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``ufunc`` reduced over each case's contiguous steps."""
    array = values.to_numpy() if isinstance(values, pl.Series) else values
    return ufunc.reduceat(array, starts) if starts.size else np.zeros(0, dtype=array.dtype)


def _counts(
    spelt: np.ndarray, names: Sequence[str], starts: np.ndarray, longest: int
) -> dict[str, np.ndarray]:
    """Per case, how many of its steps have each flag (as uint64): flag ``names[i]`` is
    bit ``i`` of the steps' ``spelt`` numbers (unsigned integers).

    Each flag counts in a lane of ``b`` bits of a 64-bit word (``b``: the bits of the
    longest case's length, so that no lane can carry into the next); up to 16 flags
    share a word (64 // ``b`` lanes), and one segment sum of the words counts them all.
    A step's word is looked up in a table by the number its flags spell: one lookup and
    one sum for all the flags at 10 M events, where filling 16-bit lanes flag by flag
    and a sum per four flags took three times the CPU."""
    width = max(1, int(longest).bit_length())
    per = max(1, min(16, 64 // width))
    counts = {}
    for first in range(0, len(names), per):
        group = names[first : first + per]
        number = np.arange(1 << len(group), dtype=np.uint64)
        table = np.zeros(number.size, dtype=np.uint64)
        for i in range(len(group)):
            table += ((number >> np.uint64(i)) & np.uint64(1)) << np.uint64(width * i)
        index = spelt if len(group) == len(names) else (spelt >> first) & (number.size - 1)
        totals = _per_case(np.add, np.take(table, index), starts)
        for i, name in enumerate(group):
            counts[name] = (totals >> np.uint64(width * i)) & np.uint64(2**width - 1)
    return counts


def _slow_approvals(steps: pl.DataFrame, kept: np.ndarray | None = None) -> np.ndarray:
    """Per step: an approval (activity matching ``APPROVAL_PATTERN``) that waited longer
    before the next step of its case than the 90th percentile of its scenario's approval
    waits. With ``kept`` (collapsed self-loops), on the kept steps: the wait runs to the
    next change of state, not the next update. The approval steps are found by activity
    code and their waits read at those steps alone: the percentiles are taken over a
    few hundred thousand waits, not 10 M rows."""
    categories = steps.schema["activity"].categories  # type: ignore[attr-defined]
    approval = np.array([re.search(APPROVAL_PATTERN, a) is not None for a in categories], bool)
    flagged = np.take(approval, steps["activity"].to_physical().to_numpy())
    at = np.flatnonzero(flagged if kept is None else flagged & kept)
    if kept is None:
        after = at + 1
    else:  # the next kept step; past the last one, the step itself (dropped below)
        following = np.flatnonzero(kept)
        after = np.take(following, np.searchsorted(following, at, side="right"), mode="clip")
    case_no = steps["case_no"].to_numpy()
    inside = (after > at) & (after < steps.height)
    inside &= np.take(case_no, after, mode="clip") == case_no[at]
    at, after = at[inside], after[inside]
    timestamps = steps["timestamp"]
    slow = (
        pl.DataFrame(
            {
                "wait": (timestamps.gather(after) - timestamps.gather(at)).dt.total_seconds(),
                "case_scenario": steps["case_scenario"].gather(at),
            }
        )
        .select(pl.col("wait") > pl.col("wait").quantile(0.9).over("case_scenario"))
        .to_series()
        .to_numpy()
    )
    found = np.zeros(steps.height, dtype=bool)
    found[at[slow]] = True
    return found


def _closing(steps: pl.DataFrame, closing: Sequence[str]) -> np.ndarray:
    """Per step, whether its activity is one of the ``closing`` states (ignoring case):
    looked up by activity code."""
    names = {c.strip().casefold() for c in closing}
    categories = steps.schema["activity"].categories  # type: ignore[attr-defined]
    lookup = np.array([a.strip().casefold() in names for a in categories], dtype=bool)
    return np.take(lookup, steps["activity"].to_physical().to_numpy())


def _ping_pongs(key: np.ndarray, case_no: np.ndarray, cases: int) -> np.ndarray:
    """Per case, how often its work went back to the resource it held two hand-offs
    before (A -> B -> A), read on the sequence of distinct consecutive resources: steps
    without a resource (``key`` 0) skipped, repeats of the same resource collapsed.
    (Measured faster at 10 M events than the same with case-start flags and a reduceat.)"""
    known = key != 0
    if not known.all():
        key, case_no = key[known], case_no[known]
    changed = np.ones(key.size, dtype=bool)
    np.not_equal(key[1:], key[:-1], out=changed[1:])
    changed[1:] |= case_no[1:] != case_no[:-1]
    key, case_no = key[changed], case_no[changed]
    back = (key[2:] == key[:-2]) & (case_no[2:] == case_no[:-2])
    return np.bincount(case_no[2:][back], minlength=cases)


def _queued(pool: ThreadPoolExecutor, work: Callable[[], T]) -> Callable[[], T]:
    """``work`` queued on ``pool``'s (busy) thread; the call returned gives its answer,
    worked out on the calling thread if ``pool``'s has not started it yet, rather than
    waited for."""
    task = pool.submit(work)
    return lambda: work() if task.cancel() else task.result()


def case_costs(
    dataset: Dataset,
    steps: pl.DataFrame | None = None,
    collapse: bool | None = None,
    closing: Sequence[str] = CLOSING_STATES,
) -> pl.DataFrame:
    """One row per case, in :func:`~analytics.cases.case_table` order: what it cost, how
    many contacts, and its behaviour tags.

    Columns: ``case_id``, ``customer_id``, ``scenario``, ``start``, ``end``, ``cost``
    (sum of :func:`event_cost`), ``contacts`` (customer-facing events, see
    :func:`analytics.kpi.is_contact`: status updates are steps, not contacts),
    ``channels`` (distinct human channels), ``manual_steps``, ``meetings``, ``reopens``,
    ``duration_s``, and one boolean per tag:

    * ``channel_hopping``: the customer used two or more human channels (phone, chat,
      messenger, e-mail, social, meeting) in the case;
    * ``repeat_return``: a step other than the bot was done again, or the same customer
      opened a case of the same scenario within ``REOPEN_DAYS`` days of the previous end;
    * ``reopen``: the case left a ``closing`` state (resolved, closed...) for another
      one; where the export has the ticket system's ``reopen_count``, its largest value
      in the case (more than 0) decides instead;
    * ``non_standard``: at least one manual exception / approval / custom-work step;
    * ``long_approval``: an approval step (activity matching ``APPROVAL_PATTERN``) waited
      longer before the next step than the scenario's 90th percentile for approvals;
    * ``bot_loop``: two or more bot-to-bot transitions (three bot steps in a row or more);
    * ``ping_pong``: the case went back to a resource it had just left at least twice
      (A -> B -> A -> B), on its sequence of distinct consecutive resources (repeats
      collapsed, steps without a resource skipped); one return is an ordinary hand-off
      to the back office and back.

    Self-loops (consecutive updates in the same activity, see
    :func:`~analytics.cases.self_loops`) are collapsed for the path tags when
    ``collapse`` says so (by default: in a status-update log): a state kept over several
    updates is then neither a repeat nor an approval's wait cut short. Cost, contacts
    and bot loops count every event.

    ``steps`` are :func:`costed_steps` of the dataset when already at hand. A dataset
    opened from a folder ``cx-radar reduce`` wrote has these rows already (in ``case_id``
    order, counts as Int64): they are read from there when the reduce read the paths as
    asked here.
    """
    reduced = dataset.reduced_tables() if steps is None else None
    if reduced is not None and tuple(reduced.closing) == tuple(closing):
        loops = reduced.loops
        if loops.collapsed == (loops.share > SELF_LOOP_SHARE if collapse is None else collapse):
            return reduced.cases.drop("variant", "steps", "path_duration_s")
    if steps is None:
        steps = costed_steps(dataset)
    loop, loops = self_loops(steps, collapse)
    starts, ends = case_bounds(steps)
    # numpy runs on one core: the return chain (which needs each case's first and last
    # step alone), the ids and the ping-pongs are queued on a second thread beside the
    # per-step flags; what it has not started when they are needed is done here.
    first_rows = pl.Series("row", np.take(steps["row"].to_numpy(), starts))
    events = dataset.events
    with ThreadPoolExecutor(1) as beside:
        chained = beside.submit(_returns, events, steps, first_rows, starts, ends)
        ids = _queued(beside, lambda: fetch(events, [pl.col("case_id", "customer_id")], first_rows))
        on_steps = (steps["resource_key"].to_numpy(), steps["case_no"].to_numpy(), starts.size)
        pongs = _queued(beside, lambda: _ping_pongs(*on_steps))
        bot = pl.col("activity") == "bot"
        repeated = pl.col("repeat") & ~bot
        if loops.collapsed:
            repeated = repeated & pl.lit(pl.Series(~loop))
        closed = _closing(steps, closing)
        reopened = np.zeros(steps.height, dtype=bool)
        np.greater(closed[:-1], closed[1:], out=reopened[1:])  # closing, then not closing
        reopened &= steps["step"].to_numpy() != 0
        # Steps are case-contiguous: per-case totals are segment reductions, not a
        # group-by over millions of groups (measured 10x slower at 10 M events). The
        # flags word's bits come first, then the path flags, one bit each.
        pairs = steps.select(
            (bot & bot.shift(1) & (pl.col("step") >= 1)).fill_null(False).alias("bot_pair"),
            repeated.alias("repeated_step"),
        )
        spelt = steps["flags"].to_numpy().astype(np.uint16)
        more = {
            **{name: pairs[name].to_numpy() for name in pairs.columns},
            "slow_approval": _slow_approvals(steps, ~loop if loops.collapsed else None),
            "reopen_step": reopened,
        }
        for bit, values in enumerate(more.values(), start=len(FLAG_NAMES)):
            spelt |= values.astype(np.uint16) << np.uint16(bit)
        counts = _counts(spelt, [*FLAG_NAMES, *more], starts, int((ends - starts).max(initial=0)))
        channels = sum((counts[name] > 0).astype(np.uint32) for name in VIA)
        reopens = counts["reopen_step"].astype(np.int64)
        if "reopen_count" in steps.columns:
            counter = _per_case(np.maximum, steps["reopen_count"].fill_null(-1), starts)
            reopens = np.where(counter >= 0, counter, reopens)
        reduced = {
            "cost": _per_case(np.add, steps["event_cost"], starts),
            "contacts": counts["contact"],
            "channels": channels,
            "manual_steps": counts["manual"],
            "meetings": counts["meeting"],
            "reopens": reopens,
            "bot_loop": counts["bot_pair"] >= 2,
            "ping_pong": pongs() >= 2,
            "repeated_step": counts["repeated_step"] > 0,
            "long_approval": counts["slow_approval"] > 0,
        }
        cases = case_table(steps, None, reduced)
        fetched = ids()
        returned = chained.result()
    return (
        cases.hstack(fetched)
        .drop("case_no", "variant", "steps")
        .with_columns(
            (pl.col("channels") >= 2).alias("channel_hopping"),
            (pl.col("manual_steps") > 0).alias("non_standard"),
            (pl.col("reopens") > 0).alias("reopen"),
            (pl.col("repeated_step") | pl.Series(returned)).alias("repeat_return"),
        )
        .drop("repeated_step")
    )


def _returns(
    events: pl.DataFrame,
    steps: pl.DataFrame,
    rows: pl.Series,
    starts: np.ndarray,
    ends: np.ndarray,
) -> np.ndarray:
    """Per case (starting at ``starts`` of ``steps`` and at ``rows`` of the ``events``,
    ending before ``ends``), whether it is a return (:func:`_returned`)."""
    # The customer's hash read in the events' own order: hashing the 2 M ids gathered
    # into case order reads each long id from a random place (3x the CPU).
    customer = np.take(events["customer_id"].hash().to_numpy(), rows.to_numpy())
    timestamps = steps["timestamp"]
    cases = pl.DataFrame(
        {
            "scenario": steps["case_scenario"].gather(starts),
            "start": timestamps.gather(starts),
            "end": timestamps.gather(ends - 1),
        }
    )
    return _returned(cases, customer, lambda at: events["case_id"].gather(rows.gather(at)))


def _returned(
    cases: pl.DataFrame, customer: np.ndarray, case_ids: Callable[[np.ndarray], pl.Series]
) -> np.ndarray:
    """Per case (in ``cases`` order, ``customer``: the hash of its ``customer_id``;
    ``case_ids`` gives the ``case_id`` of the cases at given positions): the previous
    case of the same customer and scenario, by start (then by ``case_id``, as every
    engine orders them), ended at most ``REOPEN_DAYS`` before this one started.

    The cases are put in (customer and scenario, start) order by one sort of a single
    64-bit key: a hash of (customer, scenario) in the top bits, the start in whole seconds
    below (the starts of case steps are whole seconds; coarser when the log spans more
    than 2^40 s). Any order with each (customer, scenario) contiguous and by start gives
    the same answer, so the key need not order distinct hashes exactly. Where two
    neighbours share the key's hash bits but not the whole hash (about n^2 / 2^(65 - b)
    pairs for a start span of ``b`` bits), or share the key (the same start), their run of
    equal hash bits is sorted again exactly, by (hash, start, ``case_id``): a few cases,
    whose ids alone are read.
    Against Polars' sort by the two columns: about 3x less CPU at 2 M cases."""
    who = customer ^ cases["scenario"].hash(1).to_numpy()
    start = cases["start"].to_physical().to_numpy()
    end = cases["end"].to_physical().to_numpy()
    if not who.size:
        return np.zeros(0, dtype=bool)
    per_second = _per_second(cases.schema["start"])
    seconds = (start - start.min()) // per_second
    bits = max(1, int(seconds.max()).bit_length())
    coarse = max(0, bits - 40)
    bits -= coarse
    key = who & ~np.uint64((1 << bits) - 1)
    key |= (seconds >> coarse).astype(np.uint64)
    order = pl.Series(key).arg_sort().to_numpy()
    key, who = np.take(key, order), np.take(who, order)
    top = key >> np.uint64(bits)
    block = top[1:] == top[:-1]
    suspect = block & ((who[1:] != who[:-1]) | (key[1:] == key[:-1]))
    if suspect.any():
        runs = np.cumsum(np.concatenate(([True], ~block)))  # run number of equal hash bits
        at = np.flatnonzero(np.isin(runs, runs[1:][suspect]))
        exact = pl.DataFrame(
            {
                "run": runs[at],
                "who": who[at],
                "start": start[order[at]],
                "case_id": case_ids(order[at]),
            }
        ).select(pl.arg_sort_by("run", "who", "start", "case_id"))
        fixed = exact.to_series().to_numpy()
        order = order.copy()  # Polars' buffer is read-only
        order[at], who[at] = order[at][fixed], who[at][fixed]
    start, end = np.take(start, order), np.take(end, order)
    limit = REOPEN_DAYS * 86_400 * per_second
    again = (who[1:] == who[:-1]) & (start[1:] - end[:-1] <= limit)
    returned = np.zeros(who.size, dtype=bool)
    returned[order[1:]] = again
    return returned


@dataclass(frozen=True)
class CostView:
    """What the cost page shows: the :func:`case_costs`, the self-loops found in the
    steps (and whether the path tags collapsed them), and the :func:`cost_basis`."""

    cases: pl.DataFrame
    loops: Loops
    basis: CostBasis


def cost_view(
    dataset: Dataset, collapse: bool | None = None, closing: Sequence[str] = CLOSING_STATES
) -> CostView:
    """:func:`case_costs` with the :class:`CostView` around them."""
    steps = costed_steps(dataset)
    _, loops = self_loops(steps, collapse)
    cases = case_costs(dataset, steps, loops.collapsed, closing)
    return CostView(cases, loops, cost_basis(dataset.events))


def closing_states(dataset: Dataset) -> tuple[list[str], list[str]]:
    """The events' activities, sorted, and those of them that are
    :data:`CLOSING_STATES` (ignoring case): the choices of closing states and the
    default choice."""
    names = {c.casefold() for c in CLOSING_STATES}
    present = sorted(dataset.events["activity"].drop_nulls().unique().to_list())
    return present, [a for a in present if a.strip().casefold() in names]


def group_totals(frame: pl.DataFrame, by: Sequence[str], value: str) -> pl.DataFrame:
    """Per group of ``by`` (null a group of its own; no ``by``: one group), in group
    order: ``rows``, ``values`` (the non-null ones), their ``total`` and ``mean`` (null
    without values). The same to the last bit in any row order: the rows are put in order
    of the groups and the value, and each group's values added one by one in that order.
    (Polars' parallel group-by adds its threads' partial sums in whatever order they
    finish: last-bit differences from run to run at millions of cases.) The order is one
    sort of the values and a stable sort of each group column's codes (:func:`_group_codes`)
    after it: a sort of millions of rows by several columns compares rows field by field,
    5-7x the CPU time."""
    n, column = frame.height, frame[value]
    order = np.argsort(column.cast(pl.Float64).to_numpy())  # nulls (NaN here) last
    codes = [_group_codes(frame[c]) for c in by]
    for code in reversed(codes):
        order = order[np.argsort(code[order], kind="stable")]
    if by and n:
        flags = np.zeros(n, dtype=bool)
        flags[0] = True
        for code in codes:
            ranked = code[order]
            flags[1:] |= ranked[1:] != ranked[:-1]
        starts = np.flatnonzero(flags)
    else:
        starts = np.zeros(0 if by else 1, dtype=np.int64)
    known = column.is_not_null().to_numpy()[order].astype(np.int64)
    amounts = column.fill_null(0).cast(pl.Float64).to_numpy()[order]
    totals, values = (
        (np.add.reduceat(a, starts) for a in (amounts, known))
        if n
        else (np.zeros(starts.size), np.zeros(starts.size, dtype=np.int64))
    )
    mean = np.full(starts.size, np.nan)
    np.divide(totals, values, out=mean, where=values > 0)
    sums = pl.DataFrame(
        {
            "rows": np.diff(np.append(starts, n)).astype(np.int64),
            "values": values.astype(np.int64),
            "total": totals.astype(np.float64),
            "mean": mean,
        }
    ).with_columns(pl.col("mean").fill_nan(None))
    return frame.select(by)[order[starts]].hstack(sums) if by else sums


def _group_codes(column: pl.Series) -> np.ndarray:
    """Codes that order the rows as sorting ``column`` would, nulls last: text as an Enum
    of its distinct values in text order (no string comparisons over millions of rows),
    other types by dense rank; 16-bit when they fit, which numpy sorts by radix."""
    if column.dtype == pl.String:
        column = column.cast(pl.Enum(column.unique().drop_nulls().sort()))
    ranks = column.to_physical() if isinstance(column.dtype, pl.Enum) else column.rank("dense")
    top = ranks.max()
    last = 0 if top is None else int(top) + 1  # type: ignore[arg-type]
    return ranks.fill_null(last).to_numpy().astype(np.uint16 if last < 2**16 else np.uint32)


def with_excess(cases: pl.DataFrame) -> pl.DataFrame:
    """Cases (in their order) with ``excess``: their cost minus the mean cost of the same
    scenario's standard cases (those with no behaviour tag at all; cases without a
    scenario are one scenario). Null where the scenario has no standard case to compare
    with. The means are :func:`group_totals`: the same whatever the cases' order."""
    untagged = ~pl.any_horizontal(list(TAGS))
    standard = group_totals(cases.filter(untagged), ["scenario"], "cost").select(
        "scenario", pl.col("mean").alias("standard_cost")
    )
    return cases.join(
        standard, on="scenario", how="left", nulls_equal=True, maintain_order="left"
    ).with_columns((pl.col("cost") - pl.col("standard_cost")).alias("excess"))


def excess_cost(cases: pl.DataFrame) -> float:
    """The excess cost to serve: over the cases with at least one behaviour tag, the sum
    of their :func:`with_excess` (cost minus the scenario's standard mean).

    Each case counts once however many tags it has, so the total never exceeds the
    whole cost to serve (costs are not negative, nor then is a standard mean): the
    per-tag ``at_stake`` of :func:`tag_costs` overlap and must not be added up.
    """
    tagged = _priced(cases).filter(pl.any_horizontal(list(TAGS)))
    return float(group_totals(tagged, [], "excess")["total"][0])


def _priced(cases: pl.DataFrame) -> pl.DataFrame:
    """:func:`with_excess` of only the columns the tag sums read (``scenario``, ``cost``
    and the tags): at 20 M cases a copy of the whole table is gigabytes."""
    return with_excess(cases.select("scenario", "cost", *TAGS))


def _tagged(cases: pl.DataFrame) -> pl.DataFrame:
    """One row per (case, tag it has) of :func:`with_excess`: ``scenario``, ``excess``,
    ``cost`` and ``tag``. Filtered tag by tag, not unpivoted: an unpivot first makes a row
    for every case and every tag (140 M rows at 20 M cases)."""
    priced = _priced(cases)
    return pl.concat(
        priced.filter(pl.col(tag)).select("scenario", "excess", "cost", pl.lit(tag).alias("tag"))
        for tag in TAGS
    )


def tag_costs(cases: pl.DataFrame) -> pl.DataFrame:
    """Per behaviour tag: share of cases, extra cost per tagged case against the same
    scenario's standard cases (cases with no tag at all), and the money at stake.

    ``extra = mean(cost | tagged, scenario) - mean(cost | no tag, scenario)``, averaged over
    scenarios weighted by tagged cases; ``at_stake = sum over tagged cases of (cost - the
    scenario's standard mean)``. A case with several tags counts under each: the total
    over all tags, each case once, is :func:`excess_cost`. Sums by :func:`group_totals`:
    the same to the last bit whatever the cases' order.
    """
    tagged = _tagged(cases)
    money = group_totals(tagged, ["tag"], "excess").join(
        group_totals(tagged, ["tag"], "cost").select("tag", pl.col("mean").alias("mean_cost")),
        on="tag",
    )
    rows = []
    for tag in TAGS:
        found = money.filter(pl.col("tag") == tag)
        count = int(found["rows"][0]) if found.height else 0
        rows.append(
            {
                "tag": tag,
                "cases": count,
                "share": count / cases.height if cases.height else 0.0,
                "mean_cost": found["mean_cost"][0] if count else None,
                "extra_per_case": found["mean"][0] if count else None,
                "at_stake": float(found["total"][0]) if count else 0.0,
            }
        )
    return pl.DataFrame(rows).sort("at_stake", descending=True, nulls_last=True)


def priciest(cases: pl.DataFrame) -> pl.DataFrame:
    """(scenario, behaviour) combinations ranked by total excess cost over the scenario's
    standard cases: the first place to look. Sums by :func:`group_totals`."""
    return (
        group_totals(_tagged(cases), ["scenario", "tag"], "excess")
        .select(
            "scenario",
            "tag",
            pl.col("rows").alias("cases"),
            pl.col("mean").alias("extra_per_case"),
            pl.col("total").alias("excess_cost"),
        )
        .sort(["excess_cost", "scenario", "tag"], descending=[True, False, False])
    )


def customer_costs(
    cases: pl.DataFrame, customers: pl.DataFrame | None, months: float
) -> pl.DataFrame:
    """Per customer: cases, contacts, service cost over the period, and against revenue:
    ``revenue = monthly_revenue x months`` and ``margin = revenue - cost``. Every customer
    is counted for the whole period, including those who joined or left during it."""
    per = cases.group_by("customer_id").agg(
        pl.len().alias("cases"),
        pl.col("contacts").sum(),
        pl.col("cost").sum(),
        pl.col("manual_steps").sum(),
        # the most frequent; a tie goes to the first name, not to whichever came first
        pl.col("scenario").mode().sort().first().alias("main_scenario"),
    )
    if customers is None:
        return per
    return per.join(
        customers.select("customer_id", "segment", "region", "monthly_revenue"),
        on="customer_id",
        how="left",
    ).with_columns(
        (pl.col("monthly_revenue") * months).alias("revenue"),
        (pl.col("monthly_revenue") * months - pl.col("cost")).alias("margin"),
    )


def _ranked_share(values: pl.Series, points: int) -> tuple[list[float], list[float]]:
    """Values ranked from largest to smallest: at ``points`` evenly spaced ranks, the share
    of items so far and their cumulative share of the total."""
    ranked = values.drop_nulls().sort(descending=True)
    cumulative = ranked.cum_sum() / ranked.sum()
    n = ranked.len()
    idx = [min(n - 1, round(i / (points - 1) * (n - 1))) for i in range(points)]
    return [(i + 1) / n for i in idx], [cumulative[i] for i in idx]


def pareto(customers: pl.DataFrame, points: int = 101) -> pl.DataFrame:
    """The cost concentration curve: customers ranked by cost, most expensive first;
    ``customer_share`` against ``cost_share`` (the top X % take Y % of the cost)."""
    share, cumulative = _ranked_share(customers["cost"], points)
    return pl.DataFrame({"customer_share": share, "cost_share": cumulative})


def whale(customers: pl.DataFrame, points: int = 101) -> pl.DataFrame:
    """The whale curve: customers ranked from most to least profitable (margin after
    service cost), cumulative margin as a share of the total."""
    share, cumulative = _ranked_share(customers["margin"], points)
    return pl.DataFrame({"customer_share": share, "cumulative_margin_share": cumulative})


def twins(
    cases: pl.DataFrame, customers: pl.DataFrame, bands: int = 5, min_cases: int = 50
) -> pl.DataFrame:
    """Cases of customers alike on paper: same segment, same revenue band (quantiles of
    monthly revenue within the segment), same scenario. Per group: the spread of contacts
    and cost per case (p10, p50, p90, min, max), ``ratio`` = p90 / p10 contacts, and an
    example pair: ``low_case`` at the 10th percentile of contacts and ``high_case`` with
    the most contacts. Groups with fewer than ``min_cases`` cases are left out."""
    banded = customers.filter(pl.col("monthly_revenue").is_not_null()).select(
        "customer_id",
        "segment",
        (
            pl.col("monthly_revenue").rank("ordinal").over("segment")
            * bands
            / pl.len().over("segment")
        )
        .ceil()
        .cast(pl.Int32)
        .clip(1, bands)
        .alias("revenue_band"),
        "monthly_revenue",
    )
    by_contacts = pl.col("case_id").sort_by("contacts", "case_id")
    return (
        cases.join(banded, on="customer_id")
        .group_by("segment", "revenue_band", "scenario")
        .agg(
            pl.len().alias("cases"),
            pl.col("monthly_revenue").min().alias("revenue_from"),
            pl.col("monthly_revenue").max().alias("revenue_to"),
            pl.col("contacts").quantile(0.1, "nearest").alias("contacts_p10"),
            pl.col("contacts").quantile(0.5, "nearest").alias("contacts_p50"),
            pl.col("contacts").quantile(0.9, "nearest").alias("contacts_p90"),
            pl.col("contacts").min().alias("contacts_min"),
            pl.col("contacts").max().alias("contacts_max"),
            pl.col("cost").quantile(0.1).alias("cost_p10"),
            pl.col("cost").median().alias("cost_p50"),
            pl.col("cost").quantile(0.9).alias("cost_p90"),
            by_contacts.gather((pl.len() - 1) // 10).first().alias("low_case"),
            by_contacts.last().alias("high_case"),
        )
        .filter(pl.col("cases") >= min_cases)
        .with_columns((pl.col("contacts_p90") / pl.col("contacts_p10")).alias("ratio"))
        .sort(["ratio", "cases"], descending=True)
    )


def manual_steps(dataset: Dataset) -> pl.DataFrame:
    """Where manual exceptions appear and what they cost: per activity flagged
    ``is_manual``, the steps, the cases, their cost and the share of all service cost."""
    costed = dataset.events.lazy().with_columns(event_cost(dataset.settings))
    total = costed.select(pl.col("event_cost").sum()).collect().item()
    return (
        costed.filter(pl.col("is_manual").fill_null(False))
        .group_by("scenario", "activity")
        .agg(
            pl.len().alias("steps"),
            pl.col("case_id").n_unique().alias("cases"),
            pl.col("event_cost").sum().alias("cost"),
        )
        .with_columns((pl.col("cost") / total).alias("share_of_cost"))
        .sort(["cost", "scenario", "activity"], descending=[True, False, False])
        .collect()
    )


def quantiles(frame: pl.DataFrame, value: str, by: str) -> pl.DataFrame:
    """p10, p25, p50, p75, p90 and p99 of ``value`` per ``by`` group (as ``group``)."""
    qs = {"p10": 0.1, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p90": 0.9, "p99": 0.99}
    return (
        frame.group_by(pl.col(by).alias("group"))
        .agg(
            *(pl.col(value).quantile(q).alias(name) for name, q in qs.items()), pl.len().alias("n")
        )
        .sort("p50", descending=True)
    )


def period_months(events: pl.DataFrame) -> float:
    """Length of the events' period in months (days / 30.44), at least one."""
    if events.is_empty():
        return 1.0
    span = events["timestamp"].max() - events["timestamp"].min()  # type: ignore[operator]
    return max(1.0, span.total_seconds() / 86400 / 30.44)
