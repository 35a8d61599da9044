"""Engine messages: plural agreement, one catalogue per language, both languages render."""

from __future__ import annotations

import pickle
import string

import pytest

from analytics import messages
from analytics.messages import Message, plural_form, render
from dashboard.i18n import catalogue


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize(
    ("n", "form"),
    # CLDR Russian: one ends in 1 but not 11; few ends in 2-4 but not 12-14; many the rest.
    [
        *((1, 0), (2, 1), (5, 2), (11, 2), (21, 0), (22, 1), (25, 2), (111, 2), (0, 2)),
        *((14, 2), (101, 0), (104, 1), (112, 2), (1_289_121, 0)),
    ],
)
def test_russian_plural_rule(n, form):
    assert plural_form(n, "ru") == form


def test_plural_of_formatted_counts_and_fractions():
    # Counts often arrive formatted for display: "1 289 119" (non-breaking spaces), "2,5".
    assert plural_form("1\u00a0289\u00a0119", "ru") == 2
    assert plural_form("56\u00a0101", "ru") == 0
    assert plural_form("2,5", "ru") == 3
    assert [plural_form(n, "en") for n in (0, 1, 2, 21)] == [1, 0, 1, 1]


@pytest.mark.parametrize(
    ("n", "text"),
    [
        *((1, "1 событие"), (2, "2 события"), (5, "5 событий"), (11, "11 событий")),
        *((21, "21 событие"), (22, "22 события"), (25, "25 событий"), (111, "111 событий")),
        *((194, "194 события"), ("2,5", "2,5 события")),
    ],
)
def test_a_plural_field_agrees_the_noun(n, text):
    assert messages.fill("{n} {n:событие|события|событий}", "ru", {"n": n}) == text


def test_large_whole_numbers_are_grouped_years_are_not():
    assert messages.fill("{n}; {year}", "ru", {"n": 1289119, "year": 2025}) == (
        "1\u00a0289\u00a0119; 2025"
    )
    assert messages.fill("{n}; {year}", "en", {"n": 1289119, "year": 2025}) == "1,289,119; 2025"


def test_formatted_numbers_take_the_languages_marks():
    # A field with a format: English keeps 12,345.7; Russian groups with a non-breaking
    # space and writes a decimal comma (as dashboard/fmt.py's number() does).
    values = {"x": 12345.67, "d": 0.5, "n": 1234}
    template = "{x:,.1f}; {d:+.1f}; {n:,}"
    assert messages.fill(template, "en", values) == "12,345.7; +0.5; 1,234"
    assert messages.fill(template, "ru", values) == "12\u00a0345,7; +0,5; 1\u00a0234"


def test_engine_catalogues_have_the_same_keys_and_placeholders():
    en, ru = messages.catalogue("en"), messages.catalogue("ru")
    assert sorted(set(en) ^ set(ru)) == []
    assert [k for k in en if _fields(en[k]) != _fields(ru[k])] == []


def test_every_app_key_is_in_both_languages_with_the_same_plural_forms():
    # A Russian plural field has three forms (four with fractions), an English one two.
    en, ru = catalogue("en"), catalogue("ru")
    for key, text in ru.items():
        for _, name, spec, _ in string.Formatter().parse(text):
            if name and "|" in (spec or ""):
                assert len(spec.split("|")) in (3, 4), (key, spec)
        for _, name, spec, _ in string.Formatter().parse(en[key]):
            if name and "|" in (spec or ""):
                assert len(spec.split("|")) == 2, (key, spec)


def test_a_message_reads_as_english_and_renders_in_russian():
    owner = Message("rule.owner.retention")
    assert owner == "retention team"  # where a str is expected: CLI, CSV, webhook
    assert f"Owner: {owner}" == "Owner: retention team"
    assert render(owner, "ru") == "команда удержания"
    assert render(owner, "en") == "retention team"


def test_a_message_survives_pickling_with_its_key():
    # Streamlit's cache pickles what a cached function returns.
    back = pickle.loads(pickle.dumps(Message("rule.owner.wfm")))
    assert isinstance(back, Message)
    assert render(back, "ru") == "планирование персонала (WFM)"


def test_stored_english_of_a_default_rule_translates_and_own_wording_stays():
    # The alert store and webhooks keep plain English; the app translates the default
    # rules' texts back and leaves a team's own owner as written.
    assert render("logistics operations", "ru") == "логистика"
    assert render("Ops team Kazan", "ru") == "Ops team Kazan"


def test_every_default_rule_owner_and_action_is_in_the_catalogue():
    from analytics.escalation import Rules

    english = set(messages.catalogue("en").values())
    rules = Rules.default().rules
    assert rules
    texts = [(r.id, text) for r in rules for text in (r.id, r.owner, r.action)]
    missing = [(rule, text) for rule, text in texts if text not in english]
    assert missing == []


def test_every_schema_column_has_its_meaning_in_both_languages():
    # The English entries repeat analytics/schema.py word for word: a change there shows here.
    from analytics.schema import TABLES

    en, ru = messages.catalogue("en"), messages.catalogue("ru")
    for name, table in TABLES.items():
        for column in table.columns:
            key = f"meaning.{name}.{column.name}"
            assert en[key] == column.meaning
            assert ru[key] and ru[key] != column.meaning


def test_quarantine_reasons_are_messages_in_both_languages():
    # One row per rule: a missing case, a date not in the column's format, a negative wait,
    # a duplicate customer, an answered count above the offered one.
    from analytics.io import load_sources, read_uploads

    events = (
        "Номер обращения;Клиент;Дата;Этап;Ожидание, сек\n"
        "A1;K1;01.02.2024 10:00;запрос;5\n"
        ";K2;01.02.2024 10:05;запрос;5\n"
        "A2;K2;31.02.2024 10:00;запрос;5\n"
        "A3;K3;01.02.2024 11:00;запрос;-4\n"
    )
    customers = "customer_id,segment\nK1,mass\nK1,vip\n"
    acd = "interval_start,offered,answered\n2024-01-01 10:00,10,12\n"
    files = [("e.csv", events.encode()), ("customers.csv", customers.encode())]
    report = load_sources(read_uploads([*files, ("acd.csv", acd.encode())])).report
    reasons = [r for t in ("events", "customers", "acd") for r in report.tables[t].reasons]
    assert all(isinstance(r, Message) for r in reasons)
    assert [render(r, "ru") for r in reasons] == [
        "нет значения case_id",
        "timestamp: не дата и время в формате столбца dd.mm.yyyy hh:mm",
        "wait_s: отрицательное значение",
        "повтор customer_id (первая строка оставлена)",
        "answered больше, чем offered",
    ]
    assert reasons[1] == "timestamp: not a date and time in the column's format dd.mm.yyyy hh:mm"


def test_rule_precision_bases_are_fixed_texts_of_the_catalogue():
    # The precision table's basis column reaches the page as plain English: each of the
    # three bases must translate (customer rules replayed on a validation snapshot, a rule
    # with an actioned alert in the state, a rule with nothing to measure).
    import polars as pl

    from analytics.escalation import Inputs, Rules, precision

    validation = pl.DataFrame(
        {"customer_id": ["C1"], "p_churn": [0.9], "revenue_at_risk": [1e6], "churned": [True]}
    )
    state = {"alerts": {"k1": {"rule": "bot-loop"}}, "actioned": ["k1"]}
    table = precision(Rules.default(), Inputs(validation=validation), state)
    bases = sorted(set(table["basis"]))
    assert len(bases) == 3
    assert [render(b, "ru") for b in bases] == [
        "ушли в пределах горизонта, воспроизведено на проверочном срезе",
        "отмечено как отработанное в хранилище состояния",
        "пока не измерить: отмечайте оповещения как отработанные",
    ]


def test_load_warnings_and_errors_render_in_russian():
    # An unknown channel value (one row, so the singular) and a file matching no table:
    # the English stays as the CLI printed it, the app gets Russian.
    from analytics.io import load_sources, read_uploads

    events = "case_id,timestamp,activity,channel\nA,2024-01-01 10:00,x,pigeon\n"
    files = [("events.csv", events.encode()), ("notes.csv", b"what,ever\n1,2\n")]
    report = load_sources(read_uploads(files)).report
    unknown = next(w for w in report.warnings if "pigeon" in w)
    assert unknown == (
        "events.channel: 1 value(s) not recognised, kept as they are: 'pigeon' (1 rows)"
    )
    assert render(unknown, "ru") == (
        "events.channel: 1 значение не распознано, оставлены как есть: «pigeon» (1 строка)"
    )
    assert render(report.warnings[-1], "ru") == (  # the log has no customer column
        "События: нет столбца клиента; каждое обращение считается отдельным клиентом"
    )
    (no_table,) = report.errors
    assert no_table.startswith("notes.csv: matches no table; as events it lacks case_id")
    assert render(no_table, "ru").startswith(
        "notes.csv: не подходит ни к одной таблице; как событиям ему не хватает case_id"
    )


def test_data_quality_warnings_render_in_russian():
    # The bank's per-call export (caller «0» on 8 rows, call id 33119 on two rows, date and
    # time in two columns, 4 calls of 3 identified callers) beside an unsorted events log:
    # case A runs from 2024-01-10 to 2025-03-02 (366 + 21 + 28 + 2 = 417 days); K9 and the
    # 3 callers are not in the customers table: 1 + 4 = 5 rows of 4 customers.
    import re
    from pathlib import Path

    from analytics.io import load_sources, read_uploads

    bank = Path(__file__).parent / "data" / "shapes" / "calls" / "bank_calls.csv"
    events = (
        "case_id,customer_id,timestamp,activity\n"
        "A,K1,2025-03-02 10:00,resolved\n"
        "B,K2,2024-01-05 09:00,request\n"
        "A,K1,2024-01-10 10:00,request\n"
        "B,K2,2024-01-05 09:00,resolved\n"
        "C,K9,2024-02-01 12:00,request\n"
    )
    files = [
        ("bank_calls.csv", bank.read_bytes()),
        ("events.csv", events.encode()),
        ("customers.csv", b"customer_id,segment\nK1,mass\nK2,vip\n"),
    ]
    warnings = load_sources(read_uploads(files)).report.warnings
    assert warnings[-2:] == (
        "events: 1 case(s) span more than a year (longest «A», 417 days); a case id reused "
        "for new cases would join them",
        "events: 5 row(s) of 4 customer(s) not in the customers table; kept, but they have no "
        "segment or revenue",
    )
    russian = [render(w, "ru") for w in warnings]
    assert russian == [
        "bank_calls.csv: «date» и «vru_exit» — дата и время в двух столбцах; объединены в "
        "calls.arrived_at",
        "calls.customer_id: «0» (8 строк) — похоже на заглушки вместо неопознанных клиентов; "
        "эти строки считаются строками неизвестных клиентов, а не одного клиента",
        "calls.call_id: 1 строка повторяет номер звонка из другой строки (например, «33119»); "
        "все они учтены как отдельные звонки (call_id уникален вместе с arrived_at или agent)",
        "Звонки: 4 звонка опознанных клиентов учтены как их обращения по телефону в стоимости "
        "и рисках",
        "События: 1 обращение длится больше года (самое долгое — «A», 417 дней); номер "
        "обращения, повторно выданный новым обращениям, склеил бы их",
        "События: у 4 клиентов нет записи в таблице клиентов (5 строк); строки оставлены, но "
        "без сегмента и выручки",
    ]
    # Latin only in the data's own names: the file, its headers, canonical column codes.
    data = r"bank_calls\.csv|calls\.\w+|call_id|arrived_at|agent|date|vru_exit|«A»"
    assert [re.findall(r"[A-Za-z]+", re.sub(data, "", r)) for r in russian] == [[]] * 6


def test_risk_reasons_in_russian_take_russian_numbers_and_plurals():
    # One customer's reasons as the model stores them (features + values), worded with the
    # app's Russian templates: 23 227 with a non-breaking space, +0,5, one wait (singular).
    import polars as pl

    from analytics.risk import reason_words

    frame = pl.DataFrame(
        {
            "reason_features": [["cost_to_serve", "contacts_trend", "waits_over"]],
            "reason_values": [[23227.4333, 0.5, 1.0]],
        }
    )
    ru = {k.removeprefix("risk.reason."): v for k, v in catalogue("ru").items()}
    assert reason_words(frame) == [
        [
            "cost to serve 23,227 in 90 days",
            "contacting more often: +0.5 contacts a month against before",
            "1 wait above the promised time in 90 days",
        ]
    ]
    # English agrees with the count too: 1 wait, 2 waits, 1 point, 1 repeat contact.
    more = pl.DataFrame(
        {
            "reason_features": [["waits_over", "low_nps"], ["repeat_contacts", "low_csat"]],
            "reason_values": [[2.0, 1.0], [1.0, 3.0]],
        }
    )
    assert reason_words(more) == [
        ["2 waits above the promised time in 90 days", "last NPS answer 1 point below 10"],
        [
            "1 repeat contact about the same cases in 90 days",
            "last CSAT answer 3 points below 5",
        ],
    ]
    en = {k.removeprefix("risk.reason."): v for k, v in catalogue("en").items()}
    assert reason_words(more, en) == reason_words(more)  # the app's English says the same
    assert reason_words(frame, ru, "ru") == [
        [
            "стоимость обслуживания 23\u00a0227 за 90 дней",
            "обращается чаще: +0,5 обращений в месяц против прежнего",
            "1 ожидание дольше обещанного за 90 дней",
        ]
    ]


def test_snapshot_reasons_in_russian_write_numbers_and_blanks_in_russian():
    # A snapshot's reasons carry their cells as English text (12,345.5; (blank)): Russian
    # marks and words on the Russian page; a category that merely holds digits and letters
    # stays as the data wrote it.
    import polars as pl

    from analytics.risk import reason_words

    args = [
        {"attribute": "charges", "value": "12,345.5", "typical": "870.25", "points": 7.4},
        {"attribute": "plan", "value": "(blank)", "typical": "basic", "points": 3.0},
        {"attribute": "plan", "value": "v2.5-pro", "typical": "basic", "points": 2.0},
    ]
    frame = pl.DataFrame(
        {
            "reason_features": [["attr_high", "attr_is", "attr_is"]],
            "reason_values": [[12345.5, None, None]],
            "reason_args": [args],
        }
    )
    ru = {k.removeprefix("riskmodel.reason."): v for k, v in catalogue("ru").items()}
    assert reason_words(frame, ru, "ru") == [
        [
            "charges 12\u00a0345,5 — выше обычного (медиана 870,25): +7 п. п. риска",
            "plan: (пусто): +3 п. п. риска",
            "plan: v2.5-pro: +2 п. п. риска",
        ]
    ]
    assert reason_words(frame)[0][:2] == [
        "charges 12,345.5 is high (median 870.25): +7 pp of risk",
        "plan is (blank): +3 pp of risk",
    ]
