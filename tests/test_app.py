"""AppTest: every page runs without an exception and shows what it computes."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics.io import load_path
from analytics.kpi import classic_metrics

APP = "../dashboard/app.py"  # AppTest resolves paths relative to this file
TIMEOUT = 120


@pytest.fixture
def app(small_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_overview_shows_classic_metrics_and_churn(app, small_dir):
    at = app.run()
    assert not at.exception
    expected = classic_metrics(load_path(small_dir))
    assert _metric(at, "Service level") == f"{100 * expected.sla:.1f}%"
    assert _metric(at, "CSAT") == f"{expected.csat:.2f}"
    assert _metric(at, "Monthly churn, last month") == f"{100 * expected.churn_last:.2f}%"
    assert at.title[0].value == "Overview: the illusion of wellbeing"


def test_language_switch_translates_the_page(app):
    at = app.run()
    at.sidebar.radio(key="lang").set_value("RU").run()
    assert not at.exception
    assert at.title[0].value == "Обзор: иллюзия благополучия"
    assert any(m.label == "Уровень сервиса" for m in at.metric)


def test_url_language_is_restored(app):
    app.query_params["lang"] = "RU"
    at = app.run()
    assert at.title[0].value == "Обзор: иллюзия благополучия"


def test_data_page_reports_every_table(app, small_company):
    at = app.switch_page("app_pages/data.py").run()
    assert not at.exception
    summary = at.table[0].value
    assert summary["Table"].tolist() == ["events", "customers", "interval report", "surveys"]
    tables = (
        small_company.events,
        small_company.customers,
        small_company.acd,
        small_company.surveys,
    )
    assert summary["Rows read"].tolist() == [table.height for table in tables]
    assert set(summary["Quarantined"]) == {0}
    # the counts kept as numbers (Streamlit right-aligns those as in every grid, a column of
    # text never) and written as the reader groups thousands
    shown = at.table[0].proto.arrow_data.styler.display_values
    assert summary.dtypes.iloc[1:].map(lambda d: d.kind).tolist() == ["i", "i", "i"]
    assert f"{small_company.events.height:,}" in str(shown)
    # the events' preview: columns in words, no engine tie-break counter, dates and numbers
    # configured for the reader (dashboard/tables.show)
    events = at.dataframe[0]
    assert "row_nr" not in events.value.columns
    config = json.loads(events.proto.columns)
    assert config["case_id"]["label"] == "Case"
    assert config["timestamp"]["type_config"]["type"] == "datetime"


def test_uploaded_data_is_analysed_with_its_quarantine(app):
    csv = "Номер обращения;Дата обращения;Этап;Время ожидания, сек\nA;01.02.2024 10:00;запрос;5\nB;01.02.2024 10:00;запрос;-1\n"
    at = app
    at.session_state["uploads"] = (("calls.csv", csv.encode("cp1251")),)
    at.session_state["source"] = "upload"
    at.switch_page("app_pages/data.py").run()
    assert not at.exception
    summary = at.table[0].value
    assert summary["Rows read"].tolist() == [2]
    assert summary["Quarantined"].tolist() == [1]
    assert at.subheader[0].value == "Loaded dataset: upload"
    assert at.selectbox[0].label == "calls.csv: table" and at.selectbox[0].value == "events"
    at.switch_page("app_pages/overview.py").run()
    assert not at.exception
    assert any("No customers table" in i.value for i in at.info)


def test_unusable_upload_falls_back_to_the_sample_and_says_why(app):
    at = app
    at.session_state["uploads"] = (("notes.csv", b"a,b\n1,2\n"),)
    at.session_state["source"] = "upload"
    at.run()
    assert not at.exception
    assert any("no usable events" in w.value for w in at.sidebar.warning)


def test_settings_can_be_edited(app):
    at = app.switch_page("app_pages/data.py").run()
    at.text_area[0].set_value('currency = "EUR"\nsla_target_s = 30\n')
    next(b for b in at.button if b.label == "Apply settings").click().run()
    assert not at.exception
    assert at.session_state["settings"].currency == "EUR"
    at.text_area[0].set_value("sla_goal = 5")
    next(b for b in at.button if b.label == "Apply settings").click().run()
    assert any("sla_goal" in e.value for e in at.error)
    assert at.session_state["settings"].currency == "EUR"  # the bad text changed nothing


def _economics(app: AppTest) -> AppTest:
    return app.run().switch_page("app_pages/economics.py").run()


def test_economics_mission_preset_then_an_input_changes_the_result(app):
    at = _economics(app)
    assert not at.exception
    next(b for b in at.button if b.label == "Mission example").click().run()
    assert _metric(at, "Extra leavers a month") == "800"
    assert _metric(at, "Revenue lost a month") == "₽30.24M"
    assert _metric(at, "Revenue lost a year") == "₽362.9M"
    assert any("₽30,240,000" in md.value and "₽362,880,000" in md.value for md in at.markdown)
    at.number_input(key="eco_to").set_value(6.0).run()
    assert _metric(at, "Extra leavers a month") == "1,200"
    assert not at.warning  # presets and widgets agree: no session-state conflicts


def test_economics_url_restores_a_scenario(app):
    app.query_params.update(
        eco_customers="40000",
        eco_ltv="37800",
        eco_from="3",
        eco_to="4.5",
        eco_relative="true",
        eco_reduction="10",
    )
    at = _economics(app)
    assert _metric(at, "Extra leavers a month") == "600"
    # 10 % of 4.5 % = 0.45 points of 40,000 = 180 customers saved a month
    assert _metric(at, "Saved a month") == "180"


def test_economics_projection_is_drawn_with_each_months_amount(app):
    app.query_params.update(eco_customers="40000", eco_ltv="37800", eco_from="3", eco_to="5")
    at = _economics(app)
    projection = next(m.value for m in at.markdown if "<polyline" in m.value and "Month" in m.value)
    assert projection.count("<polyline") == 3  # replacement, closed cohort, discounted
    # Replacement: 800 more leavers a month, each worth ₽37,800, over 12 months
    # = 12 x 800 x 37,800 = ₽362,880,000 (its last point's hover text).
    assert "Replacement&#10;Month 12: ₽362,880,000</title>" in projection
    assert projection.count('fill-opacity="1"') == 3 * 12  # a dot on each month
    at.number_input(key="eco_months").set_value(120).run()
    projection = next(m.value for m in at.markdown if "Month 120:" in m.value)
    assert 'fill-opacity="1"' not in projection  # 360 dots would make a thick line
    assert projection.count("<title>") == 3 * 120  # each month still tells its amount


def test_economics_is_prefilled_from_the_data(app, small_dir):
    from analytics.economics import inputs_from_data

    expected = inputs_from_data(load_path(small_dir))
    at = _economics(app)
    assert at.number_input(key="eco_customers").value == expected.customers
    assert at.number_input(key="eco_to").value == pytest.approx(round(100 * expected.churn_to, 2))
    assert any("never complained" in md.value for md in at.markdown)
    # The LTV helper, once opened: at 100 % margin and a lifetime of 1 / the LTV churn, the
    # derived LTV is the prefilled one, and its button puts it into the LTV input.
    helper = [n for n in at.number_input if n.label.startswith("ARPU")]
    assert not helper  # closed: its three inputs are not drawn
    at.session_state["eco_derive"] = True
    at.run()
    assert [n for n in at.number_input if n.label.startswith("ARPU")]
    next(b for b in at.button if b.label == "Use this LTV").click().run()
    assert at.number_input(key="eco_ltv").value == pytest.approx(round(expected.ltv), abs=1)


def test_economics_speaks_russian_numbers(app):
    app.query_params.update(
        lang="RU", eco_customers="40000", eco_ltv="37800", eco_from="3", eco_to="5"
    )
    at = _economics(app)
    assert _metric(at, "Потеря в месяц") == "30,24\u00a0млн\u00a0₽"
    assert any("30\u00a0240\u00a0000\u00a0₽" in md.value for md in at.markdown)


def test_cost_page_shows_distributions_tags_and_twins(app, small_dir):
    from analytics.cost import case_costs

    at = app.run().switch_page("app_pages/cost.py").run()
    assert not at.exception
    cases = case_costs(load_path(small_dir))
    assert _metric(at, "Cost per case, median") == f"₽{cases['cost'].median():,.0f}"
    tags = next(d.value for d in at.dataframe if "at_stake" in d.value.columns)
    assert tags.shape[0] == 7  # one row per behaviour tag, named in words
    assert "channel hopping" in set(tags["tag"])
    assert any("Twins" in s.value for s in at.subheader)


def test_changing_a_rate_changes_the_cost(app):
    at = app.run().switch_page("app_pages/cost.py").run()
    before = _metric(at, "Service cost, whole period")
    at.number_input[0].set_value(1000.0)  # per contact
    next(b for b in at.button if b.label == "Apply rates").click().run()
    assert not at.exception
    assert at.session_state["settings"].cost_per_contact == 1000.0
    assert _metric(at, "Service cost, whole period") != before


def test_a_minute_rate_from_team_cost_goes_into_the_rates(app):
    at = app.run().switch_page("app_pages/cost.py").run()
    assert any("phone ₽28.00" in c.value for c in at.caption)  # the rates every figure used
    calculator = {n.label: n for n in at.number_input}
    calculator["Team cost per month"].set_value(1_200_000.0)
    calculator["Paid hours per month, all agents"].set_value(1_600.0)
    calculator["Practical capacity, %"].set_value(85.0)
    at.selectbox(key="calc_channel").set_value("chat").run()
    rate = 1_200_000 / (1_600 * 0.85 * 60)  # 81,600 handled minutes a month
    assert any(f"₽{rate:.2f}" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "Use for chat").click().run()
    assert not at.exception
    assert at.session_state["settings"].cost_per_minute["chat"] == round(rate, 2)
    assert any(f"chat ₽{rate:.2f}" in c.value for c in at.caption)


def test_cost_drill_down_by_scenario_and_behaviour(app, small_dir):
    from analytics.cost import case_costs

    cases = case_costs(load_path(small_dir))
    at = app.run().switch_page("app_pages/cost.py").run()
    at.selectbox(key="cost_scenario").set_value("billing")
    at.selectbox(key="cost_tag").set_value("channel_hopping").run()
    assert not at.exception
    expected = cases.filter(pl.col("scenario") == "billing", pl.col("channel_hopping")).height
    assert 0 < expected < cases.filter(pl.col("scenario") == "billing").height
    assert any(f"({expected:,} in all" in m.value for m in at.markdown)


def test_process_page_variants_and_scenario_filter(app, small_dir):
    from analytics.process import case_views, variants

    at = app.run().switch_page("app_pages/process.py").run()
    assert not at.exception
    _, cases, paths, _ = case_views(load_path(small_dir))
    at.selectbox(key="scenario").set_value("").run()  # it opens on the largest drift
    assert _metric(at, "Variants") == f"{variants(cases, paths).height:,}"
    at.selectbox(key="scenario").set_value("billing").run()
    billing = cases.filter(cases["scenario"] == "billing")
    assert _metric(at, "Cases") == f"{billing.height:,}"
    # The standard path: the most frequent unless the user picks another.
    table = variants(billing, paths)
    picker = at.selectbox(key="standard_billing")
    assert picker.value == table["variant"][0]
    assert _metric(at, "Deviating") == f"{100 * (1 - table['share'][0]):.0f}%"
    picker.set_value(table["variant"][1]).run()
    assert not at.exception
    assert _metric(at, "Deviating") == f"{100 * (1 - table['share'][1]):.0f}%"


def test_economics_shows_observed_churn_by_segment(app, small_dir):
    from analytics.economics import inputs_from_data

    data = inputs_from_data(load_path(small_dir))
    at = _economics(app)
    observed = [d for d in at.dataframe if "month" in d.value.columns]
    assert not observed  # drawn only once its expander is opened
    at.session_state["eco_observed_open"] = True
    at.run()
    table = next(
        d.value for d in at.dataframe if "month" in d.value.columns and "mass" in d.value.columns
    )
    assert table.shape[0] == data.monthly.height
    assert set(table.columns) == {"month", *data.by_segment["segment"].unique().to_list()}


def test_forecast_page_writes_its_last_day_of_history_the_russian_way(app):
    app.query_params["lang"] = "RU"
    at = app.switch_page("app_pages/forecast.py").run()
    assert not at.exception
    (as_of,) = [c.value for c in at.caption if c.value.startswith("История по ")]
    assert re.search(r"История по \d\d\.\d\d\.\d{4} ", as_of), as_of  # not 2025-12-31


def test_forecast_page_shows_service_level_and_breach_map(app, small_dir):
    at = app.switch_page("app_pages/forecast.py").run()
    assert not at.exception
    assert at.title[0].value == "Forecasts & SLA: where the service level will break"
    acd = load_path(small_dir).acd
    recent = acd.filter(
        pl.col("interval_start") > acd["interval_start"].max() - pl.duration(weeks=4)
    )
    sl = recent["answered_in_target"].sum() / recent["offered"].sum()
    assert _metric(at, "Service level (20 s)") == f"{100 * sl:.1f}%"
    assert [s.value for s in at.subheader] == [
        "Service level as delivered (last 4 weeks)",
        "Volume forecast",
        "Breach forecast",
        "SLA risk: calibration on history",
        "Staffing gap",
    ]
    # The delivered, breach and gap maps; the picked daily series is a plain SVG.
    assert len(at.get("plotly_chart")) == 3  # the calibration's two wait to be opened
    assert sum("<svg" in m.value for m in at.markdown) == 1
    # Its expander opened: Erlang vs delivered, the reliability diagram.
    at.session_state["fc_calibration"] = True
    at.run()
    assert len(at.get("plotly_chart")) == 5
    # The small company's three months calibrate its one queue; the tiles show the history's
    # out-of-sample agreement from analytics.calibration.
    from analytics.calibration import calibrate_dataset

    cal = calibrate_dataset(load_path(small_dir), 1800)
    assert cal is not None and cal.status != "uncalibrated"
    assert any("**Calibrated**" in m.value for m in at.markdown)
    assert _metric(at, "Brier score") == f"{cal.calibrated.brier:.3f}"
    likely = int(_metric(at, "Likely breaches"))
    at.number_input(key="extra_agents").set_value(10).run()
    assert not at.exception
    assert int(_metric(at, "Likely breaches")) <= likely
    assert _metric(at, "Likely breaches") == "0"  # ten more agents everywhere hold the goal


def _open_alerts(small_dir) -> list[dict]:
    import datetime as dt

    from analytics.escalation import Rules, evaluate, inputs_for

    run = evaluate(Rules.default(), inputs_for(load_path(small_dir)), {}, dt.datetime(2026, 1, 1))
    return run.alerts


def test_risk_page_falls_back_to_rules_on_a_small_company(app, small_dir):
    at = app.switch_page("app_pages/risk.py").run()
    assert not at.exception
    assert at.title[0].value == "Risk: who is about to leave"
    assert "too few for a trustworthy model" in at.warning[0].value
    from analytics.risk import train

    model = train(load_path(small_dir))
    assert _metric(at, "Expected leavers") == f"{model.scored['p_churn'].sum():,.0f}"
    at.toggle(key="only_silent").set_value(True).run()
    assert not at.exception


def test_escalations_page_lists_the_alerts_and_their_evidence(app, small_dir):
    at = app.switch_page("app_pages/escalations.py").run()
    assert not at.exception
    alerts = _open_alerts(small_dir)
    assert alerts  # the small company's understaffed Monday at least
    from analytics.escalation import to_act_on

    assert _metric(at, "Alerts to act on") == str(len(to_act_on(alerts)))
    assert _metric(at, "New since the last run") == str(len(alerts))
    assert "Owner:" in at.markdown[0].value or any("Owner:" in m.value for m in at.markdown)
    at.multiselect(key="esc_severity").set_value(["low"]).run()
    assert at.info[0].value == "No alert matches the filters."


def test_bad_rules_are_refused_with_the_rule_named(app):
    at = app.switch_page("app_pages/escalations.py").run()
    at.text_area(key="rules_editor").set_value(
        '[[rule]]\nid = "x"\nsignal = "nope"\nseverity = "low"\nowner = "o"\naction = "a"'
    ).run()
    at.button[0].click().run()
    assert "rule 'x': unknown signal 'nope'" in at.error[0].value


def test_overview_tells_where_the_money_leaks(app, small_dir):
    at = app.run()
    assert not at.exception
    sent = [a for a in _open_alerts(small_dir) if not a["grouped"] and a["rule"] != "digest"]
    assert _metric(at, "Alerts to act on") == str(len(sent))
    assert any(s.value == "Where the money leaks, and what to fix first" for s in at.subheader)


def test_risk_reasons_are_worded_in_the_chosen_language(app):
    app.query_params["lang"] = "RU"
    at = app.run().switch_page("app_pages/risk.py").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "main_reason" in d.value.columns)
    worded = [r for r in table["main_reason"] if r]
    assert worded and all(any("а" <= ch <= "я" for ch in r) for r in worded)
