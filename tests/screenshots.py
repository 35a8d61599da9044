"""The README's screenshots, taken from the running app on the sample company.

Run: ``make screenshots`` (writes ``docs/screenshots/<page>.png``), or
``.venv/bin/python -m tests.screenshots PAGE ...`` for some of them. Uses the browser tests'
server and Chromium flags; not a test itself.
"""

from __future__ import annotations

import shutil
import sys

from playwright.sync_api import expect, sync_playwright

from dashboard.nav import URLS, address
from tests.test_browser import CHROMIUM_FLAGS, ROOT, serve, settled

PAGES = {u: address(u) for u in URLS}  # screenshot name: URL path


def main(names: list[str]) -> None:
    """Screenshots of the pages named (all when none)."""
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    executable = shutil.which("chromium")
    if not executable:
        raise SystemExit("Debian's chromium is missing: `make chromium` installs it")
    with serve() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1250}, locale="en-US")
        for name, path in PAGES.items():
            if names and name not in names:
                continue
            page.goto(f"{url}/{path}")
            expect(page.get_by_test_id("stMain").get_by_role("heading").first).to_be_visible()
            settled(page, quiet_s=3.0, limit_s=600.0)  # the quiet time lets plotly draw
            page.screenshot(path=out / f"{name}.png")
            print(f"wrote {out / f'{name}.png'}")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
