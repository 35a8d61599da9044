"""Forecasts & SLA: next weeks' load per channel, and where the service level will break."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.calibration import calibrate_dataset
from analytics.escalation import FORECAST_DAYS
from analytics.forecast import forecast_all
from analytics.sla import has_staffing, plan_grid
from analytics.sla_summary import breach_view, grid_key, roster
from dashboard import forecast_view as view
from dashboard import tables
from dashboard.escape import md
from dashboard.filters import day
from dashboard.fmt import percent
from dashboard.i18n import t
from dashboard.needs import require
from dashboard.state import current_dataset, engine

dataset = current_dataset()
settings = dataset.settings
st.title(t("forecast.title"))
st.caption(t("forecast.intro"))

a, b, c = st.columns(3)
horizon = a.slider(t("forecast.horizon"), 7, 56, FORECAST_DAYS, step=7, key="horizon")
level = b.select_slider(t("forecast.level"), [0.8, 0.9, 0.95], 0.8, format_func=percent)
country = c.text_input(t("forecast.country"), settings.holiday_country, max_chars=3).upper()
goal, target = settings.sla_goal, settings.sla_target_s

require(dataset, "events", "acd")
try:
    with st.spinner(t("forecast.running")):
        run = engine(forecast_all, dataset, horizon, level, 3, country)
except ValueError as exc:
    st.error(t("forecast.bad_country", error=str(exc)))
    st.stop()

acd = dataset.acd
if acd is not None and acd.height:
    view.delivered(acd, run.interval_s, target, goal)

st.subheader(t("forecast.volume"))
series = run.daily + run.intraday
if not series:
    st.info(t("forecast.too_short"))
    st.stop()
st.caption(t("forecast.note.as_of", day=day(run.as_of)))
if run.offset_columns:
    columns = md(", ".join(run.offset_columns))
    st.info(t("forecast.note.offsets", columns=columns, zone=run.timezone))
view.volume_overview(run, horizon, level)
view.series_picker(run, horizon, level)

st.subheader(t("forecast.breach"))
if run.intraday_source != "acd" or not has_staffing(acd):
    st.info(t("forecast.no_staffing"))
    st.stop()
assert acd is not None
calibration = engine(calibrate_dataset, dataset, run.interval_s)
assert calibration is not None  # has_staffing holds
plan = engine(roster, dataset)
with st.expander(t("forecast.plan")):
    queue, grid = view.plan_editor(plan, dataset.content_hash)
    extra = st.number_input(t("forecast.extra"), -20, 50, 0, key="extra_agents")
edited = "" if grid.equals(plan_grid(plan, queue)) else grid_key(grid)
found = engine(breach_view, dataset, horizon, level, country, queue, edited, extra)
breaches = found.breaches
view.breach_tiles(found.totals)
shown = view.by_day_and_time(breaches)
view.breach_map(shown, calibration, target, goal)
view.breach_points_table(found.points, calibration.status != "uncalibrated")

view.calibration_block(calibration, queue)
view.gap_map(shown)
models = {m: t(f"sla_risk.{m}") for m in breaches["model"].unique()}
export = breaches.select(list(view.BREACHES)).with_columns(pl.col("model").replace_strict(models))
tables.download(export, view.BREACHES, "sla_breach_forecast", label=t("forecast.download"))

view.calculator(run.interval_s, target, goal)
