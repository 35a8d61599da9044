"""The Escalations page's view of the state store: read it, write acknowledgements,
show the delivery log. The page never writes anything else, so looking at it never turns
a new alert into an ongoing one before ``cx-radar escalate`` has sent it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from analytics.store import Store, StoreError
from dashboard.auth import actor
from dashboard.escape import code, md
from dashboard.filters import day
from dashboard.i18n import t
from dashboard.state import escalation_store
from dashboard.tables import show


@dataclass(frozen=True)
class StoreView:
    path: Path
    usable: bool = True
    state: dict[str, Any] = field(default_factory=dict)
    outbox: list[Any] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)


def run_time(value: object) -> str:
    """A run's ISO time from the store (``2026-01-06T09:00:00``) as the reader writes a day
    and a time: ``06.01.2026 09:00`` in Russian, ``2026-01-06 09:00`` in English; none: —."""
    if value is None:
        return "—"
    try:
        at = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return md(value)
    return f"{day(at.date())} {at:%H:%M}"


def read_store() -> StoreView:
    """The store's state, outbox and last deliveries, with a caption saying where it is;
    a damaged or foreign store is said, never reset (and nothing is written to it)."""
    path = escalation_store()
    if not path.exists():  # not created just by looking; an acknowledgement creates it
        st.caption(t("store.none_yet", path=code(path)))
        return StoreView(path)
    try:
        with Store.open(path) as store:
            view = StoreView(path, True, store.state(), store.outbox(), store.deliveries(20))
    except StoreError as exc:
        st.error(t("store.refused", error=md(exc)))
        return StoreView(path, usable=False)
    st.caption(t("store.where", path=code(path), last=run_time(view.state.get("last_run"))))
    return view


def acknowledgements(view: StoreView, titles: dict[str, str]) -> None:
    """Alerts marked actioned (``titles``: id -> words, digests left out). Only this
    user's changes are written: marks others made meanwhile are left alone."""
    acked = [i for i in view.state.get("actioned", []) if i in titles]
    marked = st.multiselect(
        t("esc.actioned"),
        list(titles),
        default=acked,
        format_func=titles.__getitem__,
        key="esc_actioned",
        placeholder=t("alerts.none_marked"),
        help=t("store.actioned_help"),
        disabled=not view.usable,
    )
    before = set(st.session_state.get("esc_actioned_before", acked))
    added, removed = set(marked) - before, before - set(marked)
    st.session_state["esc_actioned_before"] = list(marked)
    if not view.usable or not (added or removed):
        return
    try:
        with Store.open(view.path) as store, store.transaction():
            store.ack(sorted(added), by=actor())
            store.unack(sorted(removed))
        st.toast(t("store.saved"))
    except StoreError as exc:
        st.error(t("store.refused", error=md(exc)))


def delivery_log(view: StoreView) -> None:
    with st.expander(t("store.delivery")):
        st.caption(t("store.outbox", n=len(view.outbox)))
        if not view.deliveries:
            st.caption(t("store.no_deliveries"))
            return
        names = ("at", "attempt", "outcome", "http_status", "detail")
        labels = {c: t(f"store.{c}") for c in names} | {"alert_id": t("store.alert")}
        show(
            pl.DataFrame(view.deliveries).drop("key"),
            {"attempt": "count", "http_status": "count"},
            labels=labels,
        )
