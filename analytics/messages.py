"""Engine messages as a key and values, rendered in the reader's language.

The engine says things (a load warning, a quarantine reason, a tension zone's label, an
alert's owner) as a :class:`Message`: a catalogue key plus the values to fill in. A
``Message`` is also a ``str``, its English rendering, so the command line, logs, CSV
downloads and webhooks keep reading English while the app renders the same message in
Russian with :func:`render`. Both languages live in one place, ``analytics/locales/``
(``en.toml``, ``ru.toml``); the app's catalogue falls back to them.

Counts agree with their noun through a plural field: ``{n:event|events}`` in English
(one, other) and ``{n:событие|события|событий}`` in Russian (one, few, many, and an
optional fourth form for fractions), chosen by :func:`plural_form` from the value of
``n`` (a number, or a number already formatted as text). Whole numbers of five digits or
more in a plain ``{n}`` field are grouped the way the language writes them (``12,345`` /
``12 345``); a number with a format (``{x:,.1f}``) takes the language's marks (``1,234.5`` /
``1 234,5``).
"""

from __future__ import annotations

import math
import re
import string
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("en", "ru")
_NBSP = "\u00a0"
_DIGITS = re.compile(r"[^\d.,\-]")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The engine's ``section.key -> template`` for one language (flattened TOML)."""
    text = resources.files("analytics").joinpath(f"locales/{lang}.toml").read_text("utf-8")
    return flatten(tomllib.loads(text))


def flatten(node: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested TOML tables as dotted keys: ``{"a": {"b": "x"}}`` -> ``{"a.b": "x"}``."""
    flat: dict[str, str] = {}
    for key, value in node.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


def _count(value: object) -> float:
    """The number behind a count given as a number or as formatted text (``1 289 119``,
    ``2,5``)."""
    if isinstance(value, int | float):
        return float(value)
    text = _DIGITS.sub("", str(value)).replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return math.nan


def plural_form(n: object, lang: str) -> int:
    """Index of the form that agrees with ``n`` (CLDR plural rules).

    English: 0 = one (exactly 1), 1 = other. Russian (integers): 0 = one (ends in 1, not
    in 11: 1, 21, 101), 1 = few (ends in 2-4, not 12-14: 2, 22, 104), 2 = many (the rest:
    0, 5, 11, 12, 25, 111); 3 = other, a fraction (2,5 стандартного отклонения), which
    a field with three forms writes in its few form (2,5 события).
    """
    value = _count(n)
    if lang != "ru":
        return 0 if value == 1 else 1
    if math.isnan(value) or value != int(value):
        return 3
    whole = abs(int(value))
    if whole % 10 == 1 and whole % 100 != 11:
        return 0
    if 2 <= whole % 10 <= 4 and not 12 <= whole % 100 <= 14:
        return 1
    return 2


def group(value: int, lang: str) -> str:
    """``1234567`` -> ``1,234,567`` (en) or ``1 234 567`` with non-breaking spaces (ru)."""
    return marks(f"{value:,}", lang)


class _Formatter(string.Formatter):
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: object, format_spec: str) -> str:
        if "|" in format_spec:  # a plural field: pick the form that agrees with the value
            forms = format_spec.split("|")
            index = plural_form(value, self.lang)
            return forms[index if index < len(forms) else min(1, len(forms) - 1)]
        # Five digits and more are grouped (Russian leaves 2025 or 1500 whole, years too).
        if not format_spec and isinstance(value, int) and abs(value) >= 10_000:
            return group(value, self.lang)
        text = super().format_field(value, format_spec)
        if format_spec and isinstance(value, int | float) and not isinstance(value, bool):
            return marks(text, self.lang)  # {x:,.1f}: the language's separators
        return text


def marks(number: str, lang: str) -> str:
    """A number formatted the English way in the language's marks: ``12,345.6`` stays in
    English and reads ``12 345,6`` (non-breaking space, decimal comma) in Russian."""
    return number.translate(_RU_MARKS) if lang == "ru" else number


_RU_MARKS = str.maketrans({",": _NBSP, ".": ","})


def fill(template: str, lang: str, values: Mapping[str, object]) -> str:
    """``template`` with ``values`` in, plural fields agreeing, counts grouped; a message
    inside a value is rendered in the same language, a tuple of them as a list."""
    rendered = {k: _value(v, lang) for k, v in values.items()}
    return _Formatter(lang).vformat(template, (), rendered)


def _value(value: object, lang: str) -> object:
    if isinstance(value, Message):
        return render(value, lang)
    if isinstance(value, tuple):
        return ", ".join(render(v, lang) for v in value)
    return value


class Message(str):
    """A catalogue key and its values; as a ``str``, the English text.

    ``Message("load.not_data", name="notes.md")`` reads ``notes.md: not a data file...``
    wherever a string is expected, and ``render(message, "ru")`` gives the Russian.
    """

    key: str
    values: dict[str, object]

    def __new__(cls, key: str, /, **values: object) -> Message:
        self = super().__new__(cls, fill(catalogue("en")[key], "en", values))
        self.key = key
        self.values = values
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickling (Streamlit's cache) keeps the key
        return (_rebuild, (self.key, self.values))


def _rebuild(key: str, values: dict[str, object]) -> Message:
    return Message(key, **values)


def message_of(exc: BaseException) -> str:
    """What ``exc`` says, as raised: a :class:`Message` (rendered in the reader's language
    by :func:`render`) where it was raised with one, else its text."""
    said = exc.args[0] if len(exc.args) == 1 else None
    return said if isinstance(said, Message) else str(exc)


_TOML_AT = re.compile(r"\s*\(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$")


# What Python's TOML parser (tomllib) says when a hand-written file is broken: its phrase
# -> the key of the same message in toml.says; a phrase not listed is quoted as it is.
_TOML_SAYS = tuple(
    (re.compile(phrase), key)
    for phrase, key in (
        (r"Invalid value", "invalid_value"),
        (r"Invalid statement", "invalid_statement"),
        (r"Expected newline or end of document after a statement", "expected_newline"),
        (r"Expected '=' after a key in a key/value pair", "expected_equals"),
        (r"Cannot overwrite a value", "overwrite"),
        (r"Cannot declare (?P<key>.+) twice", "declared_twice"),
        (r"Unclosed array", "unclosed_array"),
        (r"Unclosed inline table", "unclosed_table"),
        (r"Unterminated string", "unterminated_string"),
        (r"Invalid initial character for a key part", "key_start"),
        (r"Expected '\]' at the end of a table declaration", "table_end"),
        (r"Illegal character (?P<char>.+)", "illegal_character"),
        (r"Found invalid character (?P<char>.+)", "invalid_character"),
        (r"Invalid date or datetime", "invalid_date"),
    )
)


def toml_place(exc: ValueError) -> dict[str, object]:
    """Values of a "not valid TOML" message: what the parser says as ``detail`` and where
    it stopped as ``where`` (``toml.at`` a line and column, ``toml.end``), both messages
    where the parser's phrase is known (``toml.says``), so they read in the reader's
    language; an unknown phrase is quoted in the parser's English."""
    text = str(exc)
    found = _TOML_AT.search(text)
    if found is None:
        return {"detail": text, "where": Message("toml.unknown")}
    if found["line"]:
        where = Message("toml.at", line=int(found["line"]), column=int(found["column"]))
    else:
        where = Message("toml.end")
    said = text[: found.start()]
    for phrase, key in _TOML_SAYS:
        if known := phrase.fullmatch(said):
            return {"detail": Message(f"toml.says.{key}", **known.groupdict()), "where": where}
    return {"detail": said, "where": where}


# Texts that reach the app as plain English (the alert store and webhooks keep them so).
_FIXED_SECTIONS = ("rule.",)


@cache
def _fixed_texts() -> dict[str, str]:
    """English text -> key of the default rules' names, owners, actions and bases."""
    return {v: k for k, v in catalogue("en").items() if k.startswith(_FIXED_SECTIONS)}


def render(text: object, lang: str) -> str:
    """``text`` in ``lang``: a :class:`Message` from its catalogue; a plain string that is
    the English of a fixed message (an owner or action of the default rules, read back from
    the alert store) as that message; anything else as is (a user's own wording)."""
    if isinstance(text, Message):
        template = catalogue(lang).get(text.key) or catalogue("en")[text.key]
        return fill(template, lang, text.values)
    key = _fixed_texts().get(str(text))
    return catalogue(lang).get(key, str(text)) if key else str(text)
