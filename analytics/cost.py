"""The cost of each event and the cost to serve, from the settings' rates.

Time-driven activity-based costing: an event costs

    handle_s / 60 x cost_per_minute[channel]
    + cost_per_contact            (customer-facing events, see :func:`analytics.kpi.is_contact`)
    + cost_per_manual_step        (is_manual)
    + cost_per_meeting            (channel == "meeting")

unless the export gives an explicit ``cost``, which wins. A channel without a rate costs
nothing per minute (and is listed by :func:`unrated_channels`).
"""

from __future__ import annotations

import datetime as dt
import re
import sys

import numpy as np
import polars as pl

from analytics.cases import attach, case_bounds, case_steps, case_table, chronological, text_codes
from analytics.dataset import Dataset
from analytics.kpi import is_contact
from analytics.schema import Settings


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
        "fixed": pl.when(is_contact()).then(settings.cost_per_contact).otherwise(0.0)
        + pl.when(channel == "meeting").then(settings.cost_per_meeting).otherwise(0.0),
    }


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
    "non_standard",
    "long_approval",
    "bot_loop",
    "ping_pong",
)
REOPEN_DAYS = 14


def costed_steps(dataset: Dataset, steps: pl.DataFrame | None = None) -> pl.DataFrame:
    """:func:`analytics.cases.case_steps` (computed when not given) with what costing
    needs, in step order: ``event_cost``, ``contact``, ``human_channel`` (one bit per
    channel of :data:`HUMAN_CHANNELS`, 0 for others), ``manual``, ``meeting`` and
    ``resource_key`` (a hash of the resource).

    Whatever depends on the channel alone is worked out once per distinct channel and
    looked up by a channel code: the text of 10 M channels is read once, not four times.
    """
    steps = case_steps(dataset.events) if steps is None else steps
    events = chronological(dataset.events)
    codes, names = text_codes(events["channel"], events["channel"].hash().to_numpy())
    bits = [1 << i for i in range(len(HUMAN_CHANNELS))]
    per_channel = pl.DataFrame({"channel": [*names, None]}, schema={"channel": pl.String}).select(
        **channel_terms(dataset.settings),
        contact=is_contact(),
        meeting=(pl.col("channel") == "meeting").fill_null(False),
        human_channel=pl.col("channel")
        .replace_strict(HUMAN_CHANNELS, bits, default=0, return_dtype=pl.UInt8)
        .fill_null(0),
    )
    channel = np.take(codes, steps["row"].to_numpy())
    looked_up = pl.DataFrame(
        {name: np.take(per_channel[name].to_numpy(), channel) for name in per_channel.columns}
    )
    fetched = [pl.col("handle_s", "is_manual"), pl.col("resource").hash().alias("resource_key")]
    if events["cost"].null_count() < events.height:  # most exports have no cost column
        fetched.append(pl.col("cost"))
    costed = attach(steps.hstack(looked_up), events, fetched)
    if "cost" not in costed.columns:
        costed = costed.with_columns(pl.lit(None, dtype=pl.Float64).alias("cost"))
    terms = {"rate": pl.col("rate"), "fixed": pl.col("fixed")}
    return costed.with_columns(
        event_cost(dataset.settings, terms), pl.col("is_manual").fill_null(False).alias("manual")
    ).drop("rate", "fixed", "handle_s", "is_manual", "cost")


def _per_case(ufunc: np.ufunc, values: pl.Series | np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``ufunc`` reduced over each case's contiguous steps."""
    array = values.to_numpy() if isinstance(values, pl.Series) else values
    return ufunc.reduceat(array, starts) if starts.size else np.zeros(0, dtype=array.dtype)


def _counts(flags: pl.DataFrame, starts: np.ndarray, longest: int) -> dict[str, np.ndarray]:
    """Per case, how many of its steps have each boolean flag. Four flags share one 64-bit
    segment sum, each written straight into its own 16-bit lane of the summed array, when
    no case has 65,536 steps or more (else one flag a sum). No temporaries: building the
    packed sums from Polars casts and products took 0.5 s at 10 M events."""
    per = 4 if longest < 2**16 else 1
    bits = 64 // per
    # On a little-endian machine lane i of a uint64 holds bits 16i.., on a big-endian one
    # bits 16(3 - i)..: the lane is picked so that the shifts below read it back.
    little = sys.byteorder == "little"
    counts = {}
    for group in (flags.columns[i : i + per] for i in range(0, flags.width, per)):
        packed = np.zeros(flags.height, dtype=np.uint64)
        lanes = packed.view(f"u{8 // per}").reshape(-1, per)
        for i, name in enumerate(group):
            lanes[:, i if little else per - 1 - i] = flags[name].to_numpy()
        totals = _per_case(np.add, packed, starts)
        for i, name in enumerate(group):
            counts[name] = (totals >> np.uint64(bits * i)) & np.uint64(2**bits - 1)
    return counts


def _slow_approvals(steps: pl.DataFrame) -> np.ndarray:
    """Per step: an approval (activity matching ``APPROVAL_PATTERN``) that waited longer
    before the next step than the 90th percentile of its scenario's approval waits.
    Worked out on the approval steps alone."""
    approvals = [a for a in steps.schema["activity"].categories if re.search(APPROVAL_PATTERN, a)]
    wait = (pl.col("timestamp").shift(-1) - pl.col("timestamp")).dt.total_seconds()
    waits = (
        steps.lazy()
        .with_row_index("at")
        .with_columns(wait.alias("wait"))
        .filter(pl.col("activity").is_in(approvals) & ~pl.col("last"))
        .filter(pl.col("wait") > pl.col("wait").quantile(0.9).over("case_scenario"))
        .collect()
    )
    slow = np.zeros(steps.height, dtype=bool)
    slow[waits["at"].to_numpy()] = True
    return slow


def case_costs(dataset: Dataset, steps: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per case, in :func:`~analytics.cases.case_table` order: what it cost, how
    many contacts, and its behaviour tags.

    Columns: ``case_id``, ``customer_id``, ``scenario``, ``start``, ``end``, ``cost``
    (sum of :func:`event_cost`), ``contacts`` (customer-facing events), ``channels``
    (distinct human channels), ``manual_steps``, ``meetings``, ``duration_s``, and one
    boolean per tag:

    * ``channel_hopping``: the customer used two or more human channels (phone, chat,
      messenger, e-mail, social, meeting) in the case;
    * ``repeat_return``: a step other than the bot was done again, or the same customer
      opened a case of the same scenario within ``REOPEN_DAYS`` days of the previous end;
    * ``non_standard``: at least one manual exception / approval / custom-work step;
    * ``long_approval``: an approval step (activity matching ``APPROVAL_PATTERN``) waited
      longer before the next step than the scenario's 90th percentile for approvals;
    * ``bot_loop``: two or more bot-to-bot transitions (three bot steps in a row or more);
    * ``ping_pong``: the case went back to a resource it had just left at least twice
      (A -> B -> A -> B); one return is an ordinary hand-off to the back office and back.

    ``steps`` are :func:`costed_steps` of the dataset when already at hand.
    """
    if steps is None:
        steps = costed_steps(dataset)
    bot = pl.col("activity") == "bot"
    resource = pl.col("resource_key")
    # Steps are case-contiguous: per-case totals are segment reductions, not a group-by
    # over millions of groups (measured 10x slower at 10 M events).
    flags = steps.select(
        "contact",
        "manual",
        "meeting",
        (bot & bot.shift(1) & (pl.col("step") >= 1)).fill_null(False).alias("bot_pair"),
        ((resource == resource.shift(2)) & (resource != resource.shift(1)) & (pl.col("step") >= 2))
        .fill_null(False)
        .alias("back_again"),
        (pl.col("repeat") & ~bot).alias("repeated_step"),
        pl.Series("slow_approval", _slow_approvals(steps)),
    )
    starts, ends = case_bounds(steps)
    counts = _counts(flags, starts, int((ends - starts).max(initial=0)))
    channels = _per_case(np.bitwise_or, steps["human_channel"], starts)
    reduced = {
        "cost": _per_case(np.add, steps["event_cost"], starts),
        "contacts": counts["contact"],
        "channels": np.bitwise_count(channels).astype(np.uint32),
        "manual_steps": counts["manual"],
        "meetings": counts["meeting"],
        "bot_loop": counts["bot_pair"] >= 2,
        "ping_pong": counts["back_again"] >= 2,
        "repeated_step": counts["repeated_step"] > 0,
        "long_approval": counts["slow_approval"] > 0,
    }
    cases = (
        case_table(steps, dataset.events, reduced)
        .drop("case_no", "variant", "steps")
        .with_columns(
            (pl.col("channels") >= 2).alias("channel_hopping"),
            (pl.col("manual_steps") > 0).alias("non_standard"),
        )
    )
    # Reopened: the previous case of the same customer and scenario, by start, ended at
    # most REOPEN_DAYS before this one started.
    who = pl.col("customer_id").hash() ^ pl.col("scenario").hash(1)
    ordered = cases.select(pl.arg_sort_by(who, pl.col("start")).alias("at"))["at"]
    chain = cases.select(who.alias("who"), "start", "end")[ordered]
    again = (
        (chain["who"] == chain["who"].shift(1))
        & (chain["start"] - chain["end"].shift(1) <= dt.timedelta(days=REOPEN_DAYS))
    ).fill_null(False)
    reopened = np.zeros(cases.height, dtype=bool)
    reopened[ordered.to_numpy()] = again.to_numpy()
    return cases.with_columns(
        (pl.col("repeated_step") | pl.Series(reopened)).alias("repeat_return")
    ).drop("repeated_step")


def with_excess(cases: pl.DataFrame) -> pl.DataFrame:
    """Cases with ``excess``: their cost minus the mean cost of the same scenario's
    standard cases (those with no behaviour tag at all)."""
    untagged = ~pl.any_horizontal(list(TAGS))
    standard = (
        cases.filter(untagged)
        .group_by("scenario")
        .agg(pl.col("cost").mean().alias("standard_cost"))
    )
    return cases.join(standard, on="scenario", how="left").with_columns(
        (pl.col("cost") - pl.col("standard_cost")).alias("excess")
    )


def tag_costs(cases: pl.DataFrame) -> pl.DataFrame:
    """Per behaviour tag: share of cases, extra cost per tagged case against the same
    scenario's standard cases (cases with no tag at all), and the money at stake.

    ``extra = mean(cost | tagged, scenario) - mean(cost | no tag, scenario)``, averaged over
    scenarios weighted by tagged cases; ``at_stake = sum over tagged cases of (cost - the
    scenario's standard mean)``. A case with several tags counts under each.
    """
    priced = with_excess(cases)
    rows = []
    for tag in TAGS:
        tagged = priced.filter(pl.col(tag))
        rows.append(
            {
                "tag": tag,
                "cases": tagged.height,
                "share": tagged.height / cases.height if cases.height else 0.0,
                "mean_cost": tagged["cost"].mean() if tagged.height else None,
                "extra_per_case": tagged["excess"].mean() if tagged.height else None,
                "at_stake": tagged["excess"].sum(),
            }
        )
    return pl.DataFrame(rows).sort("at_stake", descending=True, nulls_last=True)


def priciest(cases: pl.DataFrame) -> pl.DataFrame:
    """(scenario, behaviour) combinations ranked by total excess cost over the scenario's
    standard cases: the first place to look."""
    long = (
        with_excess(cases)
        .unpivot(
            index=["case_id", "scenario", "excess", "cost"], on=list(TAGS), variable_name="tag"
        )
        .filter(pl.col("value"))
    )
    return (
        long.group_by("scenario", "tag")
        .agg(
            pl.len().alias("cases"),
            pl.col("excess").mean().alias("extra_per_case"),
            pl.col("excess").sum().alias("excess_cost"),
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
        pl.col("scenario").mode().first().alias("main_scenario"),
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
