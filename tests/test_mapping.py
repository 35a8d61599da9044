import pytest

from analytics.mapping import Mapping, header_seconds_factor, normalize_header, suggest
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
