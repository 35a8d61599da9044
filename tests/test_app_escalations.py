"""AppTest of the Escalations page: ranked by money, counts that follow the filters, an
alert's evidence in sentences (English and Russian), technical details kept apart."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from analytics.alert_text import evidence, select, tally
from analytics.escalation import Rules, evaluate, inputs_for, rank
from analytics.io import load_path
from dashboard import alert_view

APP = "../dashboard/app.py"


@pytest.fixture
def app(small_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    return AppTest.from_file(APP, default_timeout=180)


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_ranked_by_money_with_counts_and_evidence_that_follow_the_filters(app, small_dir, lang):
    dataset = load_path(small_dir)
    alerts = rank(
        evaluate(Rules.default(), inputs_for(dataset), {}, dt.datetime(2026, 1, 1)).alerts
    )
    at = app.switch_page("app_pages/escalations.py").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "alert" in d.value.columns)
    shown = select(alerts)  # grouped alerts hidden by default
    assert table["money_at_stake"].tolist() == [a["money_at_stake"] for a in shown]
    assert table["money_at_stake"].is_monotonic_decreasing
    assert _metric(at, "Alerts to act on") == f"{tally(shown).act_on:,}"

    owner = shown[-1]["owner"]  # the owner of the least money: the filter changes the counts
    at.multiselect(key="esc_owner").set_value([owner]).run()
    assert not at.exception
    mine = select(alerts, owners=[owner])
    counts = tally(mine)
    assert counts.act_on < tally(shown).act_on
    assert _metric(at, "Alerts to act on") == f"{counts.act_on:,}"
    assert _metric(at, "Critical and high, to send") == f"{counts.urgent:,}"
    table = next(d.value for d in at.dataframe if "alert" in d.value.columns)
    assert len(table) == len(mine)

    # The first alert of the filtered list, its evidence as the engine words it.
    lang("en")
    bullets = "\n".join(f"* {alert_view.say(s, 'RUB')}" for s in evidence(mine[0]))
    assert any(m.value == bullets for m in at.markdown)
    technical = next(e for e in at.expander if e.label == "Technical details")
    assert any(f"id `{mine[0]['id']}`" in m.value for m in technical.markdown)
    assert not any("{" in m.value and "}" in m.value for m in at.markdown)  # no raw JSON


def test_the_alert_reads_in_russian(app):
    app.query_params["lang"] = "RU"
    at = app.switch_page("app_pages/escalations.py").run()
    assert not at.exception
    (stake,) = [m.value for m in at.markdown if m.value.startswith("На кону: **")]
    # the severity under the name its filter and column carry («Серьёзность»)
    assert " · серьёзность: " in stake and "важность" not in stake
    assert any(m.value.startswith("**Ответственный:**") for m in at.markdown)
    assert any(e.label == "Технические подробности" for e in at.expander)
