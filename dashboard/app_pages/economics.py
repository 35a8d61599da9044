"""Economics: the CFO's what-if on silent churn, retention and a CX initiative."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.economics import (
    ChurnScenario,
    Initiative,
    churn_change_from_nps,
    evaluate,
    inputs_from_data,
    loss_interval,
    loss_summary,
    ltv,
    nps_minimum_detectable_change,
    retention,
    returns_curve,
    sensitivity_ranges,
    silent_churn_loss,
    tornado,
)
from analytics.export import to_csv_bytes, to_xlsx_bytes
from analytics.kpi import nps
from analytics.measures import data_end
from dashboard.charts import definitions_figure, projection_figure, returns_figure, tornado_figure
from dashboard.fmt import compact_money, money, number, percent
from dashboard.i18n import t
from dashboard.state import current_dataset, engine

MISSION = {
    "eco_customers": 40_000.0,
    "eco_ltv": 37_800.0,
    "eco_from": 3.0,
    "eco_to": 5.0,
    "eco_months": 12,
    "eco_discount": 0.0,
}

dataset = current_dataset()
currency = dataset.settings.currency
data = engine(inputs_from_data, dataset)
prefill = (
    MISSION
    if data is None
    else {
        "eco_customers": float(data.customers),
        # The LTV every page uses (ARPU / the last three months' churn); unmeasurable
        # without revenue or leavers, then the example's, and its help says so.
        "eco_ltv": float(round(data.ltv)) if data.ltv else MISSION["eco_ltv"],
        "eco_from": round(100 * data.churn_from, 2),
        "eco_to": round(100 * data.churn_to, 2),
        "eco_months": 12,
        "eco_discount": 0.0,
    }
)


def _apply(values: dict[str, float]) -> None:
    st.session_state.update(values)


# Seed the inputs once per dataset: on the first visit a value in the URL (a shared
# scenario) wins over the prefill; another dataset (an upload) re-seeds them all, so its
# page never shows the previous data's numbers.
seeded = st.session_state.get("eco_seeded_for")
for key, default in prefill.items():
    changed = seeded is not None and seeded != dataset.content_hash
    if changed or (key not in st.session_state and key not in st.query_params):
        st.session_state[key] = default
st.session_state["eco_seeded_for"] = dataset.content_hash


def _churn_input(label: str, key: str, help_text: str | None) -> float:
    """A monthly churn input in percent, bound to the URL; returns it as a share."""
    percent_value = st.number_input(
        t(label),
        min_value=0.0,
        max_value=99.0,
        step=0.1,
        format="%.2f",
        key=key,
        bind="query-params",
        help=help_text if data else None,
    )
    return percent_value / 100


def _money(value: float | None) -> str:
    return money(value, currency)


st.title(t("economics.title"))
st.caption(t("economics.intro"))
if data is not None:
    st.caption(t("economics.prefilled"))
else:
    # Say what the numbers are and which table would measure them; never "from the data".
    st.info(
        t(
            "economics.examples_no_customers"
            if dataset.customers is None
            else "economics.examples_short"
        )
    )
inputs, results = st.columns([1.3, 2], gap="large")

with inputs, st.container(border=True):
    st.subheader(t("economics.inputs"))
    a, b = st.columns(2)
    a.button(t("economics.mission"), on_click=_apply, args=(MISSION,), width="stretch")
    b.button(
        t("economics.from_data"),
        on_click=_apply,
        args=(prefill,),
        width="stretch",
        disabled=data is None,
    )
    month = data.monthly["month"][-1] if data else None
    customers = st.number_input(
        t("economics.customers"),
        min_value=0.0,
        step=1000.0,
        format="%.0f",
        key="eco_customers",
        bind="query-params",
        help=t("economics.customers_help", end=data_end(dataset)) if data else None,
    )
    value = st.number_input(
        t("economics.ltv"),
        min_value=0.0,
        step=100.0,
        format="%.0f",
        key="eco_ltv",
        bind="query-params",
        help=(
            t(
                "economics.ltv_help" if data.ltv else "economics.ltv_help_missing",
                arpu=_money(data.arpu),
                churn=percent(data.ltv_churn, 2),
            )
            if data
            else None
        ),
    )
    churn_from = _churn_input("economics.churn_from", "eco_from", t("economics.churn_from_help"))
    churn_to = _churn_input(
        "economics.churn_to",
        "eco_to",
        t(
            "economics.churn_to_help",
            month=month,
            churned=number(data.monthly["churned"][-1]),
            active=number(data.month_active),
        )
        if data
        else None,
    )
    a, b = st.columns(2)
    months = int(
        a.number_input(
            t("economics.months"),
            min_value=1,
            max_value=120,
            key="eco_months",
            bind="query-params",
        )
    )
    discount = (
        b.number_input(
            t("economics.discount"),
            min_value=0.0,
            max_value=100.0,
            step=1.0,
            key="eco_discount",
            bind="query-params",
        )
        / 100
    )
    with st.expander(t("economics.derive")):
        arpu = st.number_input(
            t("economics.arpu"),
            min_value=0.0,
            step=10.0,
            value=data.arpu if data and data.arpu else 1260.0,
            format="%.0f",
        )
        margin = st.number_input(t("economics.margin"), 0.0, 100.0, 100.0, step=1.0) / 100
        # From data the lifetime is 1 / the LTV churn, so at 100 % margin the derived LTV
        # is the prefilled one.
        lifetime = st.number_input(
            t("economics.lifetime"),
            0.0,
            600.0,
            1 / data.ltv_churn if data and data.ltv_churn else 0.0,
            step=1.0,
            format="%.1f",
            help=t("economics.lifetime_help", churn=percent(data.ltv_churn, 2))
            if data and data.ltv_churn
            else None,
        )
        life = lifetime or (1 / churn_from if churn_from else 0.0)
        derived = ltv(arpu, margin, lifetime_months=life)
        st.caption(
            t(
                "economics.derived",
                arpu=_money(arpu),
                margin=percent(margin, 0),
                lifetime=number(life, 1),
                ltv=_money(derived),
            )
        )
        st.button(
            t("economics.use_ltv"), on_click=_apply, args=({"eco_ltv": float(round(derived))},)
        )

scenario = ChurnScenario(
    customers, value, churn_from, churn_to, months, (1 + discount) ** (1 / 12) - 1
)
loss = silent_churn_loss(scenario)
with results:
    st.subheader(t("economics.loss"))
    a, b, c = st.columns(3)
    a.metric(t("economics.extra_month"), number(loss.extra_customers_per_month))
    b.metric(t("economics.lost_month"), compact_money(loss.revenue_lost_per_month, currency))
    c.metric(t("economics.lost_year"), compact_money(loss.revenue_lost_per_year, currency))
    st.markdown(
        t(
            "economics.exactly",
            extra=number(loss.extra_customers_per_month),
            month=_money(loss.revenue_lost_per_month),
            year=_money(loss.revenue_lost_per_year),
            extra_year=number(loss.extra_customers_per_year),
        )
    )
    low, high = loss_interval(scenario)
    st.caption(t("economics.interval", low=_money(low), high=_money(high), n=number(customers)))
    st.subheader(t("economics.definitions"))
    definitions = {
        t("economics.def_replacement"): loss.revenue_lost_per_year,
        t("economics.def_cohort", months=months): loss.cohort_revenue_lost,
        t("economics.def_discounted"): loss.cohort_revenue_lost_discounted,
        t("economics.def_ltv"): loss.remaining_value_lost,
    }
    explanations = [
        t("economics.def_replacement_why", extra=number(loss.extra_customers_per_month)),
        t(
            "economics.def_cohort_why",
            n=number(customers),
            c0=number(churn_from, 4),
            c1=number(churn_to, 4),
            months=months,
            extra=number(loss.cohort_extra_customers),
        ),
        t("economics.def_discounted_why", d=percent(scenario.monthly_discount, 2)),
        t(
            "economics.def_ltv_why",
            ratio=percent(loss.ltv_ratio, 0),
            before=_money(value),
            after=_money(loss.ltv_after),
        ),
    ]
    st.plotly_chart(definitions_figure(definitions), width="stretch")
    st.table(
        pl.DataFrame(
            {
                t("economics.definitions"): list(definitions),
                currency: [_money(v) for v in definitions.values()],
                "": explanations,
            }
        )
    )
    st.subheader(t("economics.projection"))
    st.plotly_chart(
        projection_figure(
            loss.projection,
            {
                "replacement_revenue_lost": t("economics.proj_replacement"),
                "revenue_lost": t("economics.proj_cohort"),
                "revenue_lost_discounted": t("economics.proj_discounted"),
            },
            t("economics.month_axis"),
        ),
        width="stretch",
    )
    if data is not None:
        with st.expander(t("economics.observed")):
            observed = data.monthly if data.by_segment is None else data.by_segment
            st.dataframe(
                observed.pivot(on="segment", index="month", values="churn_rate")
                if data.by_segment is not None
                else observed.select("month", "churn_rate"),
                hide_index=True,
                width="stretch",
            )
            st.caption(t("economics.observed_note"))
    if data is not None and data.silent_share is not None:
        st.subheader(t("economics.silent"))
        st.markdown(
            t("economics.silent_value", share=percent(data.silent_share, 0), n=number(data.churned))
        )

st.divider()
left, right = st.columns(2, gap="large")
with left:
    st.subheader(t("economics.retention"))
    relative = st.toggle(t("economics.relative_toggle"), key="eco_relative", bind="query-params")
    amount = (
        st.number_input(
            t("economics.relative" if relative else "economics.points"),
            min_value=0.0,
            value=0.6,
            step=0.1,
            key="eco_reduction",
            bind="query-params",
        )
        / 100
    )
    try:
        kept = (
            retention(customers, value, churn_to, relative=amount)
            if relative
            else retention(customers, value, churn_to, points=amount)
        )
    except ValueError:
        st.error(t("economics.reduction_error"))
    else:
        a, b, c = st.columns(3)
        a.metric(
            t("economics.saved"),
            number(kept.saved_per_month),
            help=f"{number(customers)} × {percent(kept.reduction, 2)}",
        )
        b.metric(
            t("economics.kept_month"),
            compact_money(kept.revenue_kept_per_month, currency),
            help=_money(kept.revenue_kept_per_month),
        )
        c.metric(
            t("economics.kept_year"),
            compact_money(kept.revenue_kept_per_year, currency),
            help=_money(kept.revenue_kept_per_year),
        )
with right:
    st.subheader(t("economics.tornado"))
    st.caption(t("economics.tornado_explain"))
    sensitivity = tornado(scenario, sensitivity_ranges(scenario))
    names = {n: t(f"economics.{n}") for n in sensitivity["input"]}
    st.plotly_chart(tornado_figure(sensitivity, names), width="stretch")

st.divider()
st.subheader(t("economics.initiative"))
left, right = st.columns(2, gap="large")
nps_table = data.nps_churn if data is not None else None
with left:
    percent_of_cost = st.toggle(
        t("economics.percent_toggle"),
        key="eco_cost_pct",
        bind="query-params",
        disabled=not (data and data.monthly_cost),
    )
    cost_value = st.number_input(
        t("economics.percent_of_cost" if percent_of_cost else "economics.cost"),
        min_value=0.0,
        value=1_000_000.0,
        step=100_000.0,
        format="%.0f",
        key="eco_cost",
        bind="query-params",
        help=t("economics.cost_help", cost=_money(data.monthly_cost)) if data else None,
    )
    monthly_cost = (
        cost_value / 100 * data.monthly_cost
        if percent_of_cost and data and data.monthly_cost
        else cost_value
    )
    upfront = st.number_input(
        t("economics.upfront"),
        min_value=0.0,
        value=0.0,
        step=100_000.0,
        format="%.0f",
        key="eco_upfront",
        bind="query-params",
    )
    via_nps = st.toggle(
        t("economics.nps_toggle"),
        key="eco_via_nps",
        bind="query-params",
        disabled=nps_table is None,
    )
    effect = st.number_input(
        t("economics.nps_points" if via_nps else "economics.churn_points"),
        min_value=0.0,
        value=0.3,
        step=0.1,
        key="eco_effect",
        bind="query-params",
    )
    reduction, reduction_se = effect / 100, 0.0
    if via_nps and nps_table is not None:
        reduction, reduction_se = churn_change_from_nps(nps_table, effect)
        st.markdown(f"**{t('economics.nps_block')}**")
        st.caption(
            t(
                "economics.nps_explain",
                k=number(effect, 1),
                change=number(100 * reduction, 3),
                se=number(100 * reduction_se, 3),
            )
        )
        st.table(
            nps_table.select(
                "band",
                "answers",
                "left",
                # A few bands, formatted outside Polars (no Python callback inside it).
                *(
                    pl.Series(c, [percent(v, 2) for v in nps_table[c]])
                    for c in ("monthly", "low", "high")
                ),
            )
        )
        monthly_answers = dataset.surveys.group_by(pl.col("date").dt.truncate("1mo")).len()["len"]
        score = nps(dataset.surveys["nps"])
        if score is not None and monthly_answers.len():
            answers = int(monthly_answers.median())
            mde = nps_minimum_detectable_change(score.promoters, score.detractors, answers)
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
    elif nps_table is None:
        st.caption(t("economics.no_nps"))
initiative = Initiative(customers, value, reduction, monthly_cost, upfront, months, reduction_se)
outcome = evaluate(initiative)
with right:
    a, b = st.columns(2)
    a.metric(
        t("economics.net_month"),
        compact_money(outcome.net_per_month, currency),
        help=_money(outcome.net_per_month),
    )
    b.metric(
        t("economics.net_horizon"),
        compact_money(outcome.net_over_horizon, currency),
        help=_money(outcome.net_over_horizon),
    )
    if outcome.payback_months is None:
        payback = t("economics.never")
    elif outcome.payback_months == 0:
        payback = t("economics.at_once")
    else:
        payback = t("economics.payback_months", n=number(outcome.payback_months, 1))
    a.metric(t("economics.payback"), payback)
    b.metric(t("economics.break_even"), f"{number(100 * outcome.break_even_reduction, 3)} pp")
    a.metric(t("economics.probability"), percent(outcome.probability_pays_off, 0))
    st.markdown(f"**{t('economics.curve')}**")
    gap = churn_to - churn_from
    try:
        curve = returns_curve(initiative, max_reduction=gap)
    except ValueError:
        st.caption(t("economics.curve_unavailable", gap=number(100 * gap, 2)))
    else:
        st.plotly_chart(
            returns_figure(
                curve.curve,
                curve.optimum_spend,
                (monthly_cost, outcome.net_per_month),
                t("economics.spend_axis"),
                t("economics.net_axis"),
            ),
            width="stretch",
        )
        st.caption(
            t(
                "economics.curve_explain",
                max=number(100 * gap, 2) + " pp",
                optimum=_money(curve.optimum_spend),
                net=_money(curve.optimum_net),
            )
        )

with st.expander(t("economics.formulas")):
    for fn in (silent_churn_loss, retention, evaluate, returns_curve, loss_interval):
        st.code((fn.__doc__ or "").strip().split(">>>")[0], language="text")

summary = loss_summary(scenario, loss)
flat = {k: v for k, v in summary.items() if not isinstance(v, dict)}
flat.update({f"input.{k}": v for k, v in summary["inputs"].items()})  # type: ignore[union-attr]
sheet = pl.DataFrame({"metric": list(flat), "value": [float(v) for v in flat.values()]})
a, b = st.columns(2)
a.download_button(
    t("economics.download_csv"),
    to_csv_bytes(sheet),
    file_name="cx_radar_economics.csv",
    mime="text/csv",
)
b.download_button(
    t("economics.download_xlsx"),
    to_xlsx_bytes({"scenario": sheet, "projection": loss.projection, "sensitivity": sensitivity}),
    file_name="cx_radar_economics.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
