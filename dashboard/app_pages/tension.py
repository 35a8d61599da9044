"""Tension: zones where an indicator drifts from its baseline, on events and on the
interval report (abandonment, missed service level, ASA), and operational gaps."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.tension import MIN_BASELINE_DAYS, SHARES, operational_gaps, zones
from dashboard.chart_locale import chart_config
from dashboard.charts import control_chart
from dashboard.filters import day
from dashboard.fmt import p_value, percent
from dashboard.i18n import channel, date_format, t
from dashboard.needs import has, require
from dashboard.state import current_dataset, engine
from dashboard.tension_view import gaps_table, slope_words, zones_table

dataset = current_dataset()
currency = dataset.settings.currency
st.title(t("tension.title"))
st.caption(t("tension.intro"))
require(dataset, "events", "acd")

st.caption(t("risk.zones_help"))
span = st.date_input(
    t("risk.baseline_pick"),
    value=[],
    key="tension_baseline",
    help=t("risk.baseline_pick_help"),
    format=date_format(),
)
baseline = tuple(span) if len(span) == 2 else None
if baseline and (baseline[1] - baseline[0]).days + 1 < MIN_BASELINE_DAYS:
    st.warning(t("risk.baseline_short", days=MIN_BASELINE_DAYS))
    baseline = None
with st.spinner(t("risk.zones_running")):
    # The default baseline shares its cache entry with the Overview and Escalations pages.
    table = engine(zones, dataset, None, baseline) if baseline else engine(zones, dataset)
found = table.filter(pl.col("zone")) if table.height else table
if found.height:  # no zones at all is a frame without columns (a log with no tension)
    # A channel slice's value is a canonical code (phone, self_service): in the reader's words.
    on_channel = pl.col("slice") == "channel"
    channels = {v: channel(v) for v in found.filter(on_channel)["value"].unique()}
    found = found.with_columns(
        pl.when(on_channel).then(pl.col("value").replace(channels)).otherwise(pl.col("value"))
    )


def change(z: dict) -> str:
    """+108 % against the baseline, or "from none" where the baseline was zero."""
    rel = z["relative_change"]
    return t("risk.from_none") if rel is None else ("+" if rel > 0 else "") + percent(rel, 0)


@st.fragment
def zone_chart(found: pl.DataFrame, slices: dict[str, str], frequency: dict[str, str]) -> None:
    """One zone's control chart: a pick redraws this part only."""
    names = [
        f"{slices[r['slice']]} {r['value']} · {t('risk.indicator.' + r['indicator'])} · "
        f"{frequency[r['frequency']]}"
        for r in found.iter_rows(named=True)
    ]
    pick = st.selectbox(t("risk.zone_pick"), range(len(names)), format_func=names.__getitem__)
    z = found.row(pick, named=True)
    st.plotly_chart(
        control_chart(
            z["week"],
            z["x"],
            z["ewma"],
            z["upper"],
            z["lower"],
            {
                "value": t("risk.daily_value" if z["frequency"] == "day" else "risk.weekly"),
                "limits": t("risk.limits"),
                "started": t("risk.started_at", date=day(z["started"])),
            },
            z["started"],
            share=z["indicator"] in SHARES,
        ),
        width="stretch",
        config=chart_config(),
    )
    st.caption(
        t(
            "risk.zone_stats",
            start=day(z["baseline_start"]),
            end=day(z["baseline_end"]),
            change=change(z),
            first=day(z["first_alarm"]),
            p=p_value(z["p_value"], sign=True),
            slope=slope_words(z["sen_slope"], z["indicator"], z["frequency"], currency),
        )
    )


if found.height == 0:
    st.info(t("risk.no_zones"))
else:
    frequency = {"day": t("risk.daily"), "week": t("risk.weekly_freq")}
    slices = {k: t(f"story.slice.{k}") for k in found["slice"].unique()}
    shown = found.with_columns(
        pl.col("indicator").replace_strict(
            {k: t(f"risk.indicator.{k}") for k in found["indicator"].unique()}
        ),
        pl.col("frequency").replace_strict(frequency),
        pl.col("slice").replace_strict(slices),
    )
    zones_table(shown, currency)
    zone_chart(found, slices, frequency)

if not has(dataset, "events"):
    st.stop()  # the operational gaps read the events
st.subheader(t("risk.gaps"))
gaps = engine(operational_gaps, dataset)
if gaps.height:
    gaps_table(gaps)
else:
    st.success(t("risk.no_gaps"))
st.caption(t("risk.gaps_help"))
