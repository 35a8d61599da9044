"""Numbers as people read them: thousands grouped, decimal comma in Russian, currency signs."""

from __future__ import annotations

import math

import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from dashboard.i18n import language

_SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸"}
_NBSP = "\u00a0"


def number(value: float | None, decimals: int = 0) -> str:
    """``30240000`` -> ``30 240 000`` (ru) or ``30,240,000`` (en); ``—`` for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:,.{decimals}f}"
    if language() == "ru":
        text = text.replace(",", _NBSP).replace(".", ",")
    return text


def up_to(value: float | None, decimals: int = 1) -> str:
    """A measure that is often whole (months of data): ``11.99`` -> ``12``, ``3.46`` ->
    ``3.5`` (``3,5`` in Russian); rounded to ``decimals`` places, none when that is whole."""
    if value is None or math.isnan(value):
        return "—"
    rounded = round(value, decimals)
    return number(rounded, 0 if rounded == int(rounded) else decimals)


def p_value(value: float | None, sign: bool = False) -> str:
    """A test's p as a reader takes it: ``< 0,001`` below a thousandth (never ``4,2e-10``),
    else three decimals (``0,012``); with ``sign`` an equals sign before those (``= 0,012``),
    for a sentence's "p {p}"."""
    if value is None or math.isnan(value):
        return "—"
    if value < 0.001:
        return "< " + number(0.001, 3)
    return ("= " if sign else "") + number(value, 3)


def symbol(currency: str) -> str:
    """``RUB`` -> ``₽``; a code without a sign stays the code."""
    return _SYMBOLS.get(currency, currency)


def money(value: float | None, currency: str, decimals: int = 0) -> str:
    if value is None:
        return "—"
    sign = symbol(currency)
    if language() == "ru" or sign == currency:
        return f"{number(value, decimals)}{_NBSP}{sign}"
    return f"{sign}{number(value, decimals)}"


def percent(share: float | None, decimals: int = 1) -> str:
    """``0.081`` -> ``8.1%`` (en) or ``8,1 %`` (ru, a no-break space): what the grids'
    ``percent`` format (the browser's ``Intl.NumberFormat``) writes in each language, so a
    tile and a table on one page read alike."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "—"
    sep = _NBSP if language() == "ru" else ""
    return f"{number(100 * share, decimals)}{sep}%"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    minutes, secs = divmod(round(value), 60)
    return f"{minutes}:{secs:02d}"


def compact_money(value: float | None, currency: str, tick: bool = False) -> str:
    """Large amounts for a metric tile: ``30.24M ₽``-style, exact figures shown elsewhere.
    A ``tick`` (an axis's round value) drops trailing zero decimals: ``300 млн ₽``, not
    ``300,0 млн ₽``; ``2,5 млн ₽``, not ``2,50 млн ₽``."""
    if value is None:
        return "—"
    ru = language() == "ru"
    for size, en_unit, ru_unit in ((1e9, "B", "млрд"), (1e6, "M", "млн"), (1e3, "K", "тыс.")):
        if abs(value) >= size:
            decimals = 2 if abs(value) < 100 * size else 1
            amount = number(value / size, decimals)
            if tick and ("," if ru else ".") in amount:  # 2,50 -> 2,5; 300,0 -> 300
                amount = amount.rstrip("0").rstrip(",." if ru else ".")
            sign = symbol(currency)
            return f"{amount}{_NBSP}{ru_unit}{_NBSP}{sign}" if ru else f"{sign}{amount}{en_unit}"
    return money(value, currency)


# Table columns in the reader's locale (15 738 and 0,4 in Russian, as dashboard/tables.py):
# Streamlit's "localized" format takes its decimal places from the step.
def count_column(label: str) -> ColumnConfig:
    return st.column_config.NumberColumn(label, format="localized", step=1)


def number_column(label: str, decimals: int = 0) -> ColumnConfig:
    """Money, volumes, percentage points: ``decimals`` places, rounded."""
    return st.column_config.NumberColumn(label, format="localized", step=10**-decimals)


def share_column(label: str) -> ColumnConfig:
    """A share (0.253) shown as a percentage with one decimal (25,3 %; 25.3% in English), as in
    dashboard/tables.py: Streamlit keeps (decimals of the step - 2) places."""
    return st.column_config.NumberColumn(label, format="percent", step=0.001)
