"""Sign-in end to end: a real OpenID Connect provider (oidc-provider-mock, started here on
a free port), the real app configured against it, headless Chromium through the real
redirect flow. A viewer sees no customer rows (the Data page's table previews and its
quarantined rows); an analyst (role from an ID-token claim) does, and the rows they
download are logged in the state store."""

from __future__ import annotations

import re
import secrets
import shutil
import sqlite3
from pathlib import Path

import oidc_provider_mock
import polars as pl
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web import serve, settled

pytestmark = pytest.mark.browser

ANALYST = "ana@example.com"  # an analyst by the `roles` claim of their ID token
VIEWER = "vic@example.com"  # on no list and without the claim: the default role


def _secrets(path: Path, provider: str) -> Path:
    path.write_text(
        f"""
[auth]
redirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "cx-radar"
client_secret = "{secrets.token_hex(16)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[roles]
claim = "roles"
default = "viewer"
admin = ["boss@example.com"]
""",
        encoding="utf-8",
    )
    return path


def _sign_in(browser: Browser, url: str, sub: str) -> Page:
    """A fresh browser (no cookies) signed in as ``sub`` through the provider's form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    # The provider's form links a stylesheet on a CDN: offline, Chromium would wait for it.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), lambda r: r.abort())
    page = context.new_page()
    page.set_default_timeout(180_000)
    page.goto(url)
    expect(page.get_by_role("heading", name="Sign in to CX Radar")).to_be_visible()
    expect(page.get_by_text("Overview: the illusion of wellbeing")).to_have_count(0)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()  # the provider
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    return page


def _signed_in_as(page: Page, who: str, role: str) -> None:
    # The e-mail on screen carries an invisible word joiner before "@" (no autolink).
    name = re.escape(who).replace("@", "\u2060?@")
    expect(page.get_by_text(re.compile(f"^Signed in as {name} · {role}$"))).to_be_visible()


@pytest.fixture
def data_dir(small_dir, tmp_path) -> Path:
    """The small company with one customer row the loader quarantines (revenue "twelve")."""
    out = tmp_path / "data"
    shutil.copytree(small_dir, out)
    customers = pl.read_parquet(out / "customers.parquet").cast({"monthly_revenue": pl.String})
    bad = customers.head(1).with_columns(
        customer_id=pl.lit("CBAD"), monthly_revenue=pl.lit("twelve")
    )
    pl.concat([customers, bad]).write_csv(out / "customers.csv")
    (out / "customers.parquet").unlink()
    return out


def test_sign_in_roles_and_the_export_log(browser, data_dir, tmp_path, monkeypatch):
    claims = [oidc_provider_mock.User(sub=ANALYST, claims={"email": ANALYST, "roles": "analyst"})]
    with oidc_provider_mock.run_server_in_thread(user_claims=claims) as provider:
        issuer = f"http://localhost:{provider.server_port}"
        monkeypatch.setenv(
            "STREAMLIT_SECRETS_FILES", str(_secrets(tmp_path / "secrets.toml", issuer))
        )
        with serve(data_dir) as url:
            viewer = _sign_in(browser, url, VIEWER)
            _signed_in_as(viewer, VIEWER, "viewer")
            viewer.goto(f"{url}/data")  # the cheapest page with customer rows and an export
            expect(viewer.get_by_text("Download quarantined rows")).to_have_count(0)
            expect(viewer.get_by_text("your role (viewer) sees aggregates only")).to_be_visible()
            expect(viewer.get_by_text("Exports of customer-level data are for")).to_be_visible()
            expect(viewer.get_by_role("tab")).to_have_count(0)  # no table previews
            expect(viewer.get_by_test_id("stDataFrame")).to_have_count(0)

            analyst = _sign_in(browser, url, ANALYST)
            _signed_in_as(analyst, ANALYST, "analyst")
            analyst.goto(f"{url}/data")
            button = analyst.get_by_role("button", name="Download quarantined rows (customers)")
            expect(button).to_be_visible()
            expect(analyst.get_by_role("tab", name="customers")).to_be_visible()
            expect(analyst.get_by_test_id("stDataFrame").first).to_be_visible()
            settled(analyst)
            with analyst.expect_download() as download:
                button.click()
            body = Path(download.value.path()).read_text(encoding="utf-8-sig")
            assert "CBAD" in body

    # Read after the server is gone: the row was written when the bytes were produced.
    db = sqlite3.connect(tmp_path / "cx_radar_state.sqlite")
    logged = db.execute("SELECT who, role, what, rows FROM exports").fetchall()
    db.close()
    assert logged == [(ANALYST, "analyst", "customers_quarantine.csv", 1)]
