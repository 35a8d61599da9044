"""The Cost page's parts: the rates (per minute, contact, manual step and meeting, or a
minute's rate worked out of a team's cost; applied rates go into the session's settings,
so every page from then on uses them), the status-log choices, the headline tiles, and its
tables with headers in words (``[cost.col]``) and formatted by what each column holds."""

from __future__ import annotations

from functools import partial

import polars as pl
import streamlit as st

from analytics.cost import closing_states, cost_view, minute_rate
from analytics.cost_summary import CostSummary
from analytics.dataset import Dataset
from analytics.export import Kind
from analytics.schema import Settings
from dashboard.auth import export_button
from dashboard.escape import md
from dashboard.fmt import compact_money, money, number, percent, symbol
from dashboard.headers import headers
from dashboard.i18n import channel, t
from dashboard.state import engine
from dashboard.tables import export_csv, show


def _save(settings: Settings, **changes: object) -> None:
    """The settings with ``changes``, for every page from now on; the page is redrawn."""
    st.session_state["settings"] = Settings.from_dict({**settings.__dict__, **changes})
    st.rerun()


def rates_editor(dataset: Dataset) -> None:
    settings, currency = dataset.settings, dataset.settings.currency
    with st.expander(t("cost.rates")):
        st.caption(t("cost.rates_intro"))
        rates = st.data_editor(
            pl.DataFrame(
                {
                    "channel": list(settings.cost_per_minute),  # the code, kept for saving
                    "name": [channel(c) for c in settings.cost_per_minute],
                    "rate": list(settings.cost_per_minute.values()),
                }
            ),
            key=f"rates_{dataset.content_hash}",
            disabled=["name"],
            hide_index=True,
            column_order=("name", "rate"),
            column_config={"name": t("cost.channel"), "rate": t("cost.per_minute")},
        )
        a, b, c = st.columns(3)
        per_contact = a.number_input(
            t("cost.per_contact"), 0.0, value=settings.cost_per_contact, format="%.2f"
        )
        per_manual = b.number_input(
            t("cost.per_manual"), 0.0, value=settings.cost_per_manual_step, format="%.2f"
        )
        per_meeting = c.number_input(
            t("cost.per_meeting"), 0.0, value=settings.cost_per_meeting, format="%.2f"
        )
        if st.button(t("cost.apply_rates")):
            _save(
                settings,
                cost_per_minute=dict(zip(rates["channel"], rates["rate"], strict=True)),
                cost_per_contact=per_contact,
                cost_per_manual_step=per_manual,
                cost_per_meeting=per_meeting,
            )
        st.markdown(f"**{t('cost.rate_calc')}**")
        st.caption(t("cost.rate_calc_intro"))
        a, b, c, d = st.columns(4)
        picked = a.selectbox(
            t("cost.channel"),
            list(settings.cost_per_minute),
            format_func=channel,
            key="calc_channel",
        )
        team_cost = b.number_input(
            t("cost.team_cost"), 0.0, value=1_200_000.0, step=10_000.0, format="%.0f"
        )
        paid_hours = c.number_input(
            t("cost.paid_hours"), 1.0, value=1_600.0, step=8.0, format="%.0f"
        )
        capacity = d.number_input(
            t("cost.capacity"), 1.0, 100.0, value=85.0, step=1.0, format="%.0f"
        )
        rate = minute_rate(team_cost, paid_hours, capacity / 100)
        st.markdown(t("cost.rate_result", rate=money(rate, currency, 2)))
        if st.button(t("cost.use_rate", channel=md(channel(picked)))):
            _save(settings, cost_per_minute={**settings.cost_per_minute, picked: round(rate, 2)})


def chosen_view(dataset: Dataset) -> tuple[bool | None, tuple[str, ...]]:
    """The case costs as the reader chose them for a status-update log, as the parameters
    of :func:`~analytics.cost.cost_view`: whether a run of updates in one state is one step
    (None: the default, when the log is made of them) and which states close a case
    (leaving one is a reopen)."""
    activities, default_closing = engine(closing_states, dataset)
    left, right = st.columns(2)
    closing = tuple(
        right.multiselect(
            t("status_log.closing"),
            activities,
            default=default_closing,
            key="cost_closing",
            help=t("status_log.closing_help"),
        )
    )
    auto = engine(cost_view, dataset, None, closing)
    collapse = left.toggle(
        t("status_log.collapse"),
        value=auto.loops.collapsed,
        key="cost_collapse",
        help=t("status_log.collapse_help", share=percent(auto.loops.share)),
    )
    return (None if collapse == auto.loops.collapsed else collapse), closing


def tiles(figures: CostSummary, dataset: Dataset, mark: str) -> None:
    """Total, per case, per customer and the concentration, with the rates they used."""
    settings, currency = dataset.settings, dataset.settings.currency
    events = dataset.events.height
    a, b, c, d = st.columns(4)
    a.metric(
        t("cost.total") + mark,
        compact_money(figures.total, currency),
        help=t("cost.total_help", cases=number(figures.cases), events=number(events)),
    )
    cases = {k: money(getattr(figures, f"case_{k}"), currency) for k in ("p10", "p90", "p99")}
    b.metric(
        t("cost.per_case") + mark,
        money(figures.case_median, currency),
        help=t("cost.per_case_help", **cases),
    )
    c.metric(
        t("cost.per_customer") + mark,
        money(figures.customer_median, currency),
        help=t(
            "cost.per_customer_help",
            p90=money(figures.customer_p90, currency),
            max=money(figures.customer_max, currency),
        ),
    )
    d.metric(
        t("cost.concentration"),
        percent(figures.top_share, 0),
        help=t("cost.concentration_help"),
    )
    rated = [
        (md(channel(c)), money(r, currency, 2)) for c, r in settings.cost_per_minute.items() if r
    ]
    st.caption(
        t(
            "cost.rates_used",
            minute=", ".join(f"{c} {r}" for c, r in rated),
            contact=money(settings.cost_per_contact, currency),
            manual=money(settings.cost_per_manual_step, currency),
            meeting=money(settings.cost_per_meeting, currency),
            explicit=number(events - dataset.events["cost"].null_count()),
            events=number(events),
        )
    )


# What each column of the Cost page's tables holds (dashboard.tables kinds).
KINDS: dict[str, Kind] = {
    **dict.fromkeys(("cases", "contacts", "channels", "manual_steps"), "count"),
    **dict.fromkeys(("contacts_p10", "contacts_p90"), "count"),
    **dict.fromkeys(("extra_per_case", "at_stake", "excess_cost", "cost"), "money"),
    **dict.fromkeys(("revenue_from", "revenue_to", "cost_p10", "cost_p90"), "money"),
    **dict.fromkeys(("monthly_revenue", "revenue", "margin"), "money"),
    "share": "percent",
    "ratio": "decimal",
    "start": "datetime",
    "handle_s": "seconds",
    "is_manual": "flag",
}


def revenue_band(twins: pl.DataFrame) -> pl.DataFrame:
    """The twin groups' revenue band (``revenue_from``, ``revenue_to``) as one text column,
    ``1 120–1 380``, where the first was: two money columns were one too many for a
    1366 px window in Russian (960 px needed, 904 there)."""
    bounds = zip(twins["revenue_from"], twins["revenue_to"], strict=True)
    text = [f"{number(a)}–{number(b)}" for a, b in bounds]
    at = twins.columns.index("revenue_from")
    return twins.drop("revenue_from", "revenue_to").insert_column(
        at, pl.Series("revenue_band", text, pl.String)
    )


def _labels(frame: pl.DataFrame, mark: str, currency: str = "") -> dict[str, str]:
    """Headers from ``[cost.col]``; money ones carry the estimate mark when the cost is
    estimated, the revenue band (a text) its currency."""
    words = headers("cost.col", frame.columns)
    labels = {c: w + (mark if KINDS.get(c) == "money" else "") for c, w in words.items()}
    if "revenue_band" in labels and currency:
        labels["revenue_band"] += f", {symbol(currency)}"
    return labels


def table(
    frame: pl.DataFrame,
    currency: str,
    mark: str = "",
    wide: tuple[str, ...] = (),
    row_height: int | None = None,
) -> None:
    """A Cost table; ``wide`` columns (long text) get 400 px, wrapped in rows of
    ``row_height`` (dashboard.tables.show)."""
    labels = _labels(frame, mark, currency)
    show(frame, KINDS, currency=currency, labels=labels, wide=wide, row_height=row_height)


def export(frame: pl.DataFrame, name: str, label: str, currency: str) -> None:
    """A customer-level CSV: analysts and admins only, each download logged (auth)."""
    csv = partial(export_csv, frame, KINDS, currency=currency, labels=_labels(frame, ""))
    export_button(label, csv, name, "text/csv", rows=frame.height)
