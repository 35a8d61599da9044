"""UI strings: one TOML catalogue per language, ``t(key, **values)`` to look them up.

The app's catalogue (``dashboard/locales``) sits on top of the engine's
(``analytics/locales``: load messages, quarantine reasons, tension labels, rule owners and
actions), so a key of either renders the same way. Templates follow
:mod:`analytics.messages`: ``{n:событие|события|событий}`` agrees a noun with ``n``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import TypeVar

import polars as pl
import streamlit as st

from analytics import messages

# The language switch shows these codes; they are also its URL value (?lang=RU).
CODES = {"EN": "en", "RU": "ru"}
_DIR = Path(__file__).parent / "locales"
_PINNED: ContextVar[str | None] = ContextVar("cx_radar_language", default=None)
T = TypeVar("T")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Flattened ``section.key -> text`` for one language: the engine's messages, then the
    app's strings."""
    data = tomllib.loads((_DIR / f"{lang}.toml").read_text(encoding="utf-8"))
    return {**messages.catalogue(lang), **messages.flatten(data)}


def default_language() -> str:
    """The browser's language where we speak it, else English."""
    locale = (st.context.locale or "en").lower()
    return "ru" if locale.startswith("ru") else "en"


def language() -> str:
    fixed = _PINNED.get()
    if fixed is not None:
        return fixed
    code = st.session_state.get("lang")
    return CODES.get(code, default_language()) if isinstance(code, str) else default_language()


@contextmanager
def pinned(lang: str) -> Iterator[None]:
    """Inside the block, :func:`language` is ``lang`` whatever the session says."""
    token = _PINNED.set(lang)
    try:
        yield
    finally:
        _PINNED.reset(token)


def in_language(fn: Callable[[], T]) -> Callable[[], T]:
    """``fn`` to be called later in this run's language: a download's deferred data runs on
    another thread, where the session (and so the language switch) is out of reach."""
    lang = language()

    def call() -> T:
        with pinned(lang):
            return fn()

    return call


def date_format() -> str:
    """A day as the reader writes it, for date inputs and table columns alike: 31.12.2025
    in Russian, 2025-12-31 (ISO) in English."""
    return "DD.MM.YYYY" if language() == "ru" else "YYYY-MM-DD"


def day_pattern() -> str:
    """:func:`date_format` as a ``strftime`` pattern, for days written into text and
    drawings."""
    return "%d.%m.%Y" if language() == "ru" else "%Y-%m-%d"


def t(key: str, **values: object) -> str:
    """The text for ``key`` in the current language (English, then the key, as fallbacks)."""
    lang = language()
    text = catalogue(lang).get(key) or catalogue("en").get(key) or key
    return messages.fill(text, lang, values) if values else text


def channel(value: str) -> str:
    """A canonical channel (``phone``, ``self_service``) in the current language; a channel
    the catalogue lacks as it is."""
    return catalogue(language()).get(f"filters.channel.{value}", value)


def tr(text: object) -> str:
    """An engine message (or a fixed English text the engine stored) in the current
    language; a user's own wording as it is."""
    return messages.render(text, language())


def tr_columns(frame: pl.DataFrame, *names: str) -> pl.DataFrame:
    """``frame`` with the engine texts in columns ``names`` in the current language (one
    lookup per distinct value, no Python callback inside Polars)."""
    return frame.with_columns(
        pl.col(n).replace({v: tr(v) for v in frame[n].unique().drop_nulls()}) for n in names
    )
