"""The workshop story in the reader's language: words, charts and the board pack of the
engine's steps (:mod:`analytics.story`). No figure is computed here, only worded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

import plotly.graph_objects as go
import polars as pl

from analytics.board_pack import Pack, Section
from analytics.dataset import Dataset
from analytics.measures import data_end
from analytics.story import Figure, Step
from dashboard import process_view
from dashboard.alert_view import say
from dashboard.bars_svg import Bar, bars_svg
from dashboard.chart_locale import month_label
from dashboard.charts import (
    BLUE,
    GREEN,
    GREY,
    RED,
    bars_figure,
    control_chart,
    heatmap_figure,
    lines_figure,
    projection_figure,
    story_figure,
)
from dashboard.economics_view import projection_svg
from dashboard.fmt import compact_money, money, number, percent, seconds
from dashboard.forecast_view import by_day_and_time
from dashboard.i18n import catalogue, day_pattern, language, t, tr
from dashboard.lines_svg import Band, Series, lines_svg

# The figure each step puts in the board pack's summary table.
KEY_FIGURE = {
    "green": "sla",
    "churn": "last",
    "silent_loss": "year",
    "at_risk": "money",
    "cost": "excess",
    "drift": "last",
    "tension": "zones",
    "sla_risk": "likely",
    "fix_first": "money",
}
NOTES = ("say", "point", "ask")
# Text figures worded from a catalogue section: figure -> section.
WORDED = {
    "tag": "story.tag",
    "pair_tag": "story.tag",
    "indicator": "risk.indicator",
    "slice": "story.slice",
}


@dataclass(frozen=True)
class Words:
    """A step as the facilitator reads it."""

    title: str
    headline: str
    notes: tuple[tuple[str, str], ...]
    skipped: str | None


def shown(figure: Figure, currency: str) -> str:
    """A figure as people read it: money compact (₽30.24M), shares in %, m:ss."""
    value = figure.value
    if value is None or value == "":
        return "—"
    if figure.kind == "money":
        return compact_money(float(value), currency)  # type: ignore[arg-type]
    if figure.kind in ("share", "rate"):
        digits = figure.digits if figure.digits is not None else 2 if figure.kind == "rate" else 1
        return percent(float(value), digits)  # type: ignore[arg-type]
    if figure.kind == "seconds":
        return seconds(float(value))  # type: ignore[arg-type]
    if figure.kind in ("count", "number"):
        return number(float(value), figure.digits or 0)  # type: ignore[arg-type]
    if figure.kind == "sentence":  # an alert's headline
        return say(value, currency)  # type: ignore[arg-type]
    if isinstance(value, dt.datetime):
        return value.strftime(f"{day_pattern()} %H:%M")
    if figure.kind == "month" and isinstance(value, dt.date):
        return month_label(value)  # янв 2025, as plotly's month axes elsewhere
    if isinstance(value, dt.date):
        return value.strftime(day_pattern())
    return tr(value)  # an owner or action of the default rules in words; data as it is


def worded(section: str, value: object) -> str:
    """``value`` in words from a catalogue section, or as it is when the catalogue has no
    word for it (a data value, a snapshot's own attribute name)."""
    key = f"{section}.{value}"
    return t(key) if key in catalogue("en") else str(value)


def values(step: Step, currency: str) -> dict[str, str]:
    """Every figure of a step as text; tags and indicators in words."""
    out = {name: shown(f, currency) for name, f in step.figures.items()}
    for name, section in WORDED.items():
        figure = step.figures.get(name)
        if figure is not None and figure.value:
            out[name] = worded(section, figure.value)
    return out


def _headline(step: Step, currency: str) -> str:
    filled = values(step, currency)
    key = f"story.{step.key}.headline"
    # A few steps read differently when a figure is missing or a flag is set.
    if step.key == "at_risk" and step.figures["money"].value is None:
        key = f"story.{step.key}.headline_no_ltv"
    if step.key == "sla_risk" and step.figures["queue"].value is None:
        key = f"story.{step.key}.headline_none"
    if step.key == "drift":
        filled["norm"] = t("story.drift.norm") if step.figures["norm"].value else ""
    if step.key == "cost":
        filled["estimated"] = t("story.cost.estimated") if step.figures["estimated"].value else ""
    change = step.figures.get("change")
    if step.key == "tension" and change is not None and change.value is not None:
        filled["change"] = ("+" if float(change.value) > 0 else "") + filled["change"]  # type: ignore[arg-type]
    return t(key, **filled)


def words(step: Step, currency: str) -> Words:
    """The step's title, headline (its figures), the facilitator's notes, or the sentence
    saying why it is skipped."""
    title = t(f"story.{step.key}.title")
    if step.skipped:
        why = {k: shown(v, currency) if isinstance(v, Figure) else v for k, v in step.why.items()}
        return Words(title, "", (), t("story.skipped", reason=t(step.skipped, **why)))
    notes = tuple((t(f"story.notes.{n}"), t(f"story.{step.key}.{n}")) for n in NOTES)
    return Words(title, _headline(step, currency), notes, None)


def figure(step: Step) -> go.Figure | None:
    """The step's chart, built by the app's own chart functions, its margins grown to fit
    the axis labels (long names, dates); None when skipped."""
    chart = _chart(step)
    return chart.update_xaxes(automargin=True).update_yaxes(automargin=True) if chart else None


def _chart(step: Step) -> go.Figure | None:
    frame = step.frame
    if step.skipped or frame is None or frame.is_empty():
        return None
    title = t(f"story.{step.key}.chart")
    if step.key == "green":
        series = [
            (t(f"overview.chart_{name}"), (frame[name] * scale).to_list())
            for name, scale in (("sla", 100), ("nps", 1))
            if name in frame.columns
        ]
        return lines_figure(frame["month"].to_list(), series, title)
    if step.key == "churn":
        labels = (t("overview.chart_sla"), t("overview.chart_nps"), t("overview.chart_churn"))
        return story_figure(frame, title, *labels).update_layout(title=title)
    if step.key == "silent_loss":
        names = {
            "replacement_revenue_lost": t("economics.proj_replacement"),
            "revenue_lost": t("economics.proj_cohort"),
            "revenue_lost_discounted": t("economics.proj_discounted"),
        }
        return projection_figure(frame, names, t("economics.month_axis")).update_layout(
            title=title, margin={"t": 50}
        )
    if step.key == "at_risk":
        slice_ = str(step.figures["slice"].value)
        top = frame.head(8)
        return bars_figure(top[slice_].to_list(), top["revenue_at_risk"].to_list(), title)
    if step.key == "cost":
        tags = [worded("story.tag", g) for g in frame["tag"]]
        return bars_figure(tags, frame["at_stake"].to_list(), title)
    if step.key == "drift":
        months = [shown(Figure("month", m), "") for m in frame["month"]]
        # Month labels such as "Jan 2025" are names here, not numbers to put on a scale.
        chart = bars_figure(months, (frame["share"] * 100).to_list(), title)
        return chart.update_yaxes(type="category")
    if step.key == "tension":
        z = frame.row(0, named=True)
        labels = {"value": t("risk.weekly"), "limits": t("risk.limits")}
        chart = control_chart(z["week"], z["x"], z["ewma"], z["upper"], z["lower"], labels)
        return chart.update_layout(title=title, margin={"t": 50})
    if step.key == "sla_risk":
        grid = by_day_and_time(frame)  # the Forecasts page's map, days as the reader writes
        return heatmap_figure(
            grid,
            "day",
            "time of day",
            "p_breach",
            title,
            scale="Reds",
            zmin=0,
            zmax=1,
            percent=True,
        )
    return bars_figure(_alert_names(step, ""), frame["money_at_stake"].to_list(), title)


def _alert_names(step: Step, currency: str) -> list[str]:
    """``fix_first``'s bars: each alert's headline in words, numbered (several alerts can
    share a zone, and each keeps its own bar)."""
    return [f"{i}. {say(label, currency)}" for i, label in enumerate(step.labels, 1)]


def drawing(step: Step, currency: str) -> str | None:
    """The step's chart as a plain SVG (:mod:`dashboard.lines_svg`, :mod:`dashboard.bars_svg`;
    each point's or bar's exact figure its hover text) for the steps whose charts are lines
    or bars: moving through the story redrew a plotly figure on each step (plotly.js was
    most of the browser's work for a step). None for the others (the control chart, the
    heat map: :func:`figure`) and when skipped. The board pack keeps :func:`figure`."""
    frame = step.frame
    if step.skipped or frame is None or frame.is_empty():
        return None
    if step.key in ("green", "churn"):
        return _metrics_svg(frame, with_churn=step.key == "churn")
    if step.key == "silent_loss":
        return projection_svg(frame, currency)
    if step.key == "drift":
        months = [shown(Figure("month", m), "") for m in frame["month"]]
        shares = frame["share"].to_list()
        return bars_svg([(m, [_bar(v, percent(v))]) for m, v in zip(months, shares, strict=True)])
    column = {"at_risk": "revenue_at_risk", "cost": "at_stake", "fix_first": "money_at_stake"}
    if step.key not in column:
        return None
    if step.key == "at_risk":
        top = frame.head(8)
        names = [str(v) for v in top[str(step.figures["slice"].value)]]
    elif step.key == "cost":
        top, names = frame, [worded("story.tag", g) for g in frame["tag"]]
    else:
        top, names = frame, _alert_names(step, currency)
    amounts = top[column[step.key]].to_list()
    bars = [
        (name, [_bar(v, compact_money(v, currency), money(v, currency))])
        for name, v in zip(names, amounts, strict=True)
    ]
    return bars_svg(bars)


def _bar(value: float, text: str, hover: str | None = None) -> Bar:
    return Bar(0.0, value, BLUE, text, hover or text)


def _metrics_svg(frame: pl.DataFrame, with_churn: bool) -> str | None:
    """Service level (%) and NPS by month; under them, with ``with_churn``, monthly churn
    (%) with its interval: the Overview's story. None when the frame has none of them."""
    months = frame["month"].to_list()
    labels = [shown(Figure("month", m), "") for m in months]

    def label(at: float) -> str:
        return labels[int(at)] if 0 <= at < len(labels) and at == int(at) else ""

    def series(column: str, scale: float, color: str, dashed: bool = False) -> Series:
        name = t(f"overview.chart_{column}")
        values = (None if v is None else v * scale for v in frame[column])
        kept = [(i, v) for i, v in enumerate(values) if v is not None]
        digits = 2 if column == "churn" else 1
        hovers = [f"{name}\n{labels[i]}: {number(v, digits)}" for i, v in kept]
        return Series(name, kept, hovers, color, dashed)

    styles = (("sla", 100, GREEN, False), ("nps", 1, GREY, True))
    top = [series(c, *style) for c, *style in styles if c in frame.columns]
    panels = [lines_svg(top, label, number, x_step=1)] if any(s.points for s in top) else []
    if with_churn and "churn" in frame.columns:
        churn = series("churn", 100, RED)
        interval = [
            (i, low * 100, high * 100)
            for i, (low, high) in enumerate(
                zip(frame["churn_low"], frame["churn_high"], strict=True)
            )
            if low is not None and high is not None
        ]
        if churn.points:
            one_decimal = partial(number, decimals=1)
            band = Band("", interval, RED)
            panels.append(lines_svg([churn], label, one_decimal, x_step=1, bands=[band]))
    return "".join(panels) or None


def link_label(step: Step) -> str:
    return t("story.open", page=t(f"nav.{step.page}"))


# The Process tab a step opens on: the URL keeps an open tab by its label, in the reader's
# language, so it is added here to the engine's parameters.
_PROCESS_TABS = {"drift": "drift"}


def link_params(step: Step) -> dict[str, str] | None:
    """The page state a step's link opens: the engine's parameters (a scenario...) and the
    tab that shows the step's table."""
    params = dict(step.params)
    if step.key in _PROCESS_TABS:
        params[process_view.TAB_KEY] = process_view.tab_label(_PROCESS_TABS[step.key])
    return params or None


def pack(dataset: Dataset, story: tuple[Step, ...], notes: bool) -> Pack:
    """The board pack of a story: each shown step with its headline and chart (and the
    facilitator's notes when ``notes``), the skipped ones listed with the reason."""
    currency = dataset.settings.currency
    events = dataset.events
    first = events["timestamp"].min() if events.height else None
    sections, left_out = [], []
    for step in story:
        said = words(step, currency)
        if said.skipped:
            left_out.append(f"**{said.title}**: {said.skipped}")
            continue
        key = KEY_FIGURE[step.key]
        sections.append(
            Section(
                title=said.title,
                text=said.headline,
                key_label=t(f"story.{step.key}.key"),
                key_value=shown(step.figures[key], currency),
                figure=figure(step),
                notes=said.notes if notes else (),
                where=link_label(step) if notes else "",
            )
        )
    return Pack(
        title=t("story.pack.title"),
        subtitle=t(
            "story.pack.subtitle",
            name=dataset.name,
            first=first.date() if first is not None else "—",  # type: ignore[union-attr]
            last=data_end(dataset) or "—",
            currency=currency,
        ),
        lang=language(),
        sections=tuple(sections),
        columns=(t("story.pack.step"), t("story.pack.figure"), t("story.pack.value")),
        left_out_title=t("story.pack.left_out"),
        left_out=tuple(left_out),
    )
