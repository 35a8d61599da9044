"""Alerts for people: ranking by money, filters and counts, evidence as sentences in both
languages (analytics/alert_text.py read through dashboard/alert_view.py)."""

from __future__ import annotations

import itertools

import polars as pl

from analytics.alert_text import by_owner, chart, evidence, headline, select, tally
from analytics.escalation import Inputs, Rules, fire, rank
from dashboard import alert_view

NB = "\u00a0"  # the non-breaking space numbers and units are joined with


def _alert(id_: str, money: float, severity: str, **more: object) -> dict:
    return {
        "id": id_,
        "money_at_stake": money,
        "severity": severity,
        "status": "new",
        "owner": "ops",
        "rule": "r",
        "grouped": False,
        **more,
    }


def test_alerts_rank_by_money_then_severity_then_id_in_any_input_order():
    alerts = [
        _alert("a", 205_000, "critical"),
        _alert("b", 32_900_000, "high"),
        _alert("c", 205_000, "high"),  # same money as a: critical a goes first
        _alert("0", 205_000, "critical"),  # same money and severity as a: id 0 < a
        _alert("e", 50_000_000, "low", status="resolved"),  # no longer fires: last
        _alert("f", 1_000, "critical"),
    ]
    expected = ["b", "0", "a", "c", "f", "e"]
    for order in itertools.permutations(alerts):
        assert [a["id"] for a in rank(order)] == expected


def test_filters_keep_the_order_and_the_counts_follow_them():
    alerts = rank(
        [
            _alert("x", 900.0, "critical", owner="ops"),
            _alert("y", 600.0, "high", owner="ops", status="ongoing"),
            _alert("z", 300.0, "medium", owner="it"),
            _alert("g", 200.0, "high", owner="it", grouped=True),  # over the budget
            _alert("d", 200.0, "high", owner="it", rule="digest"),  # its digest
            _alert("r", 5000.0, "low", owner="it", status="resolved"),
        ]
    )
    assert [a["id"] for a in select(alerts)] == ["x", "y", "z", "d", "r"]
    assert [a["id"] for a in select(alerts, grouped=True)] == ["x", "y", "z", "d", "g", "r"]
    assert [a["id"] for a in select(alerts, owners=["it"])] == ["z", "d", "r"]
    assert [a["id"] for a in select(alerts, ["high", "critical"], statuses=["new"])] == ["x", "d"]
    everything = tally(select(alerts))
    # to act on: open, not grouped, not a digest -> x, y, z; new among them: x, z (the
    # digest is new but summarises grouped ones); urgent: x, y
    assert (everything.act_on, everything.new, everything.urgent) == (3, 2, 2)
    assert everything.money == 900.0 + 600.0 + 300.0
    it = tally(select(alerts, owners=["it"]))
    assert (it.act_on, it.new, it.urgent, it.money) == (1, 1, 0, 300.0)
    owners = by_owner(select(alerts, grouped=True))
    assert owners.rows() == [
        ("ops", 1, 1, 0, 0, 2, 1500.0),  # critical, high, medium, low, alerts, money
        ("it", 0, 1, 1, 0, 2, 500.0),  # z and g; the digest and the resolved one left out
    ]
    assert owners.columns == [
        "owner",
        "critical",
        "high",
        "medium",
        "low",
        "alerts",
        "money_at_stake",
    ]


def _words(alert: dict) -> list[str]:
    return [alert_view.say(headline(alert), "RUB")] + [
        alert_view.say(s, "RUB") for s in evidence(alert)
    ]


CUSTOMER = _alert(
    "c1",
    47_500.0,
    "high",
    signal="customer_risk",
    zone="customer C1",
    reason="churn risk",
    evidence={
        "p_churn": 0.25,
        "ltv": 190_000.0,
        "segment": "business",
        "region": "Moscow",
        "silent": True,
        "customer_id": "C1",
        "reason_features": ["bot_loops", "contacts_trend"],
        "reason_values": [1.0, 5.0],
        "reason_args": [],
    },
)
# The sample company's Yekaterinburg zone: 2,087,397.19 = 5 % x 3,832,070 + 1,895,793.69.
TENSION = _alert(
    "t1",
    2_087_397.19,
    "critical",
    signal="tension_zone",
    evidence={
        "indicator": "repeat_contacts",
        "baseline": 0.1686,
        "recent": 0.3591,  # (0.3591 - 0.1686) / 0.1686 = +113 %
        "excess_cost_per_month": 1_895_793.69,
        "started": "2025-06-23",
        "first_alarm": "2025-07-06",
        "mann_kendall_p": 3.5e-09,
        "customers": 2329,
        "revenue_exposed": 3_832_070.0,
        "slice": "region",
        "value": "Yekaterinburg",
        "shift_sd": 268.2,
        "excess_per_month": 628.4,
        "money_share": 0.05,
    },
)


def test_a_customer_alert_reads_as_sentences_in_english_and_russian(lang):
    lang("en")
    assert _words(CUSTOMER) == [
        "Customer C1 may leave",
        "Leaves with a probability of 25.0%; lifetime value ₽190,000, so "
        "25.0% × ₽190,000 = ₽47,500 of revenue is at risk.",
        "Segment business, region Moscow.",
        "Silent: no complaint and no survey answer from them, so no report warns about them.",
        "Why the model flags them:",
        "cases stuck in a bot loop: 1",
        "contacting more often: +5.0 contacts a month against before",
    ]
    lang("ru")
    words = _words(CUSTOMER)
    assert words[1] == (
        f"Уйдёт с вероятностью 25,0{NB}%; пожизненная ценность 190{NB}000{NB}₽, значит под "
        f"угрозой 25,0{NB}% × 190{NB}000{NB}₽ = 47{NB}500{NB}₽ выручки."
    )
    assert words[5] == "обращений, застрявших в петле бота: 1"


def test_a_snapshot_customers_reasons_write_its_cells_the_readers_way(lang):
    # A churn snapshot's reasons carry the cells as the model wrote them (English marks).
    args = [
        {"attribute": "charges", "value": "12,345.5", "typical": "870.25", "points": 7.4},
        {"attribute": "plan", "value": "(blank)", "typical": "basic", "points": 3.0},
    ]
    snapshot = {
        **CUSTOMER,
        "evidence": {
            **CUSTOMER["evidence"],
            "reason_features": ["attr_high", "attr_is"],
            "reason_values": [12345.5, None],
            "reason_args": args,
        },
    }
    lang("en")
    assert _words(snapshot)[-2:] == [
        "charges 12,345.5 is high (median 870.25): +7 pp of risk",
        "plan is (blank): +3 pp of risk",
    ]
    lang("ru")
    assert _words(snapshot)[-2:] == [
        f"charges 12{NB}345,5 — выше обычного (медиана 870,25): +7 п. п. риска",
        "plan: (пусто): +3 п. п. риска",
    ]


def test_a_tension_alert_says_the_change_the_start_and_the_money(lang):
    lang("en")
    assert _words(TENSION) == [
        "Region Yekaterinburg: repeat contacts getting worse",
        "Repeat contacts: 16.9% in the baseline, 35.9% in the last 4 weeks "
        "(+113% against the baseline).",
        "It started in the week of 2025-06-23; the control chart first raised the alarm in the "
        "week of 2025-07-06; the trend is significant (Mann-Kendall p < 0.001).",
        "That is about 628 more cases with a repeat return a month than in the baseline.",
        "Their extra cost to serve: about ₽1,895,794 a month.",
        "2,329 customers with ₽3,832,070 of monthly revenue are in this zone. At stake: "
        "5.0% of that revenue plus the extra cost of ₽1,895,794 a month = ₽2,087,397.",
    ]
    assert not any("268" in w for w in _words(TENSION))  # the shift in sd stays technical
    lang("ru")
    words = _words(TENSION)
    assert words[0] == "Регион Yekaterinburg: ухудшение — повторные обращения"
    assert words[2].endswith("(тест Манна — Кендалла, p < 0,001).")
    # its weeks as the reader writes days, not ISO
    assert words[2].startswith("Началось с недели 23.06.2025; ")
    assert "на неделе 06.07.2025;" in words[2]


def test_sla_and_cost_alerts_from_the_rules_read_with_their_numbers(lang):
    rules = Rules.from_toml(
        '[[rule]]\nid = "sla"\nsignal = "sla_breach"\nmin_probability = 0.8\n'
        'cost_per_agent_hour = 900\nseverity = "high"\nowner = "wfm"\naction = "move agents"\n'
        '[[rule]]\nid = "cost"\nsignal = "cost_anomaly"\nmin_money = 1000\n'
        'severity = "medium"\nowner = "process"\naction = "fix"\n'
    )
    times = pl.Series(["2026-01-19 10:30", "2026-01-12 10:00", "2026-01-19 10:00"])
    breaches = pl.DataFrame(  # two Mondays, unsorted, plus an interval below the threshold
        {
            "queue": ["phone", "phone", "phone", "phone"],
            "time": pl.concat([times, pl.Series(["2026-01-12 12:00"])]).str.to_datetime(),
            "p_breach": [0.935, 0.85, 0.9, 0.5],
            "gap": [4.0, 3.0, 3.0, 1.0],
            "mean": [60.0, 50.0, 50.0, 40.0],
        }
    )
    pairs = pl.DataFrame(
        {
            "scenario": ["delivery", "billing", "delivery"],
            "tag": ["repeat_return", "bot_loop", "channel_hopping"],
            "cases": [1974, 10, 20],
            "extra_per_case": [2194.32, 50.0, 100.0],
            "excess_cost": [1974 * 2194.32, 500.0, 2000.0],
        }
    )
    alerts = fire(rules, Inputs(breaches=breaches, cost_pairs=pairs, interval_s=1800.0))
    sla = next(a for a in alerts if a["rule"] == "sla")
    cost = next(
        a for a in alerts if a["rule"] == "cost" and a["evidence"]["tag"] != "channel_hopping"
    )
    lang("en")
    # 10 agent-intervals short of 30 minutes = 5.0 agent-hours x 900 = 4,500
    assert _words(sla) == [
        "Queue phone, Mondays: the service level will likely break",
        "3 intervals on Mondays will likely miss the service-level goal (probability up to "
        "93.5%), 160 calls forecast in them: 2026-01-12 10:00, 2026-01-19 10:00, "
        "2026-01-19 10:30.",
        "They are 5.0 agent-hours short; at ₽900 an agent-hour that is ₽4,500.",
    ]
    assert _words(cost) == [
        "Scenario delivery: excess cost from repeat returns",
        "In the last 30 days 1,974 delivery cases had repeat returns; each cost ₽2,194 more "
        "than the scenario's cases without any such behaviour: ₽4,331,588 in all.",
    ]
    lang("ru")
    assert (
        _words(sla)[0] == "Очередь phone, по понедельникам: уровень сервиса, вероятно, будет сорван"
    )
    # The charts: the Monday intervals in time order; the scenario's behaviours, most first.
    bars = chart(sla, Inputs())
    assert bars is not None and bars.labels == (
        "2026-01-12 10:00",
        "2026-01-19 10:00",
        "2026-01-19 10:30",
    )
    assert bars.values == (0.85, 0.9, 0.935)
    costs = chart(cost, Inputs(cost_pairs=pairs))
    assert costs is not None and costs.labels == ("repeat_return", "channel_hopping")


def test_segment_digest_and_resolved_alerts_have_sentences_too(lang):
    segment = _alert(
        "s",
        32_801_502.36,
        "high",
        signal="segment_risk",
        evidence={
            "customers": 14057,
            "expected_leavers": 1249.6,
            "mean_risk": 0.0889,
            "by": "region",
            "value": "Moscow",
        },
    )
    digest = _alert(
        "d",
        90_620.99,
        "high",
        signal="digest",
        owner="retention",
        evidence={"alerts": ["a", "b", "c"]},
    )
    gone = _alert(
        "g",
        1200.0,
        "low",
        status="resolved",
        signal="",
        zone="queue chat Tue",
        reason="SLA breach likely",
        evidence={},
    )
    lang("en")
    assert _words(segment) == [
        "Region Moscow: revenue at risk",
        "14,057 customers; 1,250 of them are expected to leave (mean risk 8.9%), taking "
        "₽32,801,502 of revenue with them.",
    ]
    assert _words(digest) == [
        "3 more alerts for retention, over the weekly budget",
        "3 alerts of this owner beyond the weekly budget, ₽90,621 at stake in all. Switch on "
        "“Show grouped” to list them.",
    ]
    assert _words(gone) == [
        "queue chat Tue: SLA breach likely",
        "No longer fires: resolved at the last run. When it last fired, ₽1,200 was at stake.",
    ]
    lang("ru")
    assert _words(segment)[1] == (
        f"Клиентов: 14{NB}057; ожидается, что уйдут 1{NB}250 (средний риск 8,9{NB}%) и унесут "
        f"32{NB}801{NB}502{NB}₽ выручки."
    )


def test_bar_charts_name_behaviours_in_words_and_read_probabilities_as_percents(lang):
    from analytics.alert_text import Chart

    lang("ru")
    costs = alert_view.figure(
        Chart(
            "bars",
            "alerts.chart.cost",
            labels=("bot_loop",),
            values=(5.0,),
            label_key="alerts.tag.",
        ),
        "RUB",
    )
    assert costs.data[0].y == ("петли бота",)
    assert costs.layout.xaxis.tickformat is None
    sla = alert_view.figure(
        Chart("bars", "alerts.chart.sla", labels=("10:00",), values=(0.9,), value_kind="share"),
        "RUB",
    )
    assert sla.layout.xaxis.tickformat == ".0%"


def test_an_overview_zone_line_names_the_channel_and_the_day_the_readers_way(lang):
    # The Overview's «Нарастающие проблемы»: канал телефон, from 21.04.2025.
    import datetime as dt

    from dashboard.headline import zone_line

    zone = {
        "slice": "channel",
        "value": "phone",
        "indicator": "repeat_contacts",
        "baseline": 0.204,
        "recent": 0.314,
        "relative_change": 0.539,
        "started": dt.date(2025, 4, 21),
    }
    lang("ru")
    line = zone_line(zone, "RUB")
    assert line.startswith("* **канал телефон**: Повторные обращения с 20,4")
    assert line.endswith("(с 21.04.2025)")
    lang("en")
    assert zone_line(zone, "RUB").endswith("(since 2025-04-21)")
