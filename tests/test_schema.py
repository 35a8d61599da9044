from pathlib import Path

import pytest

from analytics.schema import TABLES, Settings, markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_settings_round_trip_through_toml():
    settings = Settings.from_dict(
        {"currency": "EUR", "sla_goal": 0.9, "promised_wait_s": {"phone": 30}}
    )
    again = Settings.from_toml(settings.to_toml())
    assert again == settings
    assert again.promised_wait_s["phone"] == 30.0
    assert again.currency == "EUR"


def test_partial_settings_keep_other_defaults():
    settings = Settings.from_toml("sla_target_s = 30\n[promised_wait_s]\nphone = 45\n")
    assert settings.sla_target_s == 30.0
    assert settings.promised_wait_s["phone"] == 45.0
    assert settings.promised_wait_s["chat"] == Settings().promised_wait_s["chat"]
    assert settings.currency == "RUB"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 'red'", "unknown settings key: colour"),
        ("colour = 'red'\nsize = 1", "unknown settings keys: colour, size"),
        ("sla_goal = 'high'", "settings key 'sla_goal' must be a number, got 'high'"),
        ("sla_goal = 80", "settings key 'sla_goal' must be a share in (0, 1], e.g. 0.8"),
        (
            "[cost_per_minute]\nphone = -1",
            "settings key 'cost_per_minute.phone' must not be negative",
        ),
        ("currency = [", "settings are not valid TOML: Invalid value (at end of document)"),
        ("interval_min = 7", "settings key 'interval_min' must be 5, 10, 15, 30 or 60 minutes"),
        ("currency = 3", "settings key 'currency' must be text"),
        ("promised_wait_s = 3", "settings key 'promised_wait_s' must be a table"),
    ],
)
def test_bad_settings_say_which_key(text, message):
    with pytest.raises(
        ValueError,
        match=r"^"
        + message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]"),
    ):
        Settings.from_toml(text)


@pytest.mark.parametrize(
    ("text", "russian"),
    [
        ("colour = 'red'\nsize = 1", "неизвестные ключи настроек: colour, size; допустимы: "),
        ("sla_goal = 'high'", "ключ настроек «sla_goal» должен быть числом, а указано 'high'"),
        ("sla_goal = 80", "ключ настроек «sla_goal» должен быть долей от 0 (не включая) до 1, "),
        ("[cost_per_minute]\nphone = -1", "ключ настроек «cost_per_minute.phone» не может "),
        # Python's TOML parser's phrase and place, in Russian; a phrase it has no message
        # for is quoted as the parser wrote it.
        ("a = 1\n[x]\n[x]", "настройки — не корректный TOML (строка 3, позиция 3: раздел "),
        ("a = 1 2", "настройки — не корректный TOML (строка 1, позиция 7: после значения "),
        ("a = 1\n[x", "настройки — не корректный TOML (в конце файла: в конце названия "),
        ('a = "\\q"', "настройки — не корректный TOML (строка 1, позиция 8: Unescaped '\\'"),
    ],
)
def test_bad_settings_read_in_russian_in_the_app(text, russian):
    # The app renders the message the engine raised; the English above is its str().
    from analytics.messages import message_of, render

    with pytest.raises(ValueError) as raised:
        Settings.from_toml(text)
    assert render(message_of(raised.value), "ru").startswith(russian)


def test_events_contract_matches_design():
    events = TABLES["events"]
    assert events.required_names == ["case_id", "timestamp", "activity"]
    assert events.names[:4] == ["case_id", "customer_id", "timestamp", "activity"]
    assert TABLES["surveys"].column("nps").maximum == 10


@pytest.mark.parametrize("name", list(TABLES))
def test_readme_shows_the_declared_schema(name):
    assert markdown_table(TABLES[name]) in README.read_text(encoding="utf-8")
