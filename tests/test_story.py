"""The workshop story quotes the engine's own figures; the board pack shows every step."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from analytics import board_pack
from analytics.board_pack import Pack, Section, render, to_html
from analytics.cost import case_costs, excess_cost, priciest, tag_costs
from analytics.economics import ChurnScenario, inputs_from_data, silent_churn_loss
from analytics.escalation import Rules, evaluate, inputs_for, to_act_on
from analytics.io import load_path
from analytics.kpi import classic_metrics
from analytics.measures import revenue_at_risk
from analytics.process import case_views, drift
from analytics.risk import at_risk, silent_at_risk, train
from analytics.sample import generate
from analytics.story import STEPS, Memo, build_story, drift_by_scenario
from analytics.tension import zones
from dashboard import story_view
from dashboard.i18n import catalogue

SHAPES = Path(__file__).parent / "data" / "shapes"


@pytest.fixture(scope="module")
def eight_months(tmp_path_factory):
    """Eight months of a 1,500-customer company: long enough for every step to show (the
    3-month conftest company has no churn rise and no tension zone; its skips are tested
    below and on the page)."""
    folder = tmp_path_factory.mktemp("eight_months")
    generate(customers=1500, months=8, seed=11).write(folder)
    dataset = load_path(folder)
    memo = Memo()  # the engine's results, computed once and shared with the checks
    return dataset, memo, build_story(dataset, memo)


def _step(story, key):
    return next(s for s in story if s.key == key)


def _value(story, key, figure):
    return _step(story, key).figures[figure].value


def test_every_step_shows_in_order(eight_months):
    _, _, story = eight_months
    assert [s.key for s in story] == list(STEPS)
    assert [s.key for s in story if s.skipped] == []


def test_figures_are_the_engines(eight_months):
    dataset, memo, story = eight_months
    m = classic_metrics(dataset)
    assert _value(story, "green", "sla") == m.sla
    assert _value(story, "green", "csat") == m.csat
    assert _value(story, "green", "nps") == m.nps.score
    assert _value(story, "churn", "first") == m.churn_first
    assert _value(story, "churn", "last") == m.churn_last
    assert _value(story, "churn", "lost") == m.revenue_lost_last_month

    data = inputs_from_data(dataset)
    loss = silent_churn_loss(
        ChurnScenario(data.customers, data.ltv, data.churn_from, data.churn_to)
    )
    assert _value(story, "silent_loss", "year") == loss.revenue_lost_per_year
    # Replacement convention by hand: customers x (churn_to - churn_from) x LTV x 12.
    by_hand = data.customers * (data.churn_to - data.churn_from) * data.ltv * 12
    assert _value(story, "silent_loss", "year") == pytest.approx(by_hand, rel=1e-12)
    assert _value(story, "silent_loss", "silent") == data.silent_share

    scored = memo(train, dataset).scored
    assert _value(story, "at_risk", "money") == revenue_at_risk(scored)
    assert _value(story, "at_risk", "flagged") == at_risk(scored).height
    assert _value(story, "at_risk", "silent") == silent_at_risk(scored).height

    cases = case_costs(dataset)
    assert _value(story, "cost", "excess") == pytest.approx(excess_cost(cases), rel=1e-12)
    tags, pair = tag_costs(cases), priciest(cases)
    assert _value(story, "cost", "tag") == tags["tag"][0]
    assert _value(story, "cost", "tag_money") == pytest.approx(tags["at_stake"][0], rel=1e-12)
    cost = _step(story, "cost")
    assert cost.params == {"cost_scenario": pair["scenario"][0], "cost_tag": pair["tag"][0]}

    found = zones(dataset).filter(pl.col("zone"))
    assert _value(story, "tension", "zones") == found.height
    # Equal to the last bits would need tension.zones to sum in a fixed order (it does not).
    assert _value(story, "tension", "money") == pytest.approx(found["money_at_stake"][0], rel=1e-12)

    inputs = inputs_for(dataset, compute=memo)
    likely = inputs.breaches.filter(pl.col("p_breach") >= 0.5)
    assert _value(story, "sla_risk", "likely") == likely.height
    assert _value(story, "sla_risk", "expected") == pytest.approx(inputs.breaches["p_breach"].sum())
    assert _value(story, "sla_risk", "p") == likely["p_breach"].max()

    alerts = to_act_on(evaluate(Rules.default(), inputs, {}, dt.datetime(2025, 9, 1)).alerts)
    assert _value(story, "fix_first", "alerts") == len(alerts)
    assert _value(story, "fix_first", "money") == max(a["money_at_stake"] for a in alerts)
    assert _step(story, "fix_first").frame["money_at_stake"].is_sorted(descending=True)


def test_drift_step_finds_the_planted_billing_story(eight_months):
    dataset, _, story = eight_months
    step = _step(story, "drift")
    # The sample company plants billing's bot -> bot loop as the growing deviation.
    assert step.params == {"scenario": "billing"}
    assert _value(story, "drift", "deviation") == "bot → bot"
    billing = drift(case_views(dataset)[0], "billing").row(0, named=True)
    assert _value(story, "drift", "last") == billing["last_share"]
    assert _value(story, "drift", "norm") == "yes"


def _log(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["case_id,customer_id,timestamp,activity,scenario"]
    lines += [
        f"{case},c{case},{time},{activity},{scenario}" for case, time, activity, scenario in rows
    ]
    return "\n".join(lines) + "\n"


def test_drift_by_scenario_ranks_the_largest_growth_first(tmp_path):
    # Scenario a: standard x -> y -> z; in February 2 of 4 cases go x -> w -> z (50 %).
    # Scenario b: in February 1 of 4 goes x -> w -> z (25 %). Both are new norms
    # (>= 10 % of the last month, at least doubled from 0), a grew more: a first.
    rows = []
    for scenario, deviating in (("a", 2), ("b", 1)):
        for month in (1, 2):
            for i in range(4):
                case = f"{scenario}{month}{i}"
                middle = "w" if month == 2 and i < deviating else "y"
                day = f"2024-0{month}-1{i}"
                rows += [
                    (case, f"{day} 10:02", "z", scenario),  # unsorted: the last step first
                    (case, f"{day} 10:00", "x", scenario),
                    (case, f"{day} 10:01", middle, scenario),
                ]
    (tmp_path / "events.csv").write_text(_log(rows[::-1]))
    table = drift_by_scenario(load_path(tmp_path))
    assert table["scenario"].to_list() == ["a", "b"]
    assert table["growth"].to_list() == [0.5, 0.25]
    assert table["deviation"][0] in ("w → z", "x → w")
    assert table["became_norm"].to_list() == [True, True]


def test_small_company_skips_what_it_cannot_tell(small_dir):
    dataset = load_path(small_dir)
    story = build_story(dataset)
    loss = _step(story, "silent_loss")
    data = inputs_from_data(dataset)
    # Three months: churn fell (3.52 % -> 3.26 %), so there is no rise to price.
    assert loss.skipped == "story.skip.no_rise"
    assert loss.why["before"].value == data.churn_from
    assert loss.why["after"].value == data.churn_to
    assert _step(story, "tension").skipped == "story.skip.no_zones"
    assert _value(story, "green", "sla") == classic_metrics(dataset).sla


@pytest.mark.parametrize(
    ("shape", "shown"),
    [
        ("calls", {"green", "cost"}),
        ("acd", {"green", "tension", "sla_risk", "fix_first"}),
        ("customers", {"at_risk"}),
        ("plain_log", set()),
        ("status_log", set()),
    ],
)
def test_single_table_shapes_skip_steps_with_a_sentence(shape, shown):
    story = build_story(load_path(SHAPES / shape))
    assert {s.key for s in story if not s.skipped} == shown
    words = catalogue("en")
    for step in story:
        if step.skipped:
            assert step.skipped in words  # a sentence in the catalogue, not a traceback
            raw = {k: v for k, v in step.why.items() if not hasattr(v, "kind")}
            words[step.skipped].format(**raw, before="", after="")


# ---------------------------------------------------------------- the board pack


@pytest.fixture(scope="module")
def pack(eight_months):
    dataset, _, story = eight_months
    return story_view.pack(dataset, story, notes=True)


def test_html_pack_has_every_step_and_its_figures(pack, eight_months):
    _, _, story = eight_months
    page = to_html(pack)
    assert len(pack.sections) == len(STEPS)
    for section in pack.sections:
        assert page.count(f"</span>{section.title}</h2>") == 1
        assert f'<td class="value">{section.key_value}</td>' in page
    # The headline quotes the numbers as the page shows them.
    assert story_view.shown(_step(story, "green").figures["sla"], "RUB") in page
    assert page.count("<section>") == 1 + len(STEPS)


def test_html_escapes_text_from_the_data():
    section = Section(title="<script>x</script>", text="**bold** & <b>not</b>")
    page = to_html(Pack("t", "s", "en", (section,)))
    assert "<script>x" not in page
    assert "<strong>bold</strong> &amp; &lt;b&gt;not&lt;/b&gt;" in page


def test_without_a_browser_the_pack_is_html_without_charts(pack, monkeypatch):
    monkeypatch.setattr(board_pack, "_renderer", None)
    monkeypatch.setenv("CX_RADAR_CHROMIUM", "/nonexistent/chromium")
    rendered = render(pack)
    assert rendered.pdf is None
    assert rendered.problem == "no_browser"
    assert "<svg" not in rendered.html
    assert all(s.title in rendered.html for s in pack.sections)


def test_pdf_pack_has_a_cover_and_a_page_per_step(pack):
    rendered = render(pack)
    assert rendered.problem is None, rendered.values
    pdf = rendered.pdf
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    # One page object per page ("/Type /Pages" is the tree, not a page).
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1 + len(pack.sections)
    assert rendered.html.count("<svg") == len(pack.sections)  # every step has its chart
