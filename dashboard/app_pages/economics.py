"""Economics: the CFO's what-if on silent churn, retention and a CX initiative."""

from __future__ import annotations

import streamlit as st

from analytics.economics import (
    MISSION,
    ChurnScenario,
    inputs_from_data,
    sensitivity_ranges,
    silent_churn_loss,
    starting_values,
    tornado,
)
from dashboard import economics_view as view
from dashboard.fmt import number, percent
from dashboard.i18n import in_language, t
from dashboard.state import current_dataset, engine

dataset = current_dataset()
currency = dataset.settings.currency
data = engine(inputs_from_data, dataset)
mission = view.widget_values(MISSION)
measured = view.widget_values(starting_values(data))
view.seed(measured, dataset.content_hash)

st.title(t("economics.title"))
st.caption(t("economics.intro"))
if data is not None:
    st.caption(t("economics.prefilled"))
else:
    # Say what the numbers are and which table would measure them; never "from the data".
    missing = "no_customers" if dataset.customers is None else "short"
    st.info(t(f"economics.examples_{missing}"))


@st.fragment
def what_if() -> None:
    """The inputs and everything computed from them: a changed input redraws this part
    only (the sidebar and the data are as they were). The run's language is read once
    for it: each of the 630 numbers and texts below looked it up in the session state."""
    in_language(scenario_and_results)()


def scenario_and_results() -> None:
    inputs, results = st.columns([1.3, 2], gap="large")
    with inputs, st.container(border=True):
        scenario = view.scenario_inputs(data, dataset, mission, measured)
    loss = silent_churn_loss(scenario)
    with results:
        st.subheader(t("economics.loss"))
        view.loss_tiles(scenario, loss, currency)
        view.definitions(scenario, loss, currency)
        view.projection(loss, currency)
        if data is not None:
            view.observed(data)
        if data is not None and data.silent_share is not None:
            share = percent(data.silent_share, 0)
            silent = t("economics.silent_value", share=share, n=number(data.churned))
            st.markdown(f"### {t('economics.silent')}\n\n{silent}")  # one element, not two

    st.divider()
    left, right = st.columns(2, gap="large")
    with left:
        retention(scenario)
    with right:
        st.subheader(t("economics.tornado"))
        st.caption(t("economics.tornado_explain"))
        sensitivity = tornado(scenario, sensitivity_ranges(scenario))
        view.sensitivity_bars(sensitivity, currency)

    st.divider()
    st.subheader(t("economics.initiative"))
    initiative(scenario)

    view.downloads(scenario, loss, sensitivity, currency)


# Fragments inside the fragment: their own inputs (the reduction; the initiative's spend and
# effect) redraw their part only, not the loss, the projection and the tornado above (four
# charts); a change of the scenario above reruns them with it.
@st.fragment
def retention(scenario: ChurnScenario) -> None:
    view.retention_tiles(scenario, currency)


@st.fragment
def initiative(scenario: ChurnScenario) -> None:
    left, right = st.columns(2, gap="large")
    with left:
        chosen = view.initiative_inputs(scenario, data, dataset)
    with right:
        view.initiative_results(chosen, scenario.churn_to - scenario.churn_from, currency)


what_if()
view.formulas()  # the same whatever the inputs: drawn once, outside the fragment
