"""The Economics page's blocks: inputs bound to the URL, results as tiles, tables, charts.

Every number comes from :mod:`analytics.economics`; this module only lays it out.
"""

from __future__ import annotations

from functools import partial

import polars as pl
import streamlit as st

from analytics.dataset import Dataset
from analytics.economics import (
    ChurnScenario,
    DataInputs,
    Initiative,
    SilentChurnLoss,
    churn_change_from_nps,
    derived_ltv,
    evaluate,
    loss_interval,
    monthly_rate,
    nps_detectability,
    retention,
    returns_curve,
    scenario_sheet,
    silent_churn_loss,
)
from analytics.export import to_xlsx_bytes
from analytics.measures import data_end
from dashboard import tables
from dashboard.bars_svg import Bar, bars_svg
from dashboard.charts import GREEN, GREY, RED
from dashboard.escape import draw_svg
from dashboard.fmt import compact_money, money, number, percent, symbol
from dashboard.i18n import in_language, t
from dashboard.lines_svg import Series, lines_svg

# Exported tables: what each column holds (dashboard/tables.py).
PROJECTION: dict[str, tables.Kind] = {
    "month": "count",
    "customers_at_churn_from": "number",
    "customers_at_churn_to": "number",
    "extra_customers_lost": "number",
    "revenue_lost": "money",
    "revenue_lost_discounted": "money",
    "replacement_revenue_lost": "money",
}
SENSITIVITY: dict[str, tables.Kind] = {
    "input": "text",
    "result_at_low": "money",
    "result_at_high": "money",
    "swing": "money",
}


# Beyond this horizon a dot on each month runs into a thick line: the points are not drawn.
MARKED_MONTHS = 36
# The drawings' own widths: about their columns' at 1366 px (the results column about
# 515 px, a half column about 410), so that their 12-13 px texts stay that size on screen.
RESULTS_PX = 520
HALF_PX = 400

# The inputs' widget keys, which are also their names in a shared link's URL.
KEYS = {
    "customers": "eco_customers",
    "ltv": "eco_ltv",
    "churn_from": "eco_from",
    "churn_to": "eco_to",
    "months": "eco_months",
    "discount": "eco_discount",
}


def widget_values(values: dict[str, float]) -> dict[str, float]:
    """``analytics.economics`` input names -> this page's widget keys."""
    return {KEYS[k]: v for k, v in values.items()}


def seed(values: dict[str, float], content_hash: str) -> None:
    """Seed the inputs once per dataset: on the first visit a value in the URL (a shared
    scenario) wins; another dataset (an upload) re-seeds them all, so its page never
    shows the previous data's numbers."""
    changed = st.session_state.get("eco_seeded_for") not in (None, content_hash)
    for key, default in values.items():
        if changed or (key not in st.session_state and key not in st.query_params):
            st.session_state[key] = default
    st.session_state["eco_seeded_for"] = content_hash


def _apply(values: dict[str, float]) -> None:
    st.session_state.update(values)


def _number(label: str, key: str, step: float, fmt: str = "%.0f", **extra: object) -> float:
    """A number input bound to the URL (a shared link restores the scenario)."""
    return st.number_input(
        t(label), min_value=0.0, step=step, format=fmt, key=key, bind="query-params", **extra
    )


def scenario_inputs(
    data: DataInputs | None, dataset: Dataset, mission: dict, measured: dict
) -> ChurnScenario:
    """The inputs panel: presets, base, LTV (and its helper), churn, horizon, discount."""
    currency = dataset.settings.currency
    st.subheader(t("economics.inputs"))
    presets = st.container(horizontal=True)  # one block, not a row of two columns
    presets.button(t("economics.mission"), on_click=_apply, args=(mission,), width="stretch")
    presets.button(
        t("economics.from_data"),
        on_click=_apply,
        args=(measured,),
        width="stretch",
        disabled=data is None,
    )
    customers = _number(
        "economics.customers",
        "eco_customers",
        1000.0,
        help=t("economics.customers_help", end=data_end(dataset)) if data else None,
    )
    ltv_help = None
    if data:
        key = "economics.ltv_help" if data.ltv else "economics.ltv_help_missing"
        ltv_help = t(key, arpu=money(data.arpu, currency), churn=percent(data.ltv_churn, 2))
    value = _number("economics.ltv", "eco_ltv", 100.0, help=ltv_help)
    to_help = None
    if data:
        active = number(data.month_active)
        churned = number(data.monthly["churned"][-1])
        month = data.monthly["month"][-1]
        to_help = t("economics.churn_to_help", month=month, churned=churned, active=active)
    from_help = t("economics.churn_from_help") if data else None
    churn_from = _number(
        "economics.churn_from", "eco_from", 0.1, "%.2f", max_value=99.0, help=from_help
    )
    churn_to = _number("economics.churn_to", "eco_to", 0.1, "%.2f", max_value=99.0, help=to_help)
    with st.container(horizontal=True):
        months = int(
            st.number_input(t("economics.months"), 1, 120, key="eco_months", bind="query-params")
        )
        discount = _number("economics.discount", "eco_discount", 1.0, "%.1f", max_value=100.0)
    # Drawn only once opened (as the observed churn below): a closed helper's three inputs
    # were sent and laid out again on every change of an input above.
    helper = st.expander(t("economics.derive"), key="eco_derive", on_change="rerun")
    if helper.open:
        with helper:
            _ltv_helper(data, churn_from / 100, currency)
    return ChurnScenario(
        customers, value, churn_from / 100, churn_to / 100, months, monthly_rate(discount / 100)
    )


def _ltv_helper(data: DataInputs | None, churn_from: float, currency: str) -> None:
    """LTV = ARPU x margin x lifetime, with a button that puts it into the LTV input."""
    arpu = st.number_input(
        t("economics.arpu"),
        min_value=0.0,
        step=10.0,
        value=data.arpu if data and data.arpu else 1260.0,
        format="%.0f",
    )
    margin = (
        st.number_input(t("economics.margin"), 0.0, 100.0, 100.0, step=1.0, format="%.0f") / 100
    )
    # From data the lifetime is 1 / the LTV churn, so at 100 % margin the derived LTV is
    # the prefilled one.
    measured = data is not None and bool(data.ltv_churn)
    lifetime = st.number_input(
        t("economics.lifetime"),
        0.0,
        600.0,
        1 / data.ltv_churn if measured else 0.0,  # type: ignore[union-attr, operator]
        step=1.0,
        format="%.1f",
        help=t("economics.lifetime_help", churn=percent(data.ltv_churn, 2)) if measured else None,  # type: ignore[union-attr]
    )
    life, derived = derived_ltv(arpu, margin, lifetime, churn_from)
    st.caption(
        t(
            "economics.derived",
            arpu=money(arpu, currency),
            margin=percent(margin, 0),
            lifetime=number(life, 1),
            ltv=money(derived, currency),
        )
    )
    st.button(t("economics.use_ltv"), on_click=_apply, args=({"eco_ltv": float(round(derived))},))


def loss_tiles(s: ChurnScenario, loss: SilentChurnLoss, currency: str) -> None:
    """The three tiles (short labels, exact figures in their help) and the sentence."""
    exact = {"month": money(loss.revenue_lost_per_month, currency)}
    exact["year"] = money(loss.revenue_lost_per_year, currency)
    # Money tiles get the room a Russian "257,1 млн ₽" needs at 1366 px.
    a, b, c = st.columns([1, 1.4, 1.4])
    a.metric(t("economics.extra_month"), number(loss.extra_customers_per_month))
    b.metric(
        t("economics.lost_month"),
        compact_money(loss.revenue_lost_per_month, currency),
        help=t("economics.lost_month_help", value=exact["month"]),
    )
    c.metric(
        t("economics.lost_year"),
        compact_money(loss.revenue_lost_per_year, currency),
        help=t("economics.lost_year_help", value=exact["year"]),
    )
    extra = number(loss.extra_customers_per_month)
    year = number(loss.extra_customers_per_year)
    st.markdown(t("economics.exactly", extra=extra, extra_year=year, **exact))
    low, high = (money(v, currency) for v in loss_interval(s))
    st.caption(t("economics.interval", low=low, high=high, n=number(s.customers)))


def definitions(s: ChurnScenario, loss: SilentChurnLoss, currency: str) -> None:
    """The same rise under four honest definitions: a bar chart and a table saying how."""
    names = [
        t("economics.def_replacement"),
        t("economics.def_cohort", months=s.months),
        t("economics.def_discounted"),
        t("economics.def_ltv"),
    ]
    amounts = [
        loss.revenue_lost_per_year,
        loss.cohort_revenue_lost,
        loss.cohort_revenue_lost_discounted,
        loss.remaining_value_lost,
    ]
    why = [
        t("economics.def_replacement_why", extra=number(loss.extra_customers_per_month)),
        t(
            "economics.def_cohort_why",
            n=number(s.customers),
            c0=number(s.churn_from, 4),
            c1=number(s.churn_to, 4),
            months=s.months,
            extra=number(loss.cohort_extra_customers),
        ),
        t("economics.def_discounted_why", d=percent(s.monthly_discount, 2)),
        t(
            "economics.def_ltv_why",
            ratio=percent(loss.ltv_ratio, 0),
            before=money(s.ltv, currency),
            after=money(loss.ltv_after, currency),
        ),
    ]
    bars = [
        (
            name,
            [Bar(0.0, v, RED if i == 0 else GREY, compact_money(v, currency), money(v, currency))],
        )
        for i, (name, v) in enumerate(zip(names, amounts, strict=True))
    ]
    draw_svg(bars_svg(bars, width=RESULTS_PX), title=f"### {t('economics.definitions')}")
    # A static table: the explanations are sentences, which a grid would cut off.
    amount = tables.header("amount")  # each cell carries its currency sign
    columns = {tables.header("definition"): names, amount: amounts}
    frame = pl.DataFrame(columns | {tables.header("explanation"): why})
    tables.static(frame, {amount: partial(money, currency=currency)})


def projection(loss: SilentChurnLoss, currency: str) -> None:
    """Cumulative revenue lost by month under three conventions (:func:`projection_svg`)."""
    title = f"### {t('economics.projection')}"
    draw_svg(projection_svg(loss.projection, currency), title=title)


def projection_svg(projection: pl.DataFrame, currency: str) -> str:
    """A loss's projection (:attr:`SilentChurnLoss.projection`) as lines, one per
    convention; each point's exact amount is its hover text (the Workshop draws it too)."""
    month = t("economics.month_axis")
    months = projection["month"].to_list()
    marker = 3.0 if len(months) <= MARKED_MONTHS else 0.0  # unseen, still hovered
    lines = []
    for column, name, color, dashed in (
        ("replacement_revenue_lost", "replacement", RED, False),
        ("revenue_lost", "cohort", GREY, False),
        ("revenue_lost_discounted", "discounted", GREY, True),
    ):
        label = t(f"economics.proj_{name}")
        points = list(zip(months, projection[column].to_list(), strict=True))
        hovers = [f"{label}\n{month} {m}: {money(v, currency)}" for m, v in points]
        lines.append(Series(label, points, hovers, color, dashed, marker))
    short = partial(compact_money, currency=currency, tick=True)
    return lines_svg(lines, number, short, month, x_step=1)


def observed(data: DataInputs) -> None:
    """Observed churn by month (per segment where the customers have one), drawn only once
    opened: it does not depend on the inputs, yet its grid was formatted again, cell by
    cell, on every change of one."""
    shown = st.expander(t("economics.observed"), key="eco_observed_open", on_change="rerun")
    if not shown.open:
        return
    with shown:
        if data.by_segment is not None:
            frame = data.by_segment.pivot(on="segment", index="month", values="churn_rate")
        else:
            frame = data.monthly.select("month", "churn_rate")
        frame = frame.with_columns(pl.col("month").dt.strftime("%Y-%m"))
        kinds: dict[str, tables.Kind] = {c: "percent" for c in frame.columns if c != "month"}
        tables.show(frame, kinds, key="eco_observed")
        st.caption(t("economics.observed_note"))


def retention_tiles(s: ChurnScenario, currency: str) -> None:
    """Customers saved and revenue kept by a churn reduction (absolute or relative)."""
    st.subheader(t("economics.retention"))
    relative = st.toggle(t("economics.relative_toggle"), key="eco_relative", bind="query-params")
    label = "economics.relative" if relative else "economics.points"
    amount = _number(label, "eco_reduction", 0.1, "%.2f", value=0.6) / 100
    way = {"relative": amount} if relative else {"points": amount}
    try:
        kept = retention(s.customers, s.ltv, s.churn_to, **way)
    except ValueError:
        st.error(t("economics.reduction_error"))
        return
    a, b = st.columns(2)  # two tiles a row: a half-page row of three cuts money at 1366 px
    a.metric(
        t("economics.saved"),
        number(kept.saved_per_month),
        help=f"{number(s.customers)} × {percent(kept.reduction, 2)}",
    )
    for column, label, value in (
        (b, "economics.kept_month", kept.revenue_kept_per_month),
        (a, "economics.kept_year", kept.revenue_kept_per_year),
    ):
        column.metric(t(label), compact_money(value, currency), help=money(value, currency))


def initiative_inputs(s: ChurnScenario, data: DataInputs | None, dataset: Dataset) -> Initiative:
    """Spend (absolute or % of today's cost to serve) and effect (churn points or NPS)."""
    cost_now = data.monthly_cost if data else None
    currency = dataset.settings.currency
    share = st.toggle(
        t("economics.percent_toggle"),
        key="eco_cost_pct",
        bind="query-params",
        disabled=not cost_now,
    )
    cost_help = t("economics.cost_help", cost=money(cost_now, currency)) if data else None
    label = "economics.percent_of_cost" if share else "economics.cost"
    typed = _number(label, "eco_cost", 100_000.0, value=1_000_000.0, help=cost_help)
    spend = typed / 100 * cost_now if share and cost_now else typed
    upfront = _number("economics.upfront", "eco_upfront", 100_000.0, value=0.0)
    nps_table = data.nps_churn if data else None
    via_nps = st.toggle(
        t("economics.nps_toggle"),
        key="eco_via_nps",
        bind="query-params",
        disabled=nps_table is None,
    )
    label = "economics.nps_points" if via_nps else "economics.churn_points"
    effect = _number(label, "eco_effect", 0.1, "%.2f", value=0.3)
    reduction, se = effect / 100, 0.0
    if via_nps and nps_table is not None and dataset.surveys is not None:
        reduction, se = churn_change_from_nps(nps_table, effect)
        _nps_evidence(nps_table, dataset.surveys, effect, reduction, se)
    elif nps_table is None:
        st.caption(t("economics.no_nps"))
    return Initiative(s.customers, s.ltv, reduction, spend, upfront, s.months, se)


def _nps_evidence(
    table: pl.DataFrame, surveys: pl.DataFrame, effect: float, reduction: float, se: float
) -> None:
    st.markdown(f"**{t('economics.nps_block')}**")
    change, error = number(100 * reduction, 3), number(100 * se, 3)
    st.caption(t("economics.nps_explain", k=number(effect, 1), change=change, se=error))
    kinds: dict[str, tables.Kind] = {
        "answers": "count",
        "left": "count",
        "monthly": "percent",
        "low": "percent",
        "high": "percent",
    }
    bands = {b: t(f"economics.band_{b}") for b in ("detractor", "passive", "promoter")}
    shown = table.select(pl.col("band").replace_strict(bands, default=pl.col("band")), *kinds)
    labels = {"low": t("economics.nps_low"), "high": t("economics.nps_high")}
    tables.show(shown, kinds, labels=labels, key="eco_nps")
    detect = nps_detectability(surveys)
    if detect is not None:
        answers, mde = detect
        verdict = t("economics.detectable" if effect >= mde else "economics.not_detectable")
        st.caption(
            t(
                "economics.nps_detect",
                n=number(answers),
                mde=number(mde, 1),
                k=number(effect, 1),
                verdict=verdict,
            )
        )


def initiative_results(i: Initiative, gap: float, currency: str) -> None:
    """Net effect, payback, break-even, probability, and the diminishing-returns curve."""
    outcome = evaluate(i)
    a, b = st.columns(2)
    for column, label, value in (
        (a, "economics.net_month", outcome.net_per_month),
        (b, "economics.net_horizon", outcome.net_over_horizon),
    ):
        column.metric(t(label), compact_money(value, currency), help=money(value, currency))
    if outcome.payback_months is None:
        payback = t("economics.never")
    elif outcome.payback_months == 0:
        payback = t("economics.at_once")
    else:
        payback = t("economics.payback_months", n=number(outcome.payback_months, 1))
    a.metric(t("economics.payback"), payback, help=t("economics.payback_help"))
    pp = t("economics.pp")
    b.metric(t("economics.break_even"), f"{number(100 * outcome.break_even_reduction, 3)} {pp}")
    a.metric(t("economics.probability"), percent(outcome.probability_pays_off, 0))
    title = f"**{t('economics.curve')}**"
    try:
        curve = returns_curve(i, max_reduction=gap)
    except ValueError:
        st.markdown(title)
        st.caption(t("economics.curve_unavailable", gap=number(100 * gap, 2)))
        return
    svg = _returns_svg(curve.curve, curve.optimum_spend, i, outcome.net_per_month, currency)
    draw_svg(svg, title=title)
    st.caption(
        t(
            "economics.curve_explain",
            max=f"{number(100 * gap, 2)} {pp}",
            optimum=money(curve.optimum_spend, currency),
            net=money(curve.optimum_net, currency),
        )
    )


def _returns_svg(
    curve: pl.DataFrame, optimum: float, i: Initiative, net: float, currency: str
) -> str:
    """Net value a month against spend, a dashed line at the optimum spend and the
    initiative's own point (red); each point's spend and net are its hover text."""
    spend, value = t("economics.spend_axis"), t("economics.net_axis")

    def hover(x: float, y: float) -> str:
        return f"{spend}: {money(x, currency)}\n{value}: {money(y, currency)}"

    points = list(zip(curve["spend"].to_list(), curve["net"].to_list(), strict=True))
    line = Series("", points, [hover(x, y) for x, y in points], GREEN, marker=0)
    here = Series("", [(i.monthly_cost, net)], [hover(i.monthly_cost, net)], RED, marker=6)
    short = partial(compact_money, currency=currency, tick=True)
    # In half a column: a narrower drawing, so that its texts keep their size.
    return lines_svg([line, here], short, short, spend, value, guides=[optimum], width=HALF_PX)


def sensitivity_bars(table: pl.DataFrame, currency: str) -> None:
    """The tornado (:func:`tornado_svg`)."""
    draw_svg(tornado_svg(table, currency))


def tornado_svg(table: pl.DataFrame, currency: str) -> str:
    """The tornado: the yearly loss when each input moves alone to its low and its high
    value (largest swing on top), from the base loss; red where the move raises the loss,
    green where it lowers it. Drawn half a column wide, where it stands."""
    base = table["base"][0]
    rows = []
    for row in table.iter_rows(named=True):
        name = t(f"economics.{row['input']}")
        bars = [
            Bar(
                base,
                row[f"result_at_{end}"],
                RED if row[f"result_at_{end}"] > base else GREEN,
                compact_money(row[f"result_at_{end}"], currency),
                f"{name}: {money(row[f'result_at_{end}'], currency)}",
            )
            for end in ("low", "high")
        ]
        rows.append((name, bars))
    note = t("economics.tornado_base", value=compact_money(base, currency))
    return bars_svg(rows, base, note, width=HALF_PX)


def downloads(
    s: ChurnScenario, loss: SilentChurnLoss, sensitivity: pl.DataFrame, currency: str
) -> None:
    """The scenario as CSV, and with its projection and sensitivity as an Excel book; in
    words, rounded (analytics.economics.scenario_sheet, dashboard.tables). Both are written
    when asked for, in this run's language: building them on every change of an input
    was a fifth of the page's script."""
    row = st.container(horizontal=True)  # one block, not a row of two columns
    row.download_button(
        t("economics.download_csv"),
        in_language(partial(_scenario_csv, s, loss, currency)),
        file_name="cx_radar_economics.csv",
        mime="text/csv",
    )
    row.download_button(
        t("economics.download_xlsx"),
        in_language(partial(_scenario_xlsx, s, loss, sensitivity, currency)),
        file_name="cx_radar_economics.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _scenario_sheet(s: ChurnScenario, loss: SilentChurnLoss, currency: str) -> pl.DataFrame:
    """The scenario's items and units in words."""
    units = {"money": symbol(currency), "percent": "%"}
    units |= {u: t(f"economics.unit_{u}") for u in ("customers", "months")}
    sheet = scenario_sheet(s, loss)
    return sheet.with_columns(
        pl.col("item").replace_strict({k: t(f"economics.sheet_{k}") for k in sheet["item"]}),
        pl.col("unit").replace_strict(units),
    )


def _scenario_csv(s: ChurnScenario, loss: SilentChurnLoss, currency: str) -> bytes:
    return tables.export_csv(_scenario_sheet(s, loss, currency), {})


def _scenario_xlsx(
    s: ChurnScenario, loss: SilentChurnLoss, sensitivity: pl.DataFrame, currency: str
) -> bytes:
    inputs = sensitivity.select(list(SENSITIVITY)).with_columns(
        pl.col("input").replace_strict({n: t(f"economics.{n}") for n in sensitivity["input"]})
    )
    book = {
        t("economics.sheet_scenario"): tables.for_export(_scenario_sheet(s, loss, currency), {}),
        t("economics.sheet_projection"): tables.for_export(
            loss.projection, PROJECTION, currency=currency
        ),
        t("economics.sheet_sensitivity"): tables.for_export(inputs, SENSITIVITY, currency=currency),
    }
    return to_xlsx_bytes(book)


def formulas() -> None:
    with st.expander(t("economics.formulas")):
        for fn in (silent_churn_loss, retention, evaluate, returns_curve, loss_interval):
            st.code(t(f"formula.{fn.__name__}"), language="text")
