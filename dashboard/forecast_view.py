"""The Forecasts page's blocks: delivered service level, volume forecasts, the breach
forecast, its calibration on history, and the Erlang calculator.

Every number comes from :mod:`analytics.forecast`, :mod:`analytics.sla` and
:mod:`analytics.calibration`; this module only lays it out.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import streamlit as st

from analytics.calibration import MIN_INTERVALS, MIN_QUEUE_INTERVALS, Calibration
from analytics.forecast import ForecastRun, Note, SeriesForecast, overview
from analytics.sla import (
    BreachTotals,
    agents_needed,
    erlang_c,
    plan_grid,
    realized,
    recent,
    service_level_by_slot,
    summary,
)
from dashboard import tables
from dashboard.chart_locale import chart_config
from dashboard.charts import (
    BLUE,
    GREY,
    calibration_figure,
    forecast_figure,
    heatmap_figure,
    reliability_figure,
)
from dashboard.escape import draw_svg, md
from dashboard.fmt import number, percent, seconds
from dashboard.i18n import channel, day_pattern, t
from dashboard.lines_svg import Band, Series, lines_svg

OVERVIEW: dict[str, tables.Kind] = {
    "beats": "flag",
    "mase": "score",
    "baseline_mase": "score",
    "smape": "number",
    "coverage": "percent",
    "total": "count",
}
METRICS: dict[str, tables.Kind] = {
    "mase": "score",
    "smape": "number",
    "wape": "percent",
    "coverage": "percent",
    "folds": "count",
}
# The breach forecast as it is downloaded and its likeliest points as they are shown.
BREACHES: dict[str, tables.Kind] = {
    "time": "datetime",
    "queue": "text",
    "mean": "number",
    "sd": "number",
    "aht_s": "seconds",
    "agents": "number",
    "traffic_erlangs": "decimal",
    "model": "text",
    "calibrated": "flag",
    "erlang_sl": "percent",
    "predicted_sl": "percent",
    "calls_at_goal": "number",
    "p_breach": "probability",
    "agents_needed": "count",
    "gap": "number",
}
# A series drawn as a plain SVG up to this many points (a daily one: 8 weeks of history and
# the horizon); beyond, plotly's figure.
SVG_POINTS = 400
# The series' drawing spans the main column, about 900 px wide at 1366 px: drawn that wide,
# its 12 px texts stay about 12 px, as plotly's on the page (540 wide, they read 20 px).
SERIES_WIDTH_PX = 900
POINTS = (
    "time",
    "queue",
    "p_breach",
    "mean",
    "predicted_sl",
    "erlang_sl",
    "agents",
    "agents_needed",
)


def _weekdays() -> dict[int, str]:
    return dict(enumerate(t("forecast.weekdays").split(","), 1))


def delivered(acd: pl.DataFrame, interval_s: float, target: float, goal: float) -> None:
    """The last four weeks' service level, ASA, abandonment, occupancy, and a map of the
    service level by weekday and time of day."""
    st.subheader(t("forecast.delivered"))
    rows = realized(acd, interval_s)
    now, before = summary(recent(rows), interval_s), summary(rows, interval_s)
    a, b, c, d = st.columns(4)
    a.metric(
        t("forecast.sl", target=f"{target:g}"),
        percent(now.service_level),
        help=t("forecast.sl_help", all=percent(before.service_level)),
    )
    b.metric(t("forecast.asa"), seconds(now.asa_s), help=t("forecast.asa_help"))
    c.metric(t("forecast.abandon"), percent(now.abandon_rate), help=t("forecast.abandon_help"))
    d.metric(t("forecast.occupancy"), percent(now.occupancy), help=t("forecast.occupancy_help"))
    days = _weekdays()
    by_slot = service_level_by_slot(rows).with_columns(
        pl.col("weekday").replace_strict(days, return_dtype=pl.Enum(list(days.values()))),
        pl.col("slot").dt.strftime("%H:%M"),
    )
    title = t("forecast.delivered_map", goal=percent(goal, 0))
    chart = heatmap_figure(
        by_slot, "weekday", "slot", "service_level", title, zmin=0, zmax=1, percent=True
    )
    st.plotly_chart(chart, width="stretch", config=chart_config())


def _names(frame: pl.DataFrame) -> pl.DataFrame:
    """Model and frequency ids in words (short model names: the sentences give the long),
    a channel's series by the channel's name (телефон, not phone)."""
    names = {c: frame[c].unique().to_list() for c in ("model", "frequency") if c in frame.columns}
    prefix = {"model": "forecast.short_", "frequency": "forecast."}
    words = frame.with_columns(
        pl.col(c).replace_strict({v: t(prefix[c] + v) for v in values}, return_dtype=pl.String)
        for c, values in names.items()
    )
    if "series" not in frame.columns:
        return words
    return words.with_columns(pl.col("series").replace({s: channel(s) for s in frame["series"]}))


def volume_overview(run: ForecastRun, horizon: int, level: float) -> None:
    """Every series' chosen model and its backtest scores."""
    series = run.daily + run.intraday
    labels = {"total": t("forecast.total", days=horizon)}
    tables.show(_names(overview(series)), OVERVIEW, labels=labels, key="fc_overview")
    st.caption(t("forecast.metrics_help", level=percent(level, 0)))


def _note(note: Note) -> str:
    """A series note in the UI language: weekday numbers and model ids become names."""
    values = dict(note.values)
    if "weekdays" in values:
        days = _weekdays()
        values["weekdays"] = ", ".join(days[d] for d in values["weekdays"])  # type: ignore[attr-defined]
    if "model" in values:
        values["model"] = t(f"forecast.model_{values['model']}")
    return t(f"forecast.note.{note.key}", **values)


@st.fragment
def series_picker(run: ForecastRun, horizon: int, level: float) -> None:
    """Pick a series and show it (a fragment: a pick redraws this part only)."""
    series = run.daily + run.intraday
    names = [f"{s.frequency}:{s.name}" for s in series]
    labels = {
        n: f"{channel(s.name)} · {t(f'forecast.{s.frequency}')}"
        for n, s in zip(names, series, strict=True)
    }
    picked = st.selectbox(t("forecast.pick"), names, format_func=labels.__getitem__, key="series")
    one_series(series[names.index(picked)], run, horizon, level)


def one_series(one: SeriesForecast, run: ForecastRun, horizon: int, level: float) -> None:
    """The picked series: recent history and forecast, the verdict, notes, backtest."""
    per_day = len(one.forecast) // horizon
    history = one.history.tail((14 if one.frequency == "intraday" else 56) * per_day)
    intraday = one.frequency == "intraday"
    names = series_names(level, intraday)
    drawn = forecast_svg(history, one.forecast, names, intraday)
    if drawn is not None:
        draw_svg(drawn)
    else:
        chart = forecast_figure(history, one.forecast, names)
        st.plotly_chart(chart, width="stretch", config=chart_config())
    verdict = "forecast.verdict_better" if one.beats_baseline else "forecast.verdict_baseline"
    model, baseline = t(f"forecast.model_{one.model}"), t(f"forecast.model_{one.baseline}")
    st.markdown(t(verdict, model=model, baseline=baseline))
    for note in one.notes:
        st.caption(_note(note))
    st.caption(
        t("forecast.holiday", factor=number(one.holiday_factor, 2), seen=one.holidays_seen)
        if one.holidays_seen >= 2
        else t("forecast.no_holiday", country=run.country)
    )
    tables.show(_names(one.metrics), METRICS, key="fc_metrics")


def series_names(level: float, intraday: bool) -> dict[str, str]:
    """The picked series' legend entries (actual, forecast, interval) and axis titles
    (x_axis, y_axis: contacts a day, or per interval of an intraday series)."""
    return {
        "actual": t("forecast.actual"),
        "forecast": t("forecast.forecast"),
        "interval": t("forecast.interval", level=percent(level, 0)),
        "x_axis": t("forecast.date_axis"),
        "y_axis": t("forecast.intraday_axis" if intraday else "forecast.daily_axis"),
    }


def forecast_svg(
    history: pl.DataFrame, forecast: pl.DataFrame, names: dict[str, str], intraday: bool
) -> str | None:
    """Recent history, the forecast and its interval as a plain SVG (:mod:`dashboard.lines_svg`;
    each point's time and volume its hover text) the main column's width, with axis titles
    (``names``: :func:`series_names`): a series pick redrew a plotly figure, most of the
    browser's work for it. None past :data:`SVG_POINTS` points (an intraday series: a hover
    target per point would outweigh plotly's drawing), which plotly draws."""
    if history.height + forecast.height > SVG_POINTS or not forecast.height:
        return None
    times = [*history["time"], *forecast["time"]]
    start = min(times)
    date = day_pattern()  # as the date filters write days: 31.12.2025 in Russian
    shown = f"{date} %H:%M" if intraday else date

    def day(at: dt.datetime) -> float:
        return (at - start) / dt.timedelta(days=1)

    def label(at: float) -> str:
        return (start + dt.timedelta(days=at)).strftime(date)

    def series(frame: pl.DataFrame, column: str, name: str, color: str) -> Series:
        known = frame.drop_nulls(column)
        pairs = list(zip(known["time"], known[column], strict=True))
        hovers = [f"{name}\n{at.strftime(shown)}: {number(v)}" for at, v in pairs]
        return Series(name, [(day(at), v) for at, v in pairs], hovers, color, marker=0)

    bounds = zip(forecast["time"], forecast["lower"], forecast["upper"], strict=True)
    band = Band(names["interval"], [(day(at), low, high) for at, low, high in bounds], BLUE)
    lines = [
        series(history, "volume", names["actual"], GREY),
        series(forecast, "mean", names["forecast"], BLUE),
    ]
    return lines_svg(
        lines,
        label,
        number,
        names.get("x_axis", ""),
        names.get("y_axis", ""),
        x_step=1,
        width=SERIES_WIDTH_PX,
        bands=[band],
    )


def plan_editor(plan: pl.DataFrame, content_hash: str) -> tuple[str, pl.DataFrame]:
    """Pick a queue and edit its weekly roster; returns the queue and the edited grid."""
    st.caption(t("forecast.plan_intro"))
    queues = plan["queue"].unique().sort().to_list()
    queue = st.selectbox(t("forecast.queue"), queues) if len(queues) > 1 else queues[0]
    grid = plan_grid(plan, queue)
    # The grid is the source each run; the editor keeps its edits under its own key.
    edited = st.data_editor(
        grid,
        key=f"plan_{content_hash}_{queue}",
        disabled=["weekday"],
        hide_index=True,
        column_config={"weekday": t("columns.day")},
    )
    return queue, edited


def breach_tiles(totals: BreachTotals) -> None:
    a, b, c = st.columns(3)
    a.metric(t("forecast.likely"), number(totals.likely), help=t("forecast.likely_help"))
    expected = number(totals.expected, 1)
    b.metric(t("forecast.expected"), expected, help=t("forecast.expected_help"))
    short = number(totals.short_hours, 1)
    c.metric(t("forecast.short"), short, help=t("forecast.short_help"))


def by_day_and_time(breaches: pl.DataFrame) -> pl.DataFrame:
    """The breaches in time order with a day label (date and weekday name) and a time of
    day, for maps (their rows follow the labels' first appearance, and 31.12.2025 does not
    sort as a date)."""
    days = _weekdays()
    weekday = pl.col("time").dt.weekday().replace_strict(days, return_dtype=pl.String)
    return breaches.sort("time", maintain_order=True).with_columns(
        (pl.col("time").dt.strftime(f"{day_pattern()} ") + weekday).alias("day"),
        pl.col("time").dt.strftime("%H:%M").alias("time of day"),
    )


def breach_map(shown: pl.DataFrame, calibration: Calibration, target: float, goal: float) -> None:
    calibrated = calibration.status != "uncalibrated"
    title = t("forecast.breach_map", goal=percent(goal, 0), target=f"{target:g}")
    status = (
        t("sla_risk.map_calibrated", weeks=calibration.weeks)
        if calibrated
        else t("sla_risk.map_uncalibrated")
    )
    chart = heatmap_figure(
        shown,
        "day",
        "time of day",
        "p_breach",
        f"{title} · {status}",
        scale="Reds",
        zmin=0,
        zmax=1,
        percent=True,
    )
    st.plotly_chart(chart, width="stretch", config=chart_config())


def breach_kinds(points: pl.DataFrame) -> dict[str, tables.Kind]:
    """:data:`BREACHES`, with the planned agents as whole people where every plan is whole
    ("3", not "3.0"); a plan averaged over past weeks or given in FTE keeps its decimal."""
    return {**BREACHES, "agents": "count"} if tables.whole(points["agents"]) else BREACHES


def breach_points_table(points: pl.DataFrame, calibrated: bool) -> None:
    st.markdown(f"**{t('forecast.points')}**")
    if points.height:
        labels = {"time": t("forecast.when")}
        tables.show(points.select(POINTS), breach_kinds(points), labels=labels, key="fc_points")
    else:
        st.success(t("forecast.no_points"))
    st.caption(t("sla_risk.help_calibrated" if calibrated else "forecast.breach_help"))


def calibration_block(calibration: Calibration, queue: str) -> None:
    """How the queue model's service level compared with what was delivered on history."""
    st.subheader(t("sla_risk.title"))
    model, fitted = calibration.model, calibration.calibrated
    minimum = MIN_INTERVALS if calibration.status == "uncalibrated" else MIN_QUEUE_INTERVALS
    status = f"sla_risk.status_{calibration.status}"
    st.markdown(t(status, intervals=number(model.intervals), weeks=calibration.weeks, min=minimum))
    a, b, c, d = st.columns(4)
    quiet = {"delta_color": "off", "delta_arrow": "off"}
    a.metric(
        t("sla_risk.model_sl"),
        percent(model.predicted_sl),
        delta=t("sla_risk.vs_delivered", delivered=percent(model.realized_sl)),
        help=t("sla_risk.model_sl_help", mae=percent(model.mae), intervals=number(model.intervals)),
        **quiet,  # type: ignore[arg-type]
    )
    if fitted.intervals:
        b.metric(
            t("sla_risk.calibrated_sl"),
            percent(fitted.predicted_sl),
            delta=t("sla_risk.vs_delivered", delivered=percent(fitted.realized_sl)),
            help=t("sla_risk.calibrated_sl_help", intervals=number(fitted.intervals)),
            **quiet,  # type: ignore[arg-type]
        )
        c.metric(t("sla_risk.mae"), percent(fitted.mae), help=t("sla_risk.mae_help"))
        d.metric(
            t("sla_risk.brier"),
            number(fitted.brier, 3),
            delta=t("sla_risk.vs_constant", constant=number(fitted.constant_brier, 3)),
            help=t("sla_risk.brier_help"),
            **quiet,  # type: ignore[arg-type]
        )
    for info in calibration.queues():
        st.caption(
            t(
                "sla_risk.queue_line",
                queue=md(info["queue"]),
                model=t(f"sla_risk.{info['model']}"),
                patience=seconds(info["patience_s"])  # type: ignore[arg-type]
                if info["patience_s"] is not None
                else t("sla_risk.patience_unknown"),
                map=t(f"sla_risk.map_{info['map'] or 'none'}"),
                rho=number(info["rho"], 2),  # type: ignore[arg-type]
            )
        )
    _calibration_charts(calibration, queue)
    st.caption(t("sla_risk.method"))


def _calibration_charts(calibration: Calibration, queue: str) -> None:
    """The model against history and the reliability diagram, drawn only once opened: the
    tiles above carry the verdict, and the two charts were a third of the page's drawing
    in the browser on a first visit."""
    charts = st.expander(t("forecast.lazy.calibration"), key="fc_calibration", on_change="rerun")
    if not charts.open:
        return
    left, right = charts.columns(2)
    curve = calibration.curve(queue)
    names = ("intervals", "diagonal", "map")
    labels = {n: t(f"sla_risk.{n}") for n in names}
    labels |= {"x": t("sla_risk.scatter_x"), "y": t("sla_risk.scatter_y")}
    labels["title"] = t("sla_risk.scatter_title", queue=queue)
    history = calibration.history.filter(pl.col("queue") == queue)
    points = (curve.x.tolist(), curve.y.tolist()) if curve else None
    left.plotly_chart(
        calibration_figure(history, points, labels), width="stretch", config=chart_config()
    )
    bins = calibration.reliability()
    if not bins.height:
        right.info(t("sla_risk.no_reliability", min=MIN_INTERVALS))
        return
    keys = ("title", "x", "y", "observed", "diagonal")
    names_rel = {
        k: t(f"sla_risk.{'reliability_title' if k == 'title' else 'rel_' + k}") for k in keys
    }
    right.plotly_chart(reliability_figure(bins, names_rel), width="stretch", config=chart_config())


def gap_map(shown: pl.DataFrame) -> None:
    st.subheader(t("forecast.gap"))
    chart = heatmap_figure(
        shown, "day", "time of day", "gap", t("forecast.gap_map"), scale="RdBu_r", zmin=-3, zmax=3
    )
    st.plotly_chart(chart, width="stretch", config=chart_config())
    st.caption(t("forecast.gap_help"))


@st.fragment
def calculator(interval_s: float, target: float, goal: float) -> None:
    """Erlang C for one interval typed by hand (a fragment: typing redraws it alone)."""
    with st.expander(t("forecast.calculator")):
        a, b, c, d, e = st.columns(5)
        calls = a.number_input(t("forecast.calc_calls"), 0.0, 1e6, 100.0, format="%.0f")
        aht = b.number_input(t("forecast.calc_aht"), 1.0, 1e5, 180.0, format="%.0f")
        agents = c.number_input(t("forecast.calc_agents"), 0, 100_000, 12)
        interval = d.number_input(
            t("forecast.calc_interval"), 60.0, 86_400.0, interval_s, format="%.0f"
        )
        answer = e.number_input(
            t("forecast.calc_target"), 0.0, 3600.0, float(target), format="%.0f"
        )
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
