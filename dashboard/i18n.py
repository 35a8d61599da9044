"""UI strings: one TOML catalogue per language, ``t(key, **values)`` to look them up."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import streamlit as st

# The language switch shows these codes; they are also its URL value (?lang=RU).
CODES = {"EN": "en", "RU": "ru"}
_DIR = Path(__file__).parent / "locales"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Flattened ``section.key -> text`` for one language."""
    data = tomllib.loads((_DIR / f"{lang}.toml").read_text(encoding="utf-8"))
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict[str, object]) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(f"{name}.", value)
            else:
                flat[name] = str(value)

    walk("", data)
    return flat


def default_language() -> str:
    """The browser's language where we speak it, else English."""
    locale = (st.context.locale or "en").lower()
    return "ru" if locale.startswith("ru") else "en"


def language() -> str:
    code = st.session_state.get("lang")
    return CODES.get(code, default_language()) if isinstance(code, str) else default_language()


def t(key: str, **values: object) -> str:
    """The text for ``key`` in the current language (English, then the key, as fallbacks)."""
    text = catalogue(language()).get(key) or catalogue("en").get(key) or key
    return text.format(**values) if values else text
