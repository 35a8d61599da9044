"""Every page in Russian on the committed sample: no English word left on screen.

The walk opens each page with ``?lang=RU``, waits for it to settle, and reads what a person
sees: the page's text (``innerText``, which skips hidden nodes) and the text drawn inside
the charts' SVG (axis ticks, legends, annotations). Any word written only in Latin letters
fails the test unless it is a code or unit a Russian reader uses as is (SLA, NPS, CSV...).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence

import polars as pl
import pytest
from playwright.sync_api import Page, expect

from dashboard.i18n import catalogue
from dashboard.nav import URLS, address
from tests.conftest import SAMPLE_DIR
from tests.web import settled

pytestmark = pytest.mark.browser

PAGES = URLS
# Codes, units and names a Russian CX team reads in Latin letters.
ALLOWED = {
    # Metrics and abbreviations of the trade.
    *("SLA", "SL", "NPS", "CSAT", "AHT", "ASA", "CX", "LTV", "ACD", "IVR", "KPI", "WFM", "ID"),
    *("MASE", "WAPE", "EWMA", "CUSUM", "ETS", "MSTL", "AUC", "ROC", "ARL", "CRM", "ITSM"),
    # File formats and protocols.
    *("CSV", "PDF", "HTML", "TOML", "JSON", "XLSX", "PNG", "ZIP", "URL", "UTF", "BOM", "API"),
    *("TXT", "TSV", "PARQUET", "SQLite"),
    # Method, metric and standard names written as codes: sMAPE, MAE, PR AUC, TDABC
    # (time-driven activity-based costing), ARPU, ISO country codes, exp in a formula.
    *("sMAPE", "MAE", "PR", "TDABC", "ARPU", "ISO", "exp"),
    # Product names and the language switch.
    *("CX Radar", "Radar", "Erlang", "Plotly", "Excel", "Chromium", "scikit-learn", "EN", "RU"),
    "e-mail",
    # The bilingual label of the language switch; the date mask Streamlit draws in a
    # date input (its ``format`` sets the order and separator, not the letters).
    *("Language", "dd", "mm", "yyyy", "hh"),
    # Units.
    *("s", "ms", "MB", "KB", "GB", "x"),
}
# A run of two or more Latin letters that is a word: not a single letter of a formula, not
# part of an identifier (snake_case, digits) and not a file extension (state.sqlite).
_LATIN_WORD = re.compile(r"(?<!\w)(?<!\w\.)[A-Za-z][A-Za-z'-]*[A-Za-z](?!\w)")
# innerText of the page less icon ligatures, the screen-reader skip link, code (commands,
# file names, keys: `cx-radar escalate`), the file uploader's drop zone (Streamlit's own
# English, which it offers no way to translate) and the charts, plotly's or plain SVG
# (innerText runs a wrapped label's lines together); then the charts' SVG text, piece by
# piece; then the table cells (the grid draws on a canvas; its accessibility table holds
# the rows on screen). Nothing is removed from the page: React still owns those nodes.
_VISIBLE = """() => {
  const skip = '[data-testid=stIconMaterial], [data-testid=stExpanderIcon], '
    + '[data-testid=stSkipToContent], [data-testid=stFileUploaderDropzoneInstructions], '
    + '[data-testid=stFileUploaderDropzone] button, code, .js-plotly-plot, '
    + '[data-testid=stMarkdownContainer]:has(svg text)';
  let text = document.body.innerText;
  for (const node of document.querySelectorAll(skip)) {
    const part = node.innerText;
    if (part) text = text.replace(part, ' ');
  }
  // A wrapped label is one <text> of several <tspan> lines: each piece of text a word.
  const words = node => {
    const walk = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    const parts = [];
    while (walk.nextNode()) parts.push(walk.currentNode.nodeValue);
    return parts.join(' ');
  };
  const svg = [...document.querySelectorAll('.js-plotly-plot svg text, '
    + '[data-testid=stMarkdownContainer] svg text')]
    .filter(n => n.getBoundingClientRect().width > 0)
    .map(words);
  const cells = [...document.querySelectorAll('[data-testid=stDataFrame] table th, '
    + '[data-testid=stDataFrame] table td')].map(n => n.textContent)
    .filter(text => text !== 'true' && text !== 'false');  // a checkbox drawn on the canvas
  return [text, ...svg, ...cells].join('\\n');
}"""


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(120_000)
    yield page
    context.close()


def data_values() -> list[str]:
    """The sample company's own category values (regions, scenarios, steps, teams), longest
    first: the app shows a company's data as the company wrote it. Canonical channel codes
    (phone, self_service) are the app's own words, with a Russian name each, unless the
    company also wrote them elsewhere (a step named "bot")."""
    values: set[str] = set()
    channels: set[str] = set()
    for table in SAMPLE_DIR.glob("*.parquet"):
        frame = pl.read_parquet(table)
        for name, dtype in frame.schema.items():
            if dtype == pl.String and frame[name].n_unique() < 100:
                found = set(frame[name].drop_nulls().unique())
                (channels if name == "channel" else values).update(found)
    prefix = "filters.channel."
    named = {k.removeprefix(prefix) for k in catalogue("ru") if k.startswith(prefix)}
    values |= channels - named
    return sorted(values, key=lambda v: (-len(v), v))


def latin_words(text: str, values: Sequence[str] = ()) -> Counter[str]:
    """Latin-only words of ``text`` outside the allowlist, once whole data ``values`` are
    taken out (in "channel bot" the value "bot" is data, "channel" is the app's word)."""
    for value in values:
        text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", " ", text)
    words = Counter(_LATIN_WORD.findall(text))
    return Counter(
        {w: n for w, n in words.items() if w not in ALLOWED and w.upper() not in ALLOWED}
    )


def test_latin_words_finds_english_and_spares_codes():
    text = "Уровень SLA 80 % за 20 s; CSAT 4,2; Growing problems: channel bot; x2; e-mail"
    assert latin_words(text) == Counter({"Growing": 1, "problems": 1, "channel": 1, "bot": 1})
    assert latin_words(text, ["bot", "Growing problems"]) == Counter({"channel": 1})
    assert latin_words("robot; bot-loop", ["bot"]) == Counter({"robot": 1, "bot-loop": 1})
    assert latin_words("файл cx_radar_state.sqlite, ключ churn_to, 10x") == Counter()


def loaded(page: Page) -> None:
    """Settled, and every chart and table drawn (each shows a skeleton until its code loads)."""
    # The first page of a cold server computes every derived table on a shared machine.
    settled(page, quiet_s=2.0, limit_s=600)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=600_000)


def read_page(page: Page, url: str) -> str:
    """What the page shows with every expander open, tab by tab."""
    page.goto(url)
    # The heading, or the error box of a page that failed (which has none): fail at once.
    expect(page.locator("h1, [data-testid=stException]").first).to_be_visible(timeout=600_000)
    loaded(page)
    assert page.get_by_test_id("stException").count() == 0, url
    page.evaluate(
        "() => document.querySelectorAll('details:not([open]) > summary').forEach(s => s.click())"
    )
    loaded(page)
    texts = [page.evaluate(_VISIBLE)]
    tabs = page.get_by_role("tab")
    for i in range(1, tabs.count()):
        tabs.nth(i).click()
        loaded(page)
        texts.append(page.evaluate(_VISIBLE))
    return "\n".join(texts)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_reads_in_russian(sample_server, page, name):
    text = read_page(page, f"{sample_server}/{address(name)}?lang=RU")
    assert "Traceback" not in text
    left = latin_words(text, data_values())
    assert not left, f"{name}: {sorted(left.items(), key=lambda kv: -kv[1])}"
