import pytest

from analytics.mapping import Mapping, header_seconds_factor, normalize_header, suggest
from analytics.messages import message_of, render
from analytics.schema import TABLES

EVENTS = TABLES["events"]


def test_russian_headers_are_recognised():
    headers = [
        "Номер обращения",
        "Клиент",
        "Дата обращения",
        "Этап",
        "Канал",
        "Время ожидания, сек",
        "Оператор",
        "Комментарий",
    ]
    assert suggest(headers, EVENTS) == {
        "case_id": "Номер обращения",
        "customer_id": "Клиент",
        "timestamp": "Дата обращения",
        "activity": "Этап",
        "channel": "Канал",
        "wait_s": "Время ожидания, сек",
        "resource": "Оператор",
    }


def test_process_mining_headers_are_recognised():
    headers = ["case:concept:name", "concept:name", "time:timestamp"]
    assert suggest(headers, EVENTS) == {
        "case_id": "case:concept:name",
        "timestamp": "time:timestamp",
        "activity": "concept:name",
    }


def test_each_header_is_used_once():
    mapped = suggest(["client", "client id"], TABLES["customers"])
    assert list(mapped.values()) == ["client"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Время ожидания, сек", "время ожидания"),
        ("Wait (s)", "wait"),
        ("AHT_s", "aht"),
        ("Дата Обращения ", "дата обращения"),
        ("ёлка", "елка"),
    ],
)
def test_normalize_header(header, expected):
    assert normalize_header(header) == expected


@pytest.mark.parametrize(
    ("header", "factor"),
    [
        ("Время ожидания, мин", 60.0),
        ("wait_min", 60.0),
        ("Wait, ms", 0.001),
        ("wait_s", 1.0),
        ("Ожидание", 1.0),
    ],
)
def test_duration_units_from_header(header, factor):
    assert header_seconds_factor(header) == factor


def test_user_mapping_overrides_and_removes():
    mapping = Mapping(columns={"events": {"activity": "Статус", "channel": ""}})
    chosen = mapping.resolve(["ID", "Дата", "Статус", "Канал", "Этап"], EVENTS)
    assert chosen["activity"] == "Статус"
    assert "channel" not in chosen


def test_mapping_round_trips_through_toml():
    mapping = Mapping(columns={"events": {"case_id": "Номер"}}, date_order={"events": "mdy"})
    again = Mapping.from_toml(mapping.to_toml())
    assert again == mapping


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[orders]\n", "mapping: unknown table [orders]"),
        (
            "[events.columns]\nticket = 'x'\n",
            "mapping: [events.columns] has unknown column 'ticket'",
        ),
        ("[events]\ndate_order = 'ymd'\n", "mapping: events.date_order must be 'dmy' or 'mdy'"),
    ],
)
def test_bad_mapping_files(text, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Mapping.from_toml(text)


@pytest.mark.parametrize(
    ("text", "english", "russian"),
    [
        (
            "[orders]\n",
            "mapping: unknown table [orders]; known: events, customers, acd, calls, surveys",
            "сопоставление: неизвестная таблица [orders]; есть: events, customers, acd, calls, "
            "surveys",
        ),
        (
            "[calls]\nqueue = 1\nagents = 2\n",
            "mapping: [calls] has unknown keys agents, queue; known: columns, constants, values, "
            "date_order",
            "сопоставление: в [calls] неизвестные ключи agents, queue; допустимы: columns, "
            "constants, values, date_order",
        ),
        (
            "[calls]\nqueue = 1\n",
            "mapping: [calls] has unknown key queue; known: columns, constants, values, date_order",
            "сопоставление: в [calls] неизвестный ключ queue; допустимы: columns, constants, "
            "values, date_order",
        ),
        (
            "[files]\n'x.csv' = 'orders'\n",
            "mapping: [files] 'x.csv' = 'orders' names no table; known: events, customers, acd, "
            "calls, surveys",
            "сопоставление: в [files] «x.csv» = «orders» — такой таблицы нет; есть: events, "
            "customers, acd, calls, surveys",
        ),
        (
            "[events.columns]\ncase_id = 3\n",
            "mapping: events.case_id must be a header name or a list of headers to join",
            "сопоставление: events.case_id должен быть названием столбца или списком столбцов "
            "для объединения",
        ),
        (
            "[events]\ndate_order = 'ymd'\n",
            "mapping: events.date_order must be 'dmy' or 'mdy'",
            "сопоставление: events.date_order должен быть 'dmy' (день-месяц) или 'mdy' "
            "(месяц-день)",
        ),
        (
            "missing = '?'\n",
            'mapping: missing must be a list of texts, e.g. ["?", "-"]',
            'сопоставление: missing должен быть списком текстов, например ["?", "-"]',
        ),
        (  # Python's TOML parser's phrase and place, in Russian
            "[events.columns]\ncase_id = 'A'\ncase_id = 'B'\n",
            "mapping is not valid TOML: Cannot overwrite a value (at line 3, column 14)",
            "сопоставление — не корректный TOML (строка 3, позиция 14: значение задано повторно)",
        ),
    ],
)
def test_bad_mapping_messages_in_both_languages(text, english, russian):
    # The command line prints the exception's text; the app renders its message.
    with pytest.raises(ValueError) as raised:
        Mapping.from_toml(text)
    assert str(raised.value) == english
    assert render(message_of(raised.value), "ru") == russian


def test_a_bad_mapping_among_the_files_reads_in_russian():
    # The load error nests the mapping's message: both render in the reader's language.
    from analytics.io import load_sources, read_uploads

    files = [
        ("events.csv", b"case_id,timestamp,activity\nA,2024-01-01 10:00,x\n"),
        ("mapping.toml", b"[orders]\n"),
    ]
    (error,) = load_sources(read_uploads(files)).report.errors
    assert error.startswith("mapping.toml: mapping: unknown table [orders]; known: events")
    assert render(error, "ru").startswith(
        "mapping.toml: сопоставление: неизвестная таблица [orders]; есть: events"
    )
