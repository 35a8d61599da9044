"""Nothing cut off at 1366×768 and 1920×1080 in Russian and English: metric labels and
values, button and page-link labels, tables. Streamlit ends a text that does not fit
with "…" (``text-overflow: ellipsis``), so an element whose ``scrollWidth`` exceeds its
``clientWidth`` is one a person cannot read in full; a table (a canvas grid) wider than its place scrolls sideways, and its
last columns are off screen. The screenshots are saved beside the test's temporary files
for a look.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect

from dashboard.nav import address
from tests.web import settled

pytestmark = pytest.mark.browser

# Text inside metrics, buttons and page links that is clipped: [what, text, needed px,
# shown px].
_CUT = """() => [...document.querySelectorAll(
    '[data-testid=stMetric] *, [data-testid=stButton] *, [data-testid=stDownloadButton] *, '
    + '[data-testid=stPageLink] *')]
  .filter(e => getComputedStyle(e).overflow !== 'visible' && e.scrollWidth > e.clientWidth)
  .map(e => [e.closest('[data-testid^=stMetric], [data-testid=stPageLink], button')
               .dataset.testid || 'button',
             e.innerText, e.scrollWidth, e.clientWidth])"""


# Tables wider than their place: [header texts on screen, width needed px, shown px].
_WIDE = """() => [...document.querySelectorAll('[data-testid=stDataFrame]')]
  .map(d => [d.querySelector('.dvn-scroller'), d])
  .filter(([s]) => s && s.scrollWidth > s.clientWidth + 1)
  .map(([s, d]) => [[...d.querySelectorAll('table th')].map(h => h.textContent).join(' | '),
                    s.scrollWidth, s.clientWidth])"""


# Every text of the pages' plain-SVG charts (drawn through Markdown): [text, its size on
# screen in px, whether it runs past its drawing's edge, where the SVG cuts it off].
_SVG_TEXTS = """() => [...document.querySelectorAll('[data-testid=stMarkdownContainer] svg text')]
  .filter(t => t.closest('svg').getBoundingClientRect().width > 0)
  .map(t => {
    const box = t.getBoundingClientRect(), frame = t.closest('svg').getBoundingClientRect();
    const m = t.getScreenCTM();  // its scale (a rotated axis title too)
    return [t.textContent, parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b),
            box.left < frame.left - 0.5 || box.right > frame.right + 0.5];
  })"""


SIZES = ((1366, 768), (1920, 1080))


@contextmanager
def _opened(browser: Browser, url: str) -> Iterator[Page]:
    """``url`` in a Russian browser window of 1366×768 px, closed afterwards."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(300_000)
    try:
        page.goto(url)
        yield page
    finally:
        context.close()


def _sized(page: Page, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(1500)  # the layout follows the window, no rerun


@pytest.mark.parametrize("lang", ["RU", "EN"])
@pytest.mark.parametrize("path", ["economics", "forecast", "overview"])
def test_nothing_is_cut_off(browser: Browser, sample_server, path, lang, tmp_path):
    # The NPS evidence shown too (the widest variant of the initiative block).
    query = f"lang={lang}&eco_via_nps=true"
    with _opened(browser, f"{sample_server}/{address(path)}?{query}") as page:
        page.get_by_test_id("stMetric").first.wait_for()
        settled(page, quiet_s=3.0, limit_s=600.0)
        labels = [text for text in page.get_by_test_id("stMetricLabel").all_inner_texts() if text]
        assert len(labels) >= 10  # the tiles drew (collapsed ones have no text)
        for width, height in SIZES:
            _sized(page, width, height)
            page.screenshot(path=tmp_path / f"{path}_{lang}_{width}.png")
            assert (width, page.evaluate(_CUT)) == (width, [])


@pytest.mark.parametrize("lang", ["RU", "EN"])
# Per page: the tables it draws, and its tabs (Process shows one of four tables at a time).
# Cost: seven, the rates editor (in its closed expander) among them; its twins, the two
# cases' steps (side by side, 443 px each for 503-646 px of columns) and the drill-down
# list (1058-1103 px of 904 at 1366) scrolled sideways before.
@pytest.mark.parametrize(
    ("path", "tables", "tabs"),
    [("tension", 1, 0), ("process", 1, 4), ("forecast", 3, 0), ("cost", 7, 0)],
)
def test_no_table_is_wider_than_the_page(
    browser: Browser, sample_server, path, tables, tabs, lang, tmp_path
):
    with _opened(browser, f"{sample_server}/{address(path)}?lang={lang}") as page:
        page.locator("h1").first.wait_for()
        settled(page, quiet_s=3.0, limit_s=600.0)
        grids = page.get_by_test_id("stDataFrame")
        tab_list = page.get_by_test_id("stMain").get_by_role("tab")
        expect(tab_list).to_have_count(tabs)
        for k in range(max(tabs, 1)):
            if tabs:
                tab_list.nth(k).click()
                settled(page, quiet_s=1.0, limit_s=600.0)
            # Every table drew (a page may draw its parts one after another; the sample's
            # tension has no operational gaps, so one table there).
            grids.nth(tables - 1).wait_for(state="attached")
            settled(page, quiet_s=3.0, limit_s=600.0)
            for width, height in SIZES:
                _sized(page, width, height)
                for i in range(grids.count()):
                    if grids.nth(i).is_visible():  # not inside a closed expander
                        grids.nth(i).scroll_into_view_if_needed()
                        shot = tmp_path / f"{path}_{lang}_{width}_tab{k}_table{i}.png"
                        grids.nth(i).screenshot(path=shot)
                assert (width, k, page.evaluate(_WIDE)) == (width, k, [])


@pytest.mark.parametrize("path", ["economics", "forecast", "workshop"])
def test_svg_charts_read_as_plotly_does_at_1366(browser: Browser, sample_server, path, tmp_path):
    """The plain-SVG charts' texts at 1366×768 are about plotly's 12 px and none runs off
    its drawing: the Forecasts series read 20 px (a 540 px drawing across a 906 px column)
    and Economics' tornado 8.5 px (640 px in a 410 px half column)."""
    with _opened(browser, f"{sample_server}/{address(path)}?lang=RU") as page:
        page.locator("h1").first.wait_for()
        page.locator("[data-testid=stMarkdownContainer] svg").first.wait_for()
        settled(page, quiet_s=3.0, limit_s=600.0)
        page.screenshot(path=tmp_path / f"{path}.png")
        texts = page.evaluate(_SVG_TEXTS)
    assert len(texts) >= 10
    by_size = sorted((round(size, 1), text) for text, size, _ in texts)
    assert 11.0 <= by_size[0][0] <= by_size[-1][0] <= 14.0, (by_size[:3], by_size[-3:])
    assert [text for text, _, cut in texts if cut] == []
