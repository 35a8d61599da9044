"""The two catalogues say the same things: the same keys and the same placeholders."""

from __future__ import annotations

import string

from dashboard.i18n import catalogue


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_russian_and_english_have_the_same_keys_and_placeholders():
    en, ru = catalogue("en"), catalogue("ru")
    assert sorted(set(en) ^ set(ru)) == []
    differing = [k for k in en if _fields(en[k]) != _fields(ru[k])]
    assert differing == []
