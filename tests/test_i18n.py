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


def test_a_deferred_download_is_written_in_the_language_of_its_run(monkeypatch):
    """A download's data runs later on another thread, outside the session: ``in_language``
    keeps the run's language for it (before, a Russian export wrote its yes and no in English)."""
    import threading

    from dashboard import i18n

    monkeypatch.setattr(i18n.st, "session_state", {"lang": "RU"})
    later = i18n.in_language(lambda: (i18n.language(), i18n.t("tables.yes")))
    monkeypatch.setattr(i18n.st, "session_state", {})  # the download's thread: no session
    monkeypatch.setattr(i18n, "default_language", lambda: "en")
    assert i18n.t("tables.yes") == i18n.catalogue("en")["tables.yes"]
    out = []
    thread = threading.Thread(target=lambda: out.append(later()))
    thread.start()
    thread.join()
    assert out == [("ru", i18n.catalogue("ru")["tables.yes"])]
    assert i18n.language() == "en"  # pinned only inside the call


def test_no_text_names_a_table_or_column_by_its_code_in_brackets():
    """A text saying «from the interval report (acd)» read as a developer's note: a table is named in
    words; codes belong in code spans (`acd.csv`), where the reader is told to write them."""
    import re

    code = re.compile(r"\((?:[a-z]+_[a-z_]+|acd|events|customers|surveys|calls)\)")
    for lang in ("en", "ru"):
        named = {k: v for k, v in catalogue(lang).items() if code.search(v)}
        assert named == {}, lang


def test_no_text_uses_a_glyph_the_apps_font_lacks():
    """The circled ⓘ is not in the app's font (Source Sans): it drew as an empty box where
    Economics pointed to its inputs' help, which is a ? in a circle anyway."""
    for lang in ("en", "ru"):
        boxed = {k: v for k, v in catalogue(lang).items() if "\u24d8" in v}
        assert boxed == {}, lang


def test_the_process_maps_path_cover_reads_as_russian(lang):
    """«12 из 65 путей, покрывают …» carried the English participle's comma."""
    from dashboard.i18n import t

    lang("ru")
    got = t("process.paths_cover", paths=12, total=65, share="81,9 %")
    assert got == "12 из 65 путей покрывают 81,9 % обращений."
    assert t("process.paths_cover", paths=1, total=65, share="24,5 %").startswith(
        "1 из 65 путей покрывает "
    )
