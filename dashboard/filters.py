"""The global filters in the sidebar: date range, segments, regions, channels, kept in the URL.

:func:`sidebar` draws them from the unfiltered dataset's :func:`analytics.filters.options`
and remembers the choice; :func:`filtered` (which ``dashboard.state.current_dataset``
calls) hands every page the dataset restricted to it, one cached copy per choice.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from analytics.dataset import Dataset
from analytics.filters import Filters, Options, apply, options, unsplit
from dashboard.i18n import channel, date_format, day_pattern, t

# Widget keys, which are also the URL's query parameters (?segment=premium&dates=...).
DATES, SEGMENT, REGION, CHANNEL = "dates", "segment", "region", "channel"
CHOICES = {SEGMENT: "segments", REGION: "regions", CHANNEL: "channels"}
_CHOSEN = "global_filters"  # the filters of this run, as the sidebar read them


@st.cache_resource(show_spinner=False, max_entries=2)
def _options(content_hash: str, _dataset: Dataset) -> Options:
    del content_hash  # cache key only
    return options(_dataset)


@st.cache_resource(show_spinner=False, max_entries=6)
def _filtered(content_hash: str, key: str, _dataset: Dataset, _filters: Filters) -> Dataset:
    del content_hash, key  # cache key only
    return apply(_dataset, _filters)


def choices(dataset: Dataset) -> Options:
    """What ``dataset`` offers to filter by, computed once per content (the launcher reads
    the built-in data's ahead: 0.16 s of the first visit's run under load)."""
    return _options(dataset.content_hash, dataset)


def filtered(dataset: Dataset, filters: Filters | None = None) -> Dataset:
    """``dataset`` under ``filters`` (default: the sidebar's), computed once per choice."""
    chosen = filters if filters is not None else current()
    if chosen.is_empty:
        return dataset
    return _filtered(dataset.content_hash, chosen.key(), _dataset=dataset, _filters=chosen)


def current() -> Filters:
    """The filters the sidebar read in this run (none before it ran)."""
    chosen = st.session_state.get(_CHOSEN)
    return chosen if isinstance(chosen, Filters) else Filters()


def _reset() -> None:
    for key in (DATES, *CHOICES):
        if key in st.session_state:
            st.session_state[key] = () if key == DATES else []


def _read(span: Options) -> Filters:
    """The widgets' values as filters, keeping only what this dataset offers."""
    dates = st.session_state.get(DATES) if span.first is not None else None
    days = tuple(dates) if isinstance(dates, tuple | list) else ()
    picked = {
        field: tuple(v for v in st.session_state.get(key) or () if v in getattr(span, field))
        for key, field in CHOICES.items()
    }
    return Filters(
        start=days[0] if days else None,
        end=days[1] if len(days) > 1 else None,  # one day picked so far: open to the end
        **picked,
    )


def sidebar(dataset: Dataset) -> Filters:
    """The filter widgets for ``dataset`` (the unfiltered one), a caption of what is
    filtered and a reset button; returns the filters and remembers them for this run.
    A choice the data does not offer (fewer than two values) gets no widget."""
    span = choices(dataset)
    st.markdown(f"**{t('filters.title')}**")
    if span.first is not None and span.last is not None and span.first < span.last:
        st.date_input(
            t("filters.dates"),
            value=(),
            min_value=span.first,
            max_value=span.last,
            format=date_format(),
            key=DATES,
            bind="query-params",
        )
    for key, field in CHOICES.items():
        values = getattr(span, field)
        if len(values) < 2:
            continue
        names = {v: channel(v) if key == CHANNEL else v for v in values}
        st.multiselect(
            t(f"filters.{field}"),
            list(values),
            format_func=names.__getitem__,
            placeholder=t("filters.all"),
            key=key,
            bind="query-params",
        )
    chosen = _read(span)
    st.session_state[_CHOSEN] = chosen
    if not chosen.is_empty:
        st.caption(describe(chosen, dataset))
        st.button(t("filters.reset"), on_click=_reset, icon=":material/filter_alt_off:")
    return chosen


def day(value: dt.date | str | None) -> str:
    """A day as the reader writes it (31.01.2024 in Russian, ISO in English); the engine's
    ISO text (``2024-01-31``, or a time after it) is read as its day, other text kept."""
    if value is None:
        return "…"
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value.strftime(day_pattern())


def describe(filters: Filters, dataset: Dataset) -> str:
    """One line: what the pages show now, and which tables a segment choice leaves whole."""
    parts = []
    if filters.start is not None or filters.end is not None:
        parts.append(f"{day(filters.start)} – {day(filters.end)}")
    parts += [", ".join(filters.segments), ", ".join(filters.regions)]
    parts.append(", ".join(channel(c) for c in filters.channels))
    line = t("filters.caption", what="; ".join(p for p in parts if p))
    whole = unsplit(dataset, filters)
    if not whole:
        return line
    tables = ", ".join(t(f"filters.table.{name}") for name in whole)
    return f"{line} {t('filters.unsplit', tables=tables)}"
