"""The README's screenshots, taken from the running app on the sample company, in English
and in Russian.

Run: ``make screenshots`` (writes ``docs/screenshots/<lang>/<page>.png`` for every page in
both languages), or ``.venv/bin/python -m tests.screenshots PAGE ...`` for some of them.
Uses the browser tests' server, Chromium and wait; not a test itself. Each picture is the
first 1440 × 1500 of the page once it has settled and every chart is drawn, stored as an
optimised 256-colour PNG (a third of the size, the text as sharp).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from dashboard.nav import URLS, address
from tests.conftest import ROOT
from tests.web import launch, serve, settled

OUT = ROOT / "docs" / "screenshots"
LANGS = {"en": "en-US", "ru": "ru-RU"}  # folder: browser locale
VIEWPORT = {"width": 1440, "height": 1500}


def shoot(page: Page, url: str, out: Path) -> None:
    """One page, settled and drawn, into ``out``; fails on an error box."""
    page.goto(url)
    expect(page.get_by_test_id("stMain").get_by_role("heading").first).to_be_visible()
    settled(page, quiet_s=3.0, limit_s=600.0)  # the quiet time lets plotly draw
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=600_000)
    if page.get_by_test_id("stException").count():
        raise SystemExit(f"{url} shows an exception")
    page.screenshot(path=out)
    Image.open(out).convert("RGB").quantize(colors=256).save(out, optimize=True)


def main(names: list[str]) -> None:
    """Screenshots of the pages named (all when none), in both languages."""
    with serve() as url, sync_playwright() as p:
        browser = launch(p)
        for lang, locale in LANGS.items():
            (OUT / lang).mkdir(parents=True, exist_ok=True)
            page = browser.new_page(viewport=VIEWPORT, locale=locale)
            page.set_default_timeout(600_000)
            for name in URLS:
                if names and name not in names:
                    continue
                out = OUT / lang / f"{name}.png"
                shoot(page, f"{url}/{address(name)}?lang={lang.upper()}", out)
                print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size // 1024} KB)")
            page.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
