"""In the real browser: data cannot inject images or links, and the app asks no host but its
own (issue 16). Every request the page makes to another host fails the test.

The company's text fields carry Markdown payloads pointing at ``injection.invalid``: a
customer id, a region and a segment, a scenario, an activity, a channel, a resource, a
case id, a queue, and the name of an uploaded file. Before the fix, Overview and Forecasts
rendered some as images every viewer's browser fetched; the page icon was fetched from
fonts.gstatic.com on every page.
"""

from __future__ import annotations

import io
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.web import serve, settled

pytestmark = pytest.mark.browser
HOST = "http://injection.invalid"
# Economics shows no data-derived text; every other page does.
PAGES = ["", "risk", "escalations", "cost", "process", "forecast", "data"]


def _inject(src: Path, out: Path) -> None:
    """The small company with payloads in every text field the pages show."""
    out.mkdir()
    customer = pl.lit(f"![c]({HOST}/customer.png)") + pl.col("customer_id")
    case = pl.lit(f"![k]({HOST}/case.png)") + pl.col("case_id")

    def most_common(frame: pl.DataFrame, column: str, payload: str) -> pl.Expr:
        top = frame[column].drop_nulls().mode().sort()[0]
        return (
            pl.when(pl.col(column) == top).then(pl.lit(payload)).otherwise(pl.col(column))
        ).alias(column)

    customers = pl.read_parquet(src / "customers.parquet")
    customers.with_columns(
        most_common(customers, "region", f"![r]({HOST}/region.png)"),
        most_common(customers, "segment", f"[seg]({HOST}/segment) <img src={HOST}/seg.png>"),
        customer.alias("customer_id"),
    ).write_parquet(out / "customers.parquet")
    events = pl.read_parquet(src / "events.parquet")
    events.with_columns(
        most_common(events, "scenario", f"![s]({HOST}/scenario.png)"),
        most_common(events, "activity", f"![a]({HOST}/activity.png)"),
        most_common(events, "channel", f"![h]({HOST}/channel.png)"),
        (pl.lit(f"{HOST}/resource ") + pl.col("resource")).alias("resource"),
        customer.alias("customer_id"),
        case.alias("case_id"),
    ).write_parquet(out / "events.parquet")
    surveys = pl.read_parquet(src / "surveys.parquet")
    surveys.with_columns(customer.alias("customer_id"), case.alias("case_id")).write_parquet(
        out / "surveys.parquet"
    )
    acd = pl.read_parquet(src / "acd.parquet")
    acd.with_columns(most_common(acd, "queue", f"![q]({HOST}/queue.png)")).write_parquet(
        out / "acd.parquet"
    )


@pytest.fixture(scope="module")
def injected(small_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("injected") / "company"
    _inject(small_dir, out)
    with serve(out) as url:
        yield url


def _guarded(browser: Browser, outside: list[str]) -> Page:
    """A page whose requests to any host but 127.0.0.1 are recorded and refused."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")

    def route(r: Route) -> None:
        url = r.request.url
        if url.startswith(("data:", "blob:")) or urllib.parse.urlsplit(url).hostname in (
            "127.0.0.1",
            "localhost",
        ):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(180_000)
    return page


def test_no_request_leaves_the_host_and_data_renders_as_text(injected, browser):
    outside: list[str] = []
    page = _guarded(browser, outside)
    for path in PAGES:
        page.goto(f"{injected}/{path}")
        page.locator("h1").first.wait_for()
        settled(page, limit_s=240)
        assert page.get_by_test_id("stException").count() == 0, path
        assert page.locator("img[src*='injection'], a[href*='injection']").count() == 0, path
        if path == "escalations":  # the payload is there, as literal text
            # Visible text only: the table's hidden accessibility cells carry it too.
            payload = page.get_by_text("injection.invalid/customer.png)C", exact=False)
            expect(payload.filter(visible=True).first).to_be_visible()
    # An upload whose file name is a payload: named in the Data page's errors, as text.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"![f]({HOST}/file.png).csv", b"a,b\n1,2\n")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(
        files=[{"name": "export.zip", "mimeType": "application/zip", "buffer": archive.getvalue()}]
    )
    named = page.get_by_text("injection.invalid/file.png).csv", exact=False)
    expect(named.filter(visible=True).first).to_be_visible()
    settled(page)
    assert page.locator("img[src*='injection'], a[href*='injection']").count() == 0
    assert outside == []
