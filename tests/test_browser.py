"""End to end in headless Chromium: the real server, the real browser.

The app runs on a free port on 127.0.0.1 against a small generated company; one Chromium
(conftest's ``browser``) serves every browser test, Debian's, driven by Playwright.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web import serve, settled

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(small_dir) -> Iterator[str]:
    with serve(small_dir) as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(180_000)  # a cold page while the other worker runs its tests
    yield page
    context.close()


def test_overview_shows_numbers_and_switches_language(server, page):
    page.goto(server)
    expect(page.get_by_role("heading", name="Overview: the illusion of wellbeing")).to_be_visible()
    settled(page)
    sla = page.get_by_test_id("stMetric").filter(has_text="Service level")
    # English writes "94.3%", Russian "94,3 %" with a no-break space (dashboard.fmt.percent)
    expect(sla.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\d{2}\.\d%$"))
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.get_by_test_id("stSidebar").get_by_text("RU", exact=True).click()
    expect(page.get_by_role("heading", name="Обзор: иллюзия благополучия")).to_be_visible()
    level = page.get_by_test_id("stMetric").filter(has_text="Уровень сервиса")
    expect(level.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\d{2},\d\u00a0%$"))
    assert "lang=RU" in page.url
    page.goto(f"{server}/?lang=RU")
    expect(page.get_by_role("heading", name="Обзор: иллюзия благополучия")).to_be_visible()


def test_upload_a_csv_on_the_data_page(server, page, tmp_path):
    export = tmp_path / "звонки.csv"
    export.write_bytes(
        "Номер обращения;Дата обращения;Этап;Канал;Время ожидания, сек\n"
        "A1;01.02.2024 10:00;запрос;Телефон;12\n"
        "A1;01.02.2024 10:05;решено;Телефон;\n"
        "A2;31.02.2024 10:00;запрос;Чат;5\n".encode("cp1251")
    )
    page.goto(f"{server}/data")
    expect(page.get_by_role("heading", name="Upload exports")).to_be_visible()
    settled(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(export))
    expect(page.get_by_role("heading", name="Loaded dataset: upload")).to_be_visible()
    settled(page)
    expect(
        page.get_by_text("timestamp: not a date and time in the column's format dd.mm.yyyy hh:mm")
    ).to_be_visible()
    expect(page.get_by_text("звонки.csv: table")).to_be_visible()  # the mapping editor
    expect(page.get_by_role("button", name="Download quarantined rows (events)")).to_be_visible()


def test_economics_reads_the_monthly_loss_of_the_preset(server, page):
    page.goto(f"{server}/economics")
    expect(page.get_by_role("heading", name="Economics: what silent churn costs")).to_be_visible()
    settled(page)
    page.get_by_role("button", name="Mission example").click()
    settled(page)
    loss = page.get_by_test_id("stMetric").filter(has_text="Revenue lost a month")
    expect(loss.get_by_test_id("stMetricValue")).to_have_text("₽30.24M")
    expect(page.get_by_text("₽30,240,000", exact=False).filter(visible=True).first).to_be_visible()
    assert "eco_to=5" in page.url  # the scenario is in the link a CFO can send


def test_cost_and_process_pages_draw_their_charts(server, page):
    page.goto(f"{server}/cost")
    expect(page.get_by_role("heading", name="Cost to serve: where CX money goes")).to_be_visible()
    settled(page)
    expect(page.get_by_text("Expensive behaviours")).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.goto(f"{server}/process?scenario=delivery")
    expect(
        page.get_by_role("heading", name="Process map: the common paths, left to right")
    ).to_be_visible()
    settled(page)
    drawn = page.get_by_test_id("stMarkdown").locator("svg:has(rect)")
    expect(drawn).to_have_count(1)  # the process map
    # As the browser renders it: no two pieces of text on the map intersect.
    boxes = drawn.evaluate(
        "map => [...map.querySelectorAll('text')]"
        ".filter(e => e.textContent).map(e => { const r = e.getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom]; })"
    )
    assert len(boxes) >= 5
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    # One table at a time; the workshop's drift link opens the drift tab from the URL.
    grids = page.get_by_test_id("stDataFrame")
    expect(grids).to_have_count(1)
    expect(page.get_by_role("tab", name="Variants")).to_have_attribute("aria-selected", "true")
    page.goto(f"{server}/process?scenario=billing&process_tab=Drift%3A+became+the+norm")
    settled(page)
    tab = page.get_by_role("tab", name="Drift: became the norm")
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text("A deviation is a step-to-step transition")).to_be_visible()
    expect(grids).to_have_count(1)


def test_forecast_page_draws_the_breach_heat_map(server, page):
    page.goto(f"{server}/forecast")
    expect(
        page.get_by_role("heading", name="Forecasts & SLA: where the service level will break")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Staffing gap")).to_be_visible()
    settled(page)
    expect(page.get_by_text("Probability that the service level falls below 80")).to_be_visible()
    # Delivered SL, the breach map, the staffing gap; the picked daily series as a plain
    # SVG, its interval shaded; then, once its expander is opened, the calibration on
    # history: Erlang vs delivered with the map, the reliability diagram.
    expect(page.locator(".js-plotly-plot")).to_have_count(3)
    expect(page.get_by_test_id("stMarkdownContainer").locator("svg polygon")).to_have_count(1)
    page.get_by_text("Charts: the model against history").click()
    expect(page.locator(".js-plotly-plot")).to_have_count(5)


def test_overview_leads_to_an_alert_with_its_evidence(server, page):
    page.goto(server)
    expect(
        page.get_by_role("heading", name="Where the money leaks, and what to fix first")
    ).to_be_visible()
    settled(page)
    page.get_by_role("link", name="What to fix first").click()
    expect(
        page.get_by_role("heading", name="Escalations: act before the customer leaves")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Evidence")).to_be_visible()
    settled(page)
    expect(page.get_by_text("Owner:").filter(visible=True).first).to_be_visible()
    expect(page.get_by_text("Technical details")).to_be_visible()  # raw evidence kept apart
