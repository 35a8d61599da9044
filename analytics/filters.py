"""Global filters: one date range, segments, regions and channels, applied to every table.

:func:`apply` returns the dataset **as if the company had exported only that slice**, so
every page, measure and model runs unchanged on it and the same filter gives the same
number on every page. The conventions:

* **Dates** (inclusive days ``start``..``end``; an open end is unbounded): events by
  ``timestamp``, interval reports by ``interval_start``, per-call records by
  ``arrived_at``, surveys by ``date``, each by its calendar day. A case that crosses the
  range is cut at it, as in a real export of that period: the events of the range add up
  over consecutive periods, cases do not. "Today" for every figure (the last event,
  :func:`analytics.measures.data_end`) moves to the end of the range, so churn months,
  active customers and the risk model's snapshots lie inside it; the risk features see
  the customer's history inside the range only.
* **The customers table is a register, not a log**: it is never cut by date (sign-up and
  churn dates are read relative to "today" by every measure), only by segment and region.
  Churn, LTV, revenue at risk and the economics are those of the chosen customers.
* **Segments, regions**: customers whose ``segment`` / ``region`` is one of those chosen
  (a customer without one is left out); events and surveys of those customers only (an
  event of a customer missing from the register is left out). Interval reports and
  per-call records cannot be split by customer (caller ids are often placeholders): they
  stay whole, and :func:`unsplit` names them so the app can say so.
* **Channels**: events on those channels (a step without a channel is left out);
  interval and per-call rows of queues on those channels, a queue being named by a
  channel (``chat``, ``чат``, ``voice`` ...) or else a telephone queue (ACD reports come
  from the telephony platform); surveys about a case (``case_id``) with an event on
  those channels (an answer without a case is left out). The customers stay whole.
* A filter on something the dataset does not have (segments without a customers table
  or its ``segment`` column) is not applied: :func:`options` offers no such choice.

Empty filters return the dataset itself. A filtered dataset has its own
``content_hash`` (the original's plus the filters' :meth:`Filters.key`), so every cache
keyed by the hash keeps one result per slice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace

import polars as pl

from analytics.dataset import Dataset
from analytics.kpi import ClassicMetrics, Nps
from analytics.schema import CHANNEL_SYNONYMS

# The day column of each dated table: events, interval reports, per-call records, surveys.
DATED = {"events": "timestamp", "acd": "interval_start", "calls": "arrived_at", "surveys": "date"}


def _sorted(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


@dataclass(frozen=True)
class Filters:
    """What to keep; an empty choice keeps everything. ``start``/``end`` are inclusive days.
    Choices are kept sorted and unique, so equal filters have equal keys whatever the
    order they were picked in."""

    start: dt.date | None = None
    end: dt.date | None = None
    segments: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("segments", "regions", "channels"):
            object.__setattr__(self, name, _sorted(getattr(self, name)))

    @property
    def is_empty(self) -> bool:
        return self == Filters()

    def key(self) -> str:
        """A canonical text of the filters: part of the filtered dataset's hash."""
        return "|".join(
            f"{name}={value}"
            for name, value in (
                ("start", self.start or ""),
                ("end", self.end or ""),
                ("segments", ",".join(self.segments)),
                ("regions", ",".join(self.regions)),
                ("channels", ",".join(self.channels)),
            )
        )


@dataclass(frozen=True)
class Options:
    """What a dataset can be filtered by: its first and last day, and the values seen."""

    first: dt.date | None
    last: dt.date | None
    segments: tuple[str, ...]
    regions: tuple[str, ...]
    channels: tuple[str, ...]


def _values(frame: pl.DataFrame | None, column: str) -> list[str]:
    if frame is None or column not in frame.columns:
        return []
    return frame[column].drop_nulls().unique().to_list()


def queue_channel() -> pl.Expr:
    """The channel of an interval or per-call row: its queue when named by a channel (or a
    synonym), else ``phone``."""
    return (
        pl.col("queue")
        .cast(pl.String)
        .str.strip_chars()
        .str.to_lowercase()
        .replace_strict(CHANNEL_SYNONYMS, default="phone", return_dtype=pl.String)
        .fill_null("phone")
    )


def _channels(frame: pl.DataFrame | None) -> list[str]:
    if frame is None or frame.is_empty():
        return []
    column = queue_channel() if "queue" in frame.columns else pl.lit("phone")
    return frame.select(column.unique()).to_series().to_list()


def options(dataset: Dataset) -> Options:
    """The choices a dataset offers (sorted), and the days its dated tables span."""
    days = [
        day
        for name, column in DATED.items()
        if (table := dataset.table(name)) is not None and table.height
        for day in (table[column].min(), table[column].max())
        if day is not None
    ]
    as_dates = [d.date() if isinstance(d, dt.datetime) else d for d in days]
    customers = dataset.customers
    return Options(
        first=min(as_dates) if as_dates else None,  # type: ignore[type-var]
        last=max(as_dates) if as_dates else None,  # type: ignore[type-var]
        segments=_sorted(_values(customers, "segment")),
        regions=_sorted(_values(customers, "region")),
        channels=_sorted(
            _values(dataset.events, "channel") + _channels(dataset.acd) + _channels(dataset.calls)
        ),
    )


def _within(column: str, filters: Filters) -> pl.Expr:
    day = pl.col(column).dt.date() if column != "date" else pl.col(column)
    keep = pl.lit(True)
    if filters.start is not None:
        keep = keep & (day >= filters.start)
    if filters.end is not None:
        keep = keep & (day <= filters.end)
    return keep


def _one_of(column: str, chosen: tuple[str, ...], frame: pl.DataFrame) -> pl.Expr:
    """Rows whose ``column`` is one of ``chosen``; everything when nothing is chosen or the
    frame lacks the column (that filter cannot apply)."""
    if not chosen or column not in frame.columns:
        return pl.lit(True)
    return pl.col(column).is_in(pl.Series(chosen, dtype=pl.String).implode())


def _in(column: str, values: pl.Series | None) -> pl.Expr:
    return pl.lit(True) if values is None else pl.col(column).is_in(values.implode())


def by_customer(dataset: Dataset, filters: Filters) -> bool:
    """Whether the segment/region choice applies: chosen, and the register has the column."""
    customers = dataset.customers
    return customers is not None and any(
        chosen and column in customers.columns
        for column, chosen in (("segment", filters.segments), ("region", filters.regions))
    )


def unsplit(dataset: Dataset, filters: Filters) -> tuple[str, ...]:
    """The tables a segment/region choice leaves whole (no customer to split them by)."""
    if not by_customer(dataset, filters):
        return ()
    return tuple(
        name for name in ("acd", "calls") if (t := dataset.table(name)) is not None and t.height
    )


def apply(dataset: Dataset, filters: Filters) -> Dataset:
    """The dataset restricted to ``filters`` (module docstring), with its own hash."""
    if filters.is_empty:
        return dataset
    customers, kept = dataset.customers, None
    if customers is not None and by_customer(dataset, filters):
        customers = customers.filter(
            _one_of("segment", filters.segments, customers)
            & _one_of("region", filters.regions, customers)
        )
        kept = customers["customer_id"]
    events = dataset.events
    on_channel = _one_of("channel", filters.channels, events)
    surveys = dataset.surveys
    if surveys is not None:
        about = None
        if filters.channels:  # answers about a case that touched a chosen channel
            about = events.select("case_id", "channel").filter(on_channel)["case_id"].unique()
        surveys = surveys.filter(
            _within("date", filters)
            & _in("customer_id", kept)
            & (
                pl.lit(True)
                if about is None
                else pl.col("case_id").is_in(about.implode()).fill_null(False)
            )
        )
    # one filter after the other: the date range first leaves the others fewer rows
    events = (
        events.filter(_within("timestamp", filters))
        .filter(on_channel)
        .filter(_in("customer_id", kept))
    )
    tables = {
        name: None
        if (table := dataset.table(name)) is None
        else table.filter(
            _within(DATED[name], filters)
            & (
                queue_channel().is_in(pl.Series(filters.channels, dtype=pl.String).implode())
                if filters.channels and "queue" in table.columns
                else pl.lit(not filters.channels or "phone" in filters.channels)
            )
        )
        for name in ("acd", "calls")
    }
    digest = hashlib.blake2b(
        f"{dataset.content_hash}\nfilters:{filters.key()}".encode(), digest_size=16
    ).hexdigest()
    return replace(
        dataset,
        content_hash=digest,
        events=events,
        customers=customers,
        surveys=surveys,
        acd=tables["acd"],
        calls=tables["calls"],
    )


def period(dataset: Dataset, filters: Filters) -> tuple[dt.date, dt.date] | None:
    """The days the filters cover, an open end read as the data's first or last day; None
    when no range is chosen (the whole data) or the data has no dated rows."""
    if filters.start is None and filters.end is None:
        return None
    span = options(dataset)
    start, end = filters.start or span.first, filters.end or span.last
    if start is None or end is None or start > end:
        return None
    return start, end


def previous(filters: Filters, dataset: Dataset) -> Filters | None:
    """The same filters over the period of equal length right before: ``start - n`` ..
    ``start - 1`` for a range of ``n = end - start + 1`` days. None without a range."""
    days = period(dataset, filters)
    if days is None:
        return None
    start, end = days
    length = end - start + dt.timedelta(days=1)
    return replace(filters, start=start - length, end=start - dt.timedelta(days=1))


def starts_before_data(dataset: Dataset, filters: Filters) -> bool:
    """Whether the range starts before the data's first day (a period only partly covered,
    as the period before the first one usually is)."""
    first = options(dataset).first
    return first is None or (filters.start is not None and filters.start < first)


# The Overview's headline figures, as fields of ClassicMetrics (nps by its score).
HEADLINES = (
    "sla",
    "csat",
    "nps",
    "aht_s",
    "contacts_per_case",
    "churn_last",
    "revenue_lost_last_month",
    "active_customers",
)


def changes(current: ClassicMetrics, before: ClassicMetrics) -> dict[str, float | None]:
    """``current - before`` for each of :data:`HEADLINES` (shares as shares, so 0.02 is two
    points; NPS in points); None where either period lacks the figure."""

    def value(metrics: ClassicMetrics, name: str) -> float | None:
        figure = getattr(metrics, name)
        return figure.score if isinstance(figure, Nps) else figure

    out: dict[str, float | None] = {}
    for name in HEADLINES:
        now, then = value(current, name), value(before, name)
        out[name] = None if now is None or then is None else now - then
    return out
