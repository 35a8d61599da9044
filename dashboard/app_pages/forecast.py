"""Forecasts & SLA: next weeks' load per channel, and where the service level will break."""

from __future__ import annotations

import numpy as np
import polars as pl
import streamlit as st

from analytics.calibration import MIN_INTERVALS, MIN_QUEUE_INTERVALS, calibrate_dataset
from analytics.escalation import FORECAST_DAYS
from analytics.export import to_csv_bytes
from analytics.forecast import Note, forecast_all
from analytics.sla import (
    agents_needed,
    breach_points,
    erlang_c,
    has_staffing,
    queue_breaches,
    realized,
    slot_columns,
    summary,
    weekly_plan,
)
from dashboard.charts import (
    calibration_figure,
    forecast_figure,
    heatmap_figure,
    reliability_figure,
)
from dashboard.escape import md
from dashboard.fmt import count_column, number, number_column, percent, seconds, share_column
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

# ---------------------------------------------------------------- delivered service level
acd = dataset.acd
if acd is not None and acd.height:
    st.subheader(t("forecast.delivered"))
    rows = realized(acd, run.interval_s)
    last = rows["interval_start"].max()
    recent = rows.filter(pl.col("interval_start") > last - pl.duration(weeks=4))  # type: ignore[operator]
    now, before = summary(recent, run.interval_s), summary(rows, run.interval_s)
    a, b, c, d = st.columns(4)
    a.metric(
        t("forecast.sl", target=f"{target:g}"),
        percent(now.service_level),
        help=t("forecast.sl_help", all=percent(before.service_level)),
    )
    b.metric(t("forecast.asa"), seconds(now.asa_s), help=t("forecast.asa_help"))
    c.metric(t("forecast.abandon"), percent(now.abandon_rate), help=t("forecast.abandon_help"))
    d.metric(t("forecast.occupancy"), percent(now.occupancy), help=t("forecast.occupancy_help"))
    weekdays = t("forecast.weekdays").split(",")
    by_slot = (
        rows.with_columns(slot_columns(pl.col("interval_start")))
        .group_by("weekday", "slot")
        .agg((pl.col("answered_in_target").sum() / pl.col("offered").sum()).alias("service_level"))
        .with_columns(
            pl.col("weekday").replace_strict(dict(enumerate(weekdays, 1)), return_dtype=pl.String),
            pl.col("slot").dt.strftime("%H:%M"),
        )
    )
    st.plotly_chart(
        heatmap_figure(
            by_slot.with_columns(pl.col("weekday").cast(pl.Enum(weekdays))).sort("weekday"),
            "weekday",
            "slot",
            "service_level",
            t("forecast.delivered_map", goal=percent(goal, 0)),
            zmin=0,
            zmax=1,
            percent=True,
        ),
        width="stretch",
    )

# ---------------------------------------------------------------- volume forecasts
st.subheader(t("forecast.volume"))
series = run.daily + run.intraday
if not series:
    st.info(t("forecast.too_short"))
    st.stop()
st.caption(t("forecast.note.as_of", day=str(run.as_of)))
if run.offset_columns:
    columns = ", ".join(run.offset_columns)
    st.info(t("forecast.note.offsets", columns=md(columns), zone=run.timezone))
overview = pl.DataFrame(
    [
        {
            "series": s.name,
            "frequency": t(f"forecast.{s.frequency}"),
            "model": t(f"forecast.model_{s.model}"),
            "beats": s.beats_baseline,
            "mase": s.metrics.filter(pl.col("model") == s.model)["mase"][0],
            "baseline": s.mase(s.baseline),
            "smape": s.metrics.filter(pl.col("model") == s.model)["smape"][0],
            "coverage": s.metrics.filter(pl.col("model") == s.model)["coverage"][0],
            "total": s.forecast["mean"].sum(),
        }
        for s in series
    ]
)
st.dataframe(
    overview,
    hide_index=True,
    width="stretch",
    column_config={
        "series": t("forecast.series"),
        "frequency": t("forecast.frequency"),
        "model": t("forecast.model"),
        "beats": st.column_config.CheckboxColumn(t("forecast.beats")),
        "mase": st.column_config.NumberColumn("MASE", format="%.3f"),
        "baseline": st.column_config.NumberColumn(t("forecast.baseline_mase"), format="%.3f"),
        "smape": number_column("sMAPE %", 1),
        "coverage": share_column(t("forecast.coverage")),
        "total": number_column(t("forecast.total", days=horizon)),
    },
)
st.caption(t("forecast.metrics_help", level=percent(level, 0)))
names = [f"{s.frequency}:{s.name}" for s in series]
labels = {
    n: f"{s.name} · {t(f'forecast.{s.frequency}')}" for n, s in zip(names, series, strict=True)
}
picked = st.selectbox(t("forecast.pick"), names, format_func=labels.__getitem__, key="series")
one = series[names.index(picked)]
per_day = len(one.forecast) // horizon
history = one.history.tail((14 if one.frequency == "intraday" else 56) * per_day)
st.plotly_chart(
    forecast_figure(
        history,
        one.forecast,
        {
            "actual": t("forecast.actual"),
            "forecast": t("forecast.forecast"),
            "interval": t("forecast.interval", level=percent(level, 0)),
        },
    ),
    width="stretch",
)
verdict = "forecast.verdict_better" if one.beats_baseline else "forecast.verdict_baseline"
st.markdown(
    t(verdict, model=t(f"forecast.model_{one.model}"), baseline=t(f"forecast.model_{one.baseline}"))
)
day_names = t("forecast.weekdays").split(",")


def _note(note: Note) -> str:
    """A series note in the UI language: weekday numbers and model ids become names."""
    values = dict(note.values)
    if "weekdays" in values:
        values["weekdays"] = ", ".join(day_names[d - 1] for d in values["weekdays"])  # type: ignore[attr-defined]
    if "model" in values:
        values["model"] = t(f"forecast.model_{values['model']}")
    return t(f"forecast.note.{note.key}", **values)


for note in one.notes:
    st.caption(_note(note))
st.caption(
    t("forecast.holiday", factor=number(one.holiday_factor, 2), seen=one.holidays_seen)
    if one.holidays_seen >= 2
    else t("forecast.no_holiday", country=run.country)
)
st.dataframe(
    one.metrics.with_columns(
        pl.col("model").replace_strict(
            {m: t(f"forecast.model_{m}") for m in one.metrics["model"].unique()},
            return_dtype=pl.String,
        )
    ),
    hide_index=True,
    width="stretch",
    column_config={
        "model": t("forecast.model"),
        "mase": st.column_config.NumberColumn("MASE", format="%.3f"),
        "smape": number_column("sMAPE %", 1),
        "wape": share_column("WAPE"),
        "coverage": share_column(t("forecast.coverage")),
        "folds": t("forecast.folds"),
    },
)

# ---------------------------------------------------------------- breach forecast
st.subheader(t("forecast.breach"))
if run.intraday_source != "acd" or not has_staffing(acd):
    st.info(t("forecast.no_staffing"))
    st.stop()
assert acd is not None
calibration = engine(calibrate_dataset, dataset, run.interval_s)
assert calibration is not None  # has_staffing holds
plan = weekly_plan(acd)
queues = plan["queue"].unique().sort().to_list()
with st.expander(t("forecast.plan")):
    st.caption(t("forecast.plan_intro"))
    queue = st.selectbox(t("forecast.queue"), queues) if len(queues) > 1 else queues[0]
    extra = st.number_input(t("forecast.extra"), -20, 50, 0, key="extra_agents")
    grid = (
        plan.filter(pl.col("queue") == queue)
        .with_columns(pl.col("slot").dt.strftime("%H:%M"))
        .pivot(on="slot", index="weekday", values="agents", sort_columns=True)
        .sort("weekday")
    )
    edited = st.data_editor(
        grid, key=f"plan_{dataset.content_hash}_{queue}", disabled=["weekday"], hide_index=True
    )
    changed = edited.unpivot(index="weekday", variable_name="slot", value_name="agents_new")
    changed = changed.with_columns(
        pl.col("slot").str.to_time("%H:%M"), pl.lit(queue).alias("queue")
    )
    plan = (
        plan.join(changed, on=["queue", "weekday", "slot"], how="left")
        .with_columns(pl.coalesce("agents_new", "agents").alias("agents"))
        .drop("agents_new")
    )
plan = plan.with_columns((pl.col("agents") + extra).clip(lower_bound=0))
breaches = queue_breaches(
    [(s.name, s.forecast) for s in run.intraday],
    acd,
    run.interval_s,
    target,
    goal,
    plan,
    calibration,
)
calibrated = calibration.status != "uncalibrated"
likely = breaches.filter(pl.col("p_breach") >= 0.5)
a, b, c = st.columns(3)
a.metric(t("forecast.likely"), number(likely.height), help=t("forecast.likely_help"))
b.metric(
    t("forecast.expected"),
    number(breaches["p_breach"].sum(), 1),
    help=t("forecast.expected_help"),
)
short = breaches.filter(pl.col("gap") > 0)
short_hours = float((short["gap"] * run.interval_s / 3600).sum())
c.metric(t("forecast.short"), number(short_hours, 1), help=t("forecast.short_help"))
shown = breaches.with_columns(
    pl.col("time").dt.strftime("%Y-%m-%d %a").alias("day"),
    pl.col("time").dt.strftime("%H:%M").alias("time of day"),
)
st.plotly_chart(
    heatmap_figure(
        shown,
        "day",
        "time of day",
        "p_breach",
        t("forecast.breach_map", goal=percent(goal, 0), target=f"{target:g}")
        + " · "
        + (
            t("sla_risk.map_calibrated", weeks=calibration.weeks)
            if calibrated
            else t("sla_risk.map_uncalibrated")
        ),
        scale="Reds",
        zmin=0,
        zmax=1,
        percent=True,
    ),
    width="stretch",
)
st.markdown(f"**{t('forecast.points')}**")
points = breach_points(breaches, top=20)
if points.height:
    st.dataframe(
        points.select(
            pl.col("time").dt.strftime("%Y-%m-%d %a %H:%M"),
            "queue",
            "p_breach",
            "mean",
            "predicted_sl",
            "erlang_sl",
            "agents",
            "agents_needed",
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "time": t("forecast.when"),
            "queue": t("forecast.queue"),
            "p_breach": share_column(t("forecast.p_breach")),
            "mean": number_column(t("forecast.calls"), 1),
            "predicted_sl": share_column(t("forecast.predicted_sl")),
            "erlang_sl": share_column(t("sla_risk.erlang_sl")),
            "agents": count_column(t("forecast.planned")),
            "agents_needed": count_column(t("forecast.needed")),
        },
    )
else:
    st.success(t("forecast.no_points"))
st.caption(t("sla_risk.help_calibrated" if calibrated else "forecast.breach_help"))

# ---------------------------------------------------------------- calibration on history
st.subheader(t("sla_risk.title"))
model, fitted = calibration.model, calibration.calibrated
st.markdown(
    t(
        f"sla_risk.status_{calibration.status}",
        intervals=number(model.intervals),
        weeks=calibration.weeks,
        min=MIN_INTERVALS if calibration.status == "uncalibrated" else MIN_QUEUE_INTERVALS,
    )
)
a, b, c, d = st.columns(4)
a.metric(
    t("sla_risk.model_sl"),
    percent(model.predicted_sl),
    delta=t("sla_risk.vs_delivered", delivered=percent(model.realized_sl)),
    delta_color="off",
    delta_arrow="off",
    help=t("sla_risk.model_sl_help", mae=percent(model.mae), intervals=number(model.intervals)),
)
if fitted.intervals:
    b.metric(
        t("sla_risk.calibrated_sl"),
        percent(fitted.predicted_sl),
        delta=t("sla_risk.vs_delivered", delivered=percent(fitted.realized_sl)),
        delta_color="off",
        delta_arrow="off",
        help=t("sla_risk.calibrated_sl_help", intervals=number(fitted.intervals)),
    )
    c.metric(t("sla_risk.mae"), percent(fitted.mae), help=t("sla_risk.mae_help"))
    d.metric(
        t("sla_risk.brier"),
        number(fitted.brier, 3),
        delta=t("sla_risk.vs_constant", constant=number(fitted.constant_brier, 3)),
        delta_color="off",
        delta_arrow="off",
        help=t("sla_risk.brier_help"),
    )
for info in calibration.queues():
    st.caption(
        t(
            "sla_risk.queue_line",
            queue=md(info["queue"]),
            model=t(f"sla_risk.{info['model']}"),
            patience=seconds(info["patience_s"]),  # type: ignore[arg-type]
            map=t(f"sla_risk.map_{info['map'] or 'none'}"),
            rho=number(info["rho"], 2),  # type: ignore[arg-type]
        )
    )
left, right = st.columns(2)
curve = calibration.curve(queue)
left.plotly_chart(
    calibration_figure(
        calibration.history.filter(pl.col("queue") == queue),
        (curve.x.tolist(), curve.y.tolist()) if curve else None,
        {
            "title": t("sla_risk.scatter_title", queue=queue),
            "x": t("sla_risk.scatter_x"),
            "y": t("sla_risk.scatter_y"),
            "intervals": t("sla_risk.intervals"),
            "diagonal": t("sla_risk.diagonal"),
            "map": t("sla_risk.map"),
        },
    ),
    width="stretch",
)
bins = calibration.reliability()
if bins.height:
    right.plotly_chart(
        reliability_figure(
            bins,
            {
                "title": t("sla_risk.reliability_title"),
                "x": t("sla_risk.rel_x"),
                "y": t("sla_risk.rel_y"),
                "observed": t("sla_risk.rel_observed"),
                "diagonal": t("sla_risk.rel_diagonal"),
            },
        ),
        width="stretch",
    )
else:
    right.info(t("sla_risk.no_reliability", min=MIN_INTERVALS))
st.caption(t("sla_risk.method"))

st.subheader(t("forecast.gap"))
st.plotly_chart(
    heatmap_figure(
        shown, "day", "time of day", "gap", t("forecast.gap_map"), scale="RdBu_r", zmin=-3, zmax=3
    ),
    width="stretch",
)
st.caption(t("forecast.gap_help"))
st.download_button(
    t("forecast.download"),
    to_csv_bytes(
        breaches.select(
            "time",
            "queue",
            "mean",
            "sd",
            "aht_s",
            "agents",
            "traffic_erlangs",
            "model",
            "calibrated",
            "erlang_sl",
            "predicted_sl",
            "calls_at_goal",
            "p_breach",
            "agents_needed",
            "gap",
        )
    ),
    "sla_breach_forecast.csv",
    "text/csv",
)

# ---------------------------------------------------------------- calculator
with st.expander(t("forecast.calculator")):
    a, b, c, d, e = st.columns(5)
    calls = a.number_input(t("forecast.calc_calls"), 0.0, 1e6, 100.0)
    aht = b.number_input(t("forecast.calc_aht"), 1.0, 1e5, 180.0)
    agents = c.number_input(t("forecast.calc_agents"), 0, 100_000, 12)
    interval = d.number_input(t("forecast.calc_interval"), 60.0, 86_400.0, run.interval_s)
    answer = e.number_input(t("forecast.calc_target"), 0.0, 3600.0, float(target))
    r = erlang_c(calls, interval, aht, agents, answer)
    need = int(agents_needed(np.array([r.traffic_erlangs]), aht, answer, goal)[0])
    a, b, c, d, e = st.columns(5)
    a.metric(t("forecast.calc_traffic"), number(r.traffic_erlangs, 2))
    b.metric(t("forecast.calc_pw"), percent(r.probability_wait))
    c.metric(t("forecast.calc_sl"), percent(r.service_level))
    d.metric(t("forecast.asa"), "∞" if r.overloaded else seconds(r.asa_s))
    e.metric(t("forecast.calc_needed", goal=percent(goal, 0)), number(need))
    if r.overloaded:
        st.error(t("forecast.overloaded"))
    st.caption(t("forecast.calc_help"))
